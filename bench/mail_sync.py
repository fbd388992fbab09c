"""Mailbox sync speed against a real, local Dovecot (issue 20, item 6).

    .venv/bin/python bench/mail_sync.py                       # SQLite in a temporary directory
    .venv/bin/python bench/mail_sync.py --url postgresql+psycopg://postgres@127.0.0.1:5432/followups_bench

A Dovecot is started on a free loopback port (the tests' throwaway configuration,
tests/mailservers.py); one mailbox gets --messages messages, --involved of them to or from
the user's contacts (half sent to a contact, half replies from one), the rest newsletters.
Timed: the first sync (headers of every message, the contacts' ones recorded) and a sync
with nothing new (targets: under 30 s, and one round trip per folder under 50 ms). The
database named by --url is emptied.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from sqlalchemy import func, insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the tests' Dovecot launcher

from sweep import reset  # noqa: E402  (bench/ is this script's own folder)

from followups.config import Settings  # noqa: E402
from followups.db import Database  # noqa: E402
from followups.mailbox import secret  # noqa: E402
from followups.mailbox import service as mailboxes  # noqa: E402
from followups.mailbox.account import Account, Server  # noqa: E402
from followups.mailbox.imap import Pool  # noqa: E402
from followups.mailbox.sync import claim_due, sync_mailbox  # noqa: E402
from followups.models import Contact, MailMessage, Outreach, User  # noqa: E402
from mailservers import PASSWORD, Dovecot  # noqa: E402

ME = "ada@example.com"


def message(sender: str, to: str, subject: str, when: datetime, msgid: str, answers: str | None = None) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"], m["Date"] = sender, to, subject, format_datetime(when)
    m["Message-ID"] = f"<{msgid}>"
    if answers:
        m["In-Reply-To"] = f"<{answers}>"
    m.set_content("Hello,\n\n" + "A line of an ordinary message body.\n" * 20)
    return bytes(m)


def fill_mailbox(dovecot: Dovecot, user: str, *, messages: int, involved: int, now: datetime) -> list[str]:
    contacts = [f"person{n}@firm{n % 50}.example" for n in range(involved // 2)]
    sent = [message(ME, c, f"Role {n}", now - timedelta(days=10, minutes=n), f"s{n}@ada")
            for n, c in enumerate(contacts)]
    inbox = [message(c, ME, f"Re: Role {n}", now - timedelta(days=5, minutes=n), f"r{n}@firm", f"s{n}@ada")
             for n, c in enumerate(contacts)]
    inbox += [message(f"news{n}@shop{n % 300}.example", ME, f"Deals {n}", now - timedelta(days=20, minutes=n),
                      f"n{n}@shop") for n in range(messages - len(sent) - len(inbox))]
    client = dovecot.client(user)
    try:
        for folder, batch in ((dovecot.sent, sent), ("INBOX", inbox)):
            for i in range(0, len(batch), 1000):
                client.multiappend(folder, batch[i: i + 1000])
    finally:
        client.logout()
    return contacts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="database URL (default: SQLite in a temporary directory)")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--involved", type=int, default=500)
    parser.add_argument("--idle-runs", type=int, default=20)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="followups-bench-mail-"))
    settings = Settings(database_url=args.url or f"sqlite:///{tmp / 'bench.db'}", secret_key="bench only",
                        mailbox_lookback_days=90)
    database = Database(settings)
    secret.configure(settings)
    reset(database)
    dovecot = Dovecot().start()
    try:
        now = datetime.now(UTC)
        imap_user = dovecot.add_user("bench")
        started = time.perf_counter()
        contacts = fill_mailbox(dovecot, imap_user, messages=args.messages, involved=args.involved, now=now)
        print(f"mailbox filled: {args.messages} messages ({args.involved} with contacts) in "
              f"{time.perf_counter() - started:.1f} s")
        with database.transaction() as session:
            uid = uuid.uuid4()
            session.execute(insert(User).values(
                id=uid, email=ME, email_key=ME, password_hash="x", timezone="UTC", followup_delays_days=[3, 3],
                dormant_after_days=7, skip_weekends=False, digest_hour=8, digest_email=False, created_at=now))
            session.execute(insert(Contact), [
                {"id": uuid.uuid4(), "user_id": uid, "name": f"Person {n}", "email": c, "created_at": now,
                 "updated_at": now} for n, c in enumerate(contacts)])
            user = session.get(User, uid)
            mailboxes.save_mailbox(session, user, Account(
                imap=Server("127.0.0.1", dovecot.port, "none"), smtp=Server("127.0.0.1", 1, "none"),
                username=imap_user, password=PASSWORD, address=ME, inbox="INBOX", sent=dovecot.sent,
            ), now=now)

        def one_sync(at: datetime, pool: Pool | None = None):
            t0 = time.perf_counter()
            with database.transaction() as session:
                [claimed] = claim_due(session, settings, now=at, batch=1)
            report = sync_mailbox(database, settings, claimed, clock=lambda: at, pool=pool)
            return time.perf_counter() - t0, report

        first, report = one_sync(now)
        assert report.error is None, report.error
        with database.transaction(write=False) as session:
            outreach = session.scalar(select(func.count()).select_from(Outreach))
            replied = session.scalar(select(func.count()).select_from(Outreach).where(Outreach.outcome == "REPLIED"))
            recorded = session.scalar(select(func.count()).select_from(MailMessage))
        print(f"first sync: {report.new} messages read, {recorded} recorded ({outreach} outreach, {replied} replied) "
              f"in {first:.2f} s ({report.new / first:,.0f} messages/s; target < 30 s)")
        pool = Pool()  # the worker's: the session kept between syncs
        for label, kept in (("kept IMAP session (the worker)", pool), ("new session each time (CLI)", None)):
            times, trips = [], set()
            for n in range(args.idle_runs):
                elapsed, idle = one_sync(now + timedelta(hours=n + 1 + (0 if kept else args.idle_runs)), kept)
                assert idle.error is None and idle.new == 0, idle
                times.append(elapsed * 1000)
                trips.add(idle.round_trips)
            print(f"sync with nothing new, {label}: median {statistics.median(times):.1f} ms, "
                  f"max {max(times):.1f} ms over {args.idle_runs} runs (claim, EXAMINE per folder, finish); "
                  f"IMAP commands per folder: {sorted({t / 2 for t in trips})} (target < 50 ms)")
        pool.close()
    finally:
        dovecot.stop()
        database.dispose()


if __name__ == "__main__":
    main()
