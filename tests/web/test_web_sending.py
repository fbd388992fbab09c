"""The Today page's "Send now" in Debian's Chromium: the mailbox connected as a user does
(PUT /me/mailbox, both logins checked), aiosmtpd receiving the message, Dovecot the copy."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mailservers import Dovecot
from servers import SmtpSink

from .test_web_drafts import api_headers, email_outreach, signed_in_context

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


@pytest.fixture
def servers(dovecot: Dovecot):
    """The session's Dovecot (conftest) and an SMTP server of this test's own."""
    sink = SmtpSink(credentials=(dovecot.user, dovecot.password)).start()
    yield dovecot, sink
    sink.stop()


def test_send_now_sends_the_draft_and_marks_it_sent(chromium, live_server, web, servers):
    dovecot, sink = servers
    web.register()
    headers = api_headers(web)
    fid = email_outreach(web, headers)
    context = signed_in_context(chromium, web, live_server)
    page = context.new_page()
    page.set_default_timeout(8000)
    page.goto(live_server + "/app/today?tab=overdue")
    page.get_by_text("Draft", exact=True).click()
    page.get_by_role("button", name="Send now").click()
    expect(page.locator(".flash")).to_have_text(
        "No mailbox is connected: connect yours in Settings to send from here, or copy the draft.")
    assert sink.messages == []
    r = web.client.put("/me/mailbox", headers=headers, json={
        "imapHost": "127.0.0.1", "imapPort": dovecot.port, "imapSecurity": "none",
        "smtpHost": "127.0.0.1", "smtpPort": sink.port, "smtpSecurity": "none",
        "username": dovecot.user, "password": dovecot.password,
    })
    assert r.status_code == 200, r.text
    page.goto(live_server + "/app/today?tab=overdue")
    page.get_by_text("Draft", exact=True).click()
    page.get_by_role("button", name="Send now").click()
    expect(page.locator(".flash")).to_contain_text(
        "Sent to dana+jobs@example.org from your mailbox. Marked sent. Attempt 2 is due")
    expect(page.locator(f"#fu-{fid}")).to_have_count(0)
    assert len(sink.messages) == 1
    rcpt, message = sink.messages[0]
    assert rcpt == ["dana+jobs@example.org"] and message["Subject"] == "Re: Backend engineer role?"
    context.close()
