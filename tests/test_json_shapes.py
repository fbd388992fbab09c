"""The CLI's --json and the webhook bodies are the API's shapes: each object the terminal
prints equals what the API answers for the same record, and a webhook body carries the
fields of GET /notifications (less sentAt) plus the kind's payload."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from followups.cli import app as cli_app
from followups.worker import Worker
from helpers import contact, followup, job, outreach


def terminal(db, *args: str):
    result = CliRunner().invoke(
        cli_app, [*args, "--json"], catch_exceptions=False,
        env={"FOLLOWUPS_DATABASE_URL": db.settings.database_url, "FOLLOWUPS_USER": "ada@example.com"},
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_every_cli_json_object_is_the_apis_answer_for_it(api, ada, db):
    j = job(api, ada)
    c = contact(api, ada, name="Grace", email="grace@example.com", company="Acme")
    pending = outreach(api, ada, jobId=j["id"], contactId=c["id"], note="Applied")
    answered = outreach(api, ada, jobId=j["id"], createFollowup=False)
    api.call("PATCH", f"/contacts/{c['id']}", ada, 200, json={"linkedinUrl": "https://example.com/in/g"})

    assert terminal(db, "jobs") == api.call("GET", "/jobs", ada, 200).json()
    assert terminal(db, "contacts") == api.call("GET", "/contacts", ada, 200).json()
    # The CLI reads the real clock: the seeded follow-up is overdue by now, or upcoming.
    listed = terminal(db, "due", "overdue") + terminal(db, "due", "upcoming")
    assert listed == [api.call("GET", f"/followups/{pending['followup']['id']}", ada, 200).json()]
    said = terminal(db, "outreach", "answer", answered["id"], "--outcome", "POSITIVE")
    (as_api,) = [o for o in api.call("GET", "/outreach", ada, 200).json() if o["id"] == answered["id"]]
    assert said == as_api and said["repliedAt"] is not None and "resumeOn" in said



def test_a_webhook_body_is_the_notification_as_the_api_writes_it(app, api, ada, db, clock, receiver):
    # The receiver listens on 127.0.0.1: webhooks to loopback allowed here (off by default).
    app.state.settings = app.state.settings.model_copy(update={"webhook_allow_private": True})
    api.call("PATCH", "/me", ada, 200, json={"webhook": {"url": receiver.url, "secret": "s" * 32}})
    fu = followup(api, ada, "2026-03-05T09:00:00Z", jobId=job(api, ada)["id"])
    Worker(db, app.state.settings, clock=clock).tick()
    (body,) = [json.loads(r.body) for r in receiver.received]
    (listed,) = api.call("GET", "/notifications?scope=today", ada, 200).json()
    assert listed["followupId"] == fu["id"]
    assert body == {**{k: v for k, v in listed.items() if k != "sentAt"}, "payload": body["payload"]}
    assert set(body) == set(listed) - {"sentAt"} | {"payload"}
