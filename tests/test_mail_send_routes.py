"""Send now as a user does it: a mailbox connected with PUT /me/mailbox (both logins checked
against the real servers), then POST /followups/{id}/draft/send and the Today page's button.
aiosmtpd receives the message; Dovecot keeps the copy."""

from __future__ import annotations

import pytest

from helpers import contact, job, outreach
from servers import SmtpSink

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


@pytest.fixture
def sink(dovecot):
    server = SmtpSink(credentials=(dovecot.user, dovecot.password)).start()
    yield server
    server.stop()


def connect(api, headers, sink, dovecot) -> None:
    """Connect the mailbox as a user does: PUT /me/mailbox checks both logins for real."""
    api.call("PUT", "/me/mailbox", headers, 200, json={
        "imapHost": "127.0.0.1", "imapPort": dovecot.port, "imapSecurity": "none",
        "smtpHost": "127.0.0.1", "smtpPort": sink.port, "smtpSecurity": "none",
        "username": dovecot.user, "password": dovecot.password,
    })


def email_followup(api, headers) -> str:
    j = job(api, headers, company="Acme", role="Backend engineer")
    c = contact(api, headers, name="Dana Scully", email="dana@example.org")
    o = outreach(api, headers, jobId=j["id"], contactId=c["id"], channel="EMAIL",
                 sentAt="2026-03-01T10:00:00Z", note="Backend engineer role at Acme")
    return o["followup"]["id"]


def test_send_now_over_the_api_once(api, ada, sink, dovecot):
    fid = email_followup(api, ada)
    r = api.call("POST", f"/followups/{fid}/draft/send", ada, 409)
    assert "No mailbox is connected" in r.json()["detail"] and sink.messages == []
    connect(api, ada, sink, dovecot)
    sent = api.call("POST", f"/followups/{fid}/draft/send", ada, 200).json()
    assert sent["followup"]["sentAt"] == "2026-03-05T15:00:00Z"
    assert (sent["to"], sent["confirmed"], sent["copySaved"], sent["repeated"]) == (
        "dana@example.org", True, True, False)
    assert len(sink.messages) == 1 and sink.messages[0][1]["Message-ID"] == sent["messageId"]
    again = api.call("POST", f"/followups/{fid}/draft/send", ada, 200).json()
    assert again["repeated"] is True and again["messageId"] == sent["messageId"]
    assert len(sink.messages) == 1
    # The list keeps its shape; attempt 2 is there.
    upcoming = api.call("GET", "/followups?due=upcoming", ada, 200).json()
    assert [f["attemptNo"] for f in upcoming] == [2]
    api.call("POST", "/followups/00000000-0000-0000-0000-000000000000/draft/send", ada, 404)
    eve = api.signup("eve@example.com")
    api.call("POST", f"/followups/{fid}/draft/send", eve, 404)


def test_a_refusing_server_is_a_502_and_marks_nothing(api, ada, sink, dovecot):
    fid = email_followup(api, ada)
    connect(api, ada, sink, dovecot)
    sink.reply = "554 5.7.1 Spam detected"
    r = api.call("POST", f"/followups/{fid}/draft/send", ada, 502)
    assert r.json()["error"] == "BadGateway" and "554 5.7.1 Spam detected" in r.json()["detail"]
    assert api.call("GET", f"/followups/{fid}", ada, 200).json()["sentAt"] is None


def test_openapi_documents_send_now(api):
    spec = api.client.get("/openapi.json").json()
    operation = spec["paths"]["/followups/{followup_id}/draft/send"]["post"]
    assert {"200", "404", "409", "502"} <= set(operation["responses"])
