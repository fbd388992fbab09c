"""Fixtures of the page tests: a form-posting client, a live server, Debian's Chromium."""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from followups.chains import service as followups
from followups.contacts import service as contacts
from followups.jobs import service as jobs
from followups.models import Channel, Contact, FollowUp, Job, Outcome, Outreach, Stage, User
from followups.outreach import service as outreach

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


@dataclass
class Browser:
    """A TestClient that fills in forms like a browser: cookies kept, CSRF token from the page."""

    client: TestClient
    emails: list[str] = field(default_factory=list)

    def get(self, url: str, **kw):
        return self.client.get(url, follow_redirects=False, **kw)

    def token(self, page: str = "/app/today") -> str:
        r = self.client.get(page)
        assert r.status_code == 200, r.text
        return csrf_of(r.text)

    def post(self, url: str, data: dict, *, page: str = "/app/today", headers: dict | None = None):
        return self.client.post(
            url,
            data={"csrf_token": self.token(page), **data},
            headers=headers or {},
            follow_redirects=False,
        )

    def register(self, email: str = "ada@example.com", timezone: str = "UTC"):
        r = self.post(
            "/app/register",
            {
                "email": email,
                "password": PASSWORD,
                "password_again": PASSWORD,
                "timezone": timezone,
            },
            page="/app/register",
        )
        assert r.status_code == 303, r.text
        self.emails.append(email)
        return r


@pytest.fixture
def web(app):
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Browser(client)


@pytest.fixture
def live_server(live_url):
    """The app served by a real uvicorn on a free loopback port (tests/conftest.py)."""
    return live_url


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium, driven by Playwright (no browser download). `make test` installs it.
    One per module, not per session: Playwright's sync API keeps an event loop running in the
    main thread while it lives, and under pytest-xdist any test may follow a browser test on
    its worker (an `asyncio.run` then fails)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} is missing: `make test` installs it (apt-get install -y chromium)",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def user_of(session, email: str) -> User:
    return session.scalar(select(User).where(User.email_key == email.lower()))


def seed_open_followups(db, email: str, count: int, now: datetime) -> None:
    """`count` open follow-ups, due from 30 days ago to 40 days ahead, each with its own
    outreach, over 50 jobs and 50 contacts: bulk inserts, it is the rendering under test."""
    with db.transaction() as s:
        user = user_of(s, email)
        jobs = [
            {
                "id": uuid.uuid4(),
                "user_id": user.id,
                "company": f"Company {i}",
                "role": f"Role {i}",
                "stage": "APPLIED",
                "created_at": now,
                "updated_at": now,
            }
            for i in range(50)
        ]
        contacts = [
            {
                "id": uuid.uuid4(),
                "user_id": user.id,
                "name": f"Person {i}",
                "created_at": now,
                "updated_at": now,
            }
            for i in range(50)
        ]
        outreach, followups = [], []
        for i in range(count):
            due = now + timedelta(days=i % 70 - 30, hours=i % 5)
            o_id, f_id = uuid.uuid4(), uuid.uuid4()
            job, contact = jobs[i % 50]["id"], contacts[(i * 7) % 50]["id"]
            outreach.append(
                {
                    "id": o_id,
                    "user_id": user.id,
                    "job_id": job,
                    "contact_id": contact,
                    "channel": "EMAIL",
                    "sent_at": due - timedelta(days=3),
                    "note": f"Outreach note {i}",
                    "outcome": "NONE",
                    "created_at": now,
                    "updated_at": now,
                }
            )
            followups.append(
                {
                    "id": f_id,
                    "user_id": user.id,
                    "chain_id": f_id,
                    "attempt_no": 1,
                    "type": "STANDARD",
                    "job_id": job,
                    "contact_id": contact,
                    "outreach_id": o_id,
                    "due_at": due,
                    "remind_at": due,
                    "note": None,
                    "why": f"Attempt 1: outreach sent {i}",
                    "revision": 0,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        s.execute(insert(Job), jobs)
        s.execute(insert(Contact), contacts)
        s.execute(insert(Outreach), outreach)
        s.execute(insert(FollowUp), followups)


def seed_dormant_lead(
    db, email: str, now, *, company: str | None = "Globex", contact: str | None = None
):
    """A lead whose second (last) attempt was sent 12 days ago: its dormant check is due.
    Made with the services, at past instants. Returns the job's and the contact's ids."""
    t0 = now - timedelta(days=20)
    with db.transaction() as s:
        user = user_of(s, email)
        job = person = None
        if company:
            job = jobs.create_job(
                s,
                user,
                company=company,
                role="Platform engineer",
                url=None,
                stage=Stage.APPLIED,
                now=t0,
            )
        if contact:
            person = contacts.create_contact(s, user, fields={"name": contact}, now=t0)
        first = outreach.record_outreach(
            s, user, job=job and job.id, contact=person and person.id,
            channel=Channel.LINKEDIN, sent_at=t0, note="Messaged the hiring manager",
            outcome=Outcome.NONE, create_followup=True, now=t0,
        ).followup  # fmt: skip
        last = followups.mark_sent(s, user, first.id, note=None, now=t0 + timedelta(days=4)).next_attempt
        followups.mark_sent(s, user, last.id, note=None, now=t0 + timedelta(days=8))
        return (job.id if job else None), (person.id if person else None)
