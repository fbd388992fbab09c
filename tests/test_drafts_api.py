"""Drafted follow-ups and the templates they come from, over the API (SQLite and PostgreSQL)."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from helpers import contact, job, outreach


def email_followup(api, headers, *, note="Backend engineer role at Acme", email="dana.scully@example.com"):
    j = job(api, headers, company="Acme", role="Backend engineer")
    c = contact(api, headers, name="Dana Scully", email=email, company="Acme")
    o = outreach(api, headers, jobId=j["id"], contactId=c["id"], channel="EMAIL",
                 sentAt="2026-03-01T10:00:00Z", note=note)
    return o["followup"]


def test_an_email_followup_offers_a_draft_from_the_default_template(api, ada):
    fu = email_followup(api, ada)
    draft = api.call("GET", f"/followups/{fu['id']}/draft", ada, 200).json()
    assert draft["template"] == "attempt1"
    assert draft["to"] == "dana.scully@example.com"
    assert draft["subject"] == "Re: Backend engineer role at Acme"
    assert draft["body"].startswith("Hi Dana,\n")
    # Outreach on 1 March, now is 5 March.
    assert "from 4 days ago about the Backend engineer role at Acme" in draft["body"]
    assert draft["inReplyTo"] is None and draft["references"] == []
    link = urlsplit(draft["mailto"])
    assert link.scheme == "mailto" and unquote(link.path) == "dana.scully@example.com"
    query = parse_qs(link.query)
    assert query["subject"] == [draft["subject"]]
    assert query["body"] == [draft["body"].replace("\n", "\r\n").rstrip("\r\n")]
    assert "+" not in draft["mailto"] and " " not in draft["mailto"]


def test_the_list_json_is_unchanged_by_drafts(api, ada):
    fu = email_followup(api, ada)
    listed = api.call("GET", "/followups?due=overdue", ada, 200).json()
    assert set(listed[0]) == set(fu)


def test_no_draft_for_other_channels_nor_closed_followups(api, ada):
    j = job(api, ada)
    o = outreach(api, ada, jobId=j["id"], channel="LINKEDIN")
    r = api.call("GET", f"/followups/{o['followup']['id']}/draft", ada, 409)
    assert "not one of an email outreach" in r.json()["detail"]
    fu = email_followup(api, ada)
    api.call("PATCH", f"/followups/{fu['id']}/send", ada, 200)
    assert "already sent" in api.call("GET", f"/followups/{fu['id']}/draft", ada, 409).json()["detail"]
    api.call("GET", "/followups/not-an-id/draft", ada, 404)
    other = api.signup("eve@example.com")
    api.call("GET", f"/followups/{fu['id']}/draft", other, 404)


def test_templates_default_then_saved_then_used(api, ada):
    shown = api.call("GET", "/me/templates", ada, 200).json()
    assert set(shown) == {"attempt1", "attempt2", "thankYou", "variables"}
    assert shown["variables"] == ["first_name", "company", "role", "days_since", "subject"]
    assert shown["attempt1"]["custom"] is False
    mine = {
        "subject": "Checking in, {{ first_name }}",
        "body": "{{ first_name|upper }} at {{ company }}: {{ days_since }} days",
    }
    saved = api.call("PUT", "/me/templates", ada, 200, json={"attempt1": mine}).json()
    assert saved["attempt1"]["custom"] is True and saved["attempt1"]["body"] == mine["body"]
    assert saved["attempt2"]["custom"] is False
    assert api.call("GET", "/me/templates", ada, 200).json()["attempt1"]["subject"] == mine["subject"]
    fu = email_followup(api, ada)
    draft = api.call("GET", f"/followups/{fu['id']}/draft", ada, 200).json()
    assert draft["subject"] == "Checking in, Dana"
    assert draft["body"] == "DANA at Acme: 4 days\n"
    # Another user still drafts from the defaults.
    eve = api.signup("eve@example.com")
    assert api.call("GET", "/me/templates", eve, 200).json()["attempt1"]["custom"] is False
    # PUT replaces the set: left out is the default again.
    assert api.call("PUT", "/me/templates", ada, 200, json={}).json()["attempt1"]["custom"] is False


def test_a_bad_template_is_a_422_naming_the_field_and_saves_nothing(api, ada, db):
    good = {"subject": "Hello", "body": "Hi {{ first_name }}"}
    api.call("PUT", "/me/templates", ada, 200, json={"attempt2": good})
    cases = {
        "{{ frist_name }}": "unknown variable 'frist_name'",
        "Hi {{ first_name ": "line 1",
        "{% for x in role %}{{ x }}{% endfor %}": "a loop is not allowed",
        "{{ role.__class__ }}": "an attribute is not allowed",
        "{{ 'x' * 100000000 }}": "multiplication is not allowed",
        "{{ role|replace('', role) }}": "filter 'replace' is not available",
        "{{ lipsum() }}": "a call is not allowed",
        "{{ " + "(" * 2400 + "role" + ")" * 2400 + " }}": "nested too deeply",
    }
    for body, says in cases.items():
        r = api.call("PUT", "/me/templates", ada, 422, json={"attempt1": {"subject": "Hi", "body": body}})
        fields = r.json()["fields"]
        assert fields[0]["field"] == "attempt1.body", body
        assert says in fields[0]["message"], (body, fields)
    r = api.call("PUT", "/me/templates", ada, 422, json={"thankYou": {"subject": "{{ nope }}", "body": "ok"}})
    assert r.json()["fields"][0]["field"] == "thankYou.subject"
    r = api.call("PUT", "/me/templates", ada, 422, json={"attempt3": good})
    assert r.json()["fields"][0]["field"] == "attempt3"
    r = api.call("PUT", "/me/templates", ada, 422, json={"attempt1": {"subject": "a\x00", "body": "b"}})
    assert r.json()["fields"][0]["field"] == "attempt1.subject"
    # Nothing of the refused requests was kept: attempt2 is still the one saved.
    assert api.call("GET", "/me/templates", ada, 200).json()["attempt2"]["body"] == good["body"]


def test_openapi_documents_the_draft_and_templates(api):
    spec = api.client.get("/openapi.json").json()
    assert "get" in spec["paths"]["/followups/{followup_id}/draft"]
    assert {"get", "put"} <= set(spec["paths"]["/me/templates"])
    draft = spec["components"]["schemas"]["DraftOut"]["properties"]
    assert {"followupId", "to", "subject", "body", "mailto", "inReplyTo"} <= set(draft)
