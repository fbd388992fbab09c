"""Set-up shared by the mailbox tests: a user with contacts and a connected mailbox."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from conftest import NOW
from followups.config import Settings
from followups.contacts.service import create_contact
from followups.db import Database
from followups.jobs.service import create_job
from followups.mailbox import secret
from followups.mailbox import service as mailboxes
from followups.mailbox.account import Account, Server
from followups.models import Stage
from followups.users import service as users
from followups.worker import Worker
from mail_corpus import ME
from mailservers import PASSWORD, Dovecot


@dataclass
class Setup:
    user_id: uuid.UUID
    imap_user: str
    contacts: dict[str, uuid.UUID]
    job_id: uuid.UUID


def mail_settings(db: Database, **overrides) -> Settings:
    values = {"mailbox_timeout_s": 3.0, "mailbox_budget_s": 20.0, "secret_key": "a key for the tests only",
              **overrides}
    return db.settings.model_copy(update=values)


def account(dovecot: Dovecot, imap_user: str, smtp_port: int = 1, password: str = PASSWORD) -> Account:
    return Account(
        imap=Server("127.0.0.1", dovecot.port, "none"), smtp=Server("127.0.0.1", smtp_port, "none"),
        username=imap_user, password=password, address=ME, inbox="INBOX", sent=dovecot.sent,
    )


def setup(db: Database, dovecot: Dovecot, *, email: str = ME, connect: bool = True, **people: str) -> Setup:
    """A user, a job, contacts (name=email) and, with `connect`, the user's mailbox saved."""
    secret.configure(mail_settings(db))  # the key the worker of `worker` uses
    imap_user = dovecot.add_user(f"u{uuid.uuid4().hex[:10]}")
    people = people or {"Dana": "dana@acme.example", "Fox": "fox@globex.example"}
    with db.transaction() as session:
        user = users.register(session, email=email, password="correct horse", timezone="UTC", now=NOW)
        job = create_job(session, user, company="Acme", role="Engineer", url=None, stage=Stage.APPLIED, now=NOW)
        contacts = {
            name: create_contact(session, user, fields={"name": name, "email": address}, now=NOW).id
            for name, address in people.items()
        }
        if connect:
            # Connected a month ago: due at any time a test sets its clock to.
            mailboxes.save_mailbox(session, user, account(dovecot, imap_user), now=NOW - timedelta(days=30))
        return Setup(user.id, imap_user, contacts, job.id)


def worker(db: Database, clock, **overrides) -> Worker:
    return Worker(db, mail_settings(db, **overrides), clock=clock)
