"""Mark-sent is done whole in one worker thread (api.deps.WriteUnit): sign-in, send, commit.
On PostgreSQL the sign-in of such a write bumps the user's write_seq in the same statement
(followups.replica): exactly once per send, and a refused send (401, 404, 409) changes
nothing, the bump included."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from followups.models import User
from helpers import contact, job, outreach, send


def _write_seq(db, email: str) -> int:
    with db.transaction(write=False) as session:
        return session.scalar(select(User.write_seq).where(User.email == email))


def test_a_send_bumps_once_and_a_refused_one_changes_nothing(api, db):
    ada = api.signup("ada@example.com")
    made = outreach(api, ada, jobId=job(api, ada)["id"], contactId=contact(api, ada)["id"])
    [first] = [f for f in api.call("GET", "/followups?due=upcoming", ada, 200).json()
               if f["outreachId"] == made["id"]]
    before = _write_seq(db, "ada@example.com")
    bumps = 1 if db.engine.dialect.name == "postgresql" else 0  # SQLite has no replicas

    sent = send(api, ada, first["id"], note="Pinged on LinkedIn")
    assert sent.json()["sentAt"] is not None
    assert sent.json()["job"]["company"] == "Acme" and sent.json()["contact"]["name"] == "Grace Hopper"
    assert _write_seq(db, "ada@example.com") == before + bumps

    send(api, ada, first["id"], expect=409)  # sent already
    send(api, ada, str(uuid.uuid4()), expect=404)
    r = api.client.patch(f"/followups/{first['id']}/send", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401, r.text
    assert _write_seq(db, "ada@example.com") == before + bumps
    # The send made attempt 2, once.
    nexts = [f for f in api.call("GET", "/followups?due=upcoming", ada, 200).json()
             if f["outreachId"] == made["id"]]
    assert [f["attemptNo"] for f in nexts] == [2]
