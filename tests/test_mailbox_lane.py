"""A mail server that never answers delays nobody's reminders: the sync runs in a lane of its
own, within its own time budget."""

from __future__ import annotations

import socket
import threading
import time
from datetime import timedelta

from sqlalchemy import select

from conftest import NOW
from followups.mailbox import service as mailboxes
from followups.mailbox.account import Account, Server
from followups.models import Channel, Mailbox, Notification, Outcome, User
from followups.outreach.service import record_outreach
from followups.worker import Worker
from mailbox_helpers import mail_settings, setup
from servers import free_port


class SilentServer:
    """Accepts connections and never says a word (an IMAP server that hangs)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.sock = socket.create_server(("127.0.0.1", self.port))
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


def test_a_hanging_mail_server_delays_no_reminder(db, dovecot, clock):
    silent = SilentServer()
    try:
        hung = setup(db, dovecot, email="hung@example.com", connect=False)
        other = setup(db, dovecot, email="other@example.com", connect=False)
        with db.transaction() as session:
            hung_user = session.get(User, hung.user_id)
            mailboxes.save_mailbox(session, hung_user, Account(
                imap=Server("127.0.0.1", silent.port, "none"), smtp=Server("127.0.0.1", silent.port, "none"),
                username="hung", password="x", address="hung@example.com",
            ), now=NOW - timedelta(days=1))
            record_outreach(session, session.get(User, other.user_id), job=None,
                            contact=other.contacts["Dana"], channel=Channel.EMAIL,
                            sent_at=NOW - timedelta(days=5), note=None, outcome=Outcome.NONE,
                            create_followup=True, now=NOW - timedelta(days=5))
        settings = mail_settings(db, mailbox_timeout_s=4.0, mailbox_budget_s=4.0, worker_interval_s=0.1)
        worker = Worker(db, settings, clock=clock)
        thread = threading.Thread(target=worker.run, daemon=True)
        started = time.monotonic()
        thread.start()
        reminded = None
        while time.monotonic() - started < 10:
            with db.transaction(write=False) as session:
                if session.scalar(select(Notification.id).where(Notification.user_id == other.user_id,
                                                                Notification.kind == "followup_due")):
                    reminded = time.monotonic() - started
                    break
            time.sleep(0.05)
        assert reminded is not None and reminded < 2.0  # while the sync waits on the silent server
        while time.monotonic() - started < 15:
            with db.transaction(write=False) as session:
                mailbox = session.get(Mailbox, hung.user_id)
            if mailbox.status == "error":
                break
            time.sleep(0.1)
        worker.stopping.set()
        thread.join(15)
        assert not thread.is_alive()
        assert mailbox.last_error in ("the IMAP server did not answer in time",
                                      "the sync took longer than its budget of 4 s")
        assert mailbox.lease_until is None and mailbox.next_sync_at > NOW
    finally:
        silent.close()
