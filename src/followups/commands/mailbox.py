"""`followups mailbox connect|status|sync|disconnect`: the user's own mailbox from the terminal."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated

import typer
from pydantic import ValidationError

from followups.api.schemas import MailboxIn
from followups.commands.common import (
    JsonOption,
    UserOption,
    database,
    fail,
    handled,
    out,
    pick_user,
    print_json,
    say,
)
from followups.config import Settings
from followups.mailbox import secret
from followups.mailbox import service as mailboxes
from followups.mailbox.sync import claim_now, sync_mailbox
from followups.models import Mailbox
from followups.transfer.export import iso

mailbox_app = typer.Typer(no_args_is_help=True, help="Your own mailbox: replies and sends found in it.")
Security = typer.Option(help="ssl, starttls or none.")


def register(app: typer.Typer) -> None:
    app.add_typer(mailbox_app, name="mailbox")


def _status_json(mailbox: Mailbox) -> dict:
    return {
        "imapHost": mailbox.imap_host, "imapPort": mailbox.imap_port, "imapSecurity": mailbox.imap_security,
        "smtpHost": mailbox.smtp_host, "smtpPort": mailbox.smtp_port, "smtpSecurity": mailbox.smtp_security,
        "username": mailbox.username, "address": mailbox.address,
        "inboxFolder": mailbox.inbox_folder, "sentFolder": mailbox.sent_folder,
        "createContacts": mailbox.create_contacts, "contactTag": mailbox.contact_tag,
        "status": mailbox.status, "lastError": mailbox.last_error, "lastSyncAt": iso(mailbox.last_sync_at),
        "nextSyncAt": iso(mailbox.next_sync_at), "connectedAt": iso(mailbox.created_at),
    }


def _print_status(mailbox: Mailbox) -> None:
    console = out()
    when = iso(mailbox.last_sync_at) or "never"
    console.print(f"Mailbox {mailbox.username} on {mailbox.imap_host}:{mailbox.imap_port} "
                  f"(SMTP {mailbox.smtp_host}:{mailbox.smtp_port})", markup=False)
    console.print(f"Folders: inbox {mailbox.inbox_folder!r}, sent {mailbox.sent_folder!r}", markup=False)
    console.print(f"Status: {mailbox.status}; last good sync: {when}; next: {iso(mailbox.next_sync_at)}",
                  markup=False)
    if mailbox.last_error:
        console.print(f"Last error: {mailbox.last_error}", markup=False)


@mailbox_app.command("connect")
@handled
def connect(
    imap_host: Annotated[str, typer.Option(help="IMAP server, e.g. imap.fastmail.com.")],
    username: Annotated[str, typer.Option(help="The mailbox login (usually your address).")],
    smtp_host: Annotated[str | None, typer.Option(help="SMTP server (default: the IMAP host).")] = None,
    imap_port: Annotated[int, typer.Option()] = 993,
    imap_security: Annotated[str, Security] = "ssl",
    smtp_port: Annotated[int, typer.Option()] = 587,
    smtp_security: Annotated[str, Security] = "starttls",
    address: Annotated[str | None, typer.Option(help="Your own address (default: the username).")] = None,
    inbox: Annotated[str, typer.Option(help="The inbox folder.")] = "INBOX",
    sent: Annotated[str | None, typer.Option(help="The sent folder (default: the one marked \\Sent).")] = None,
    create_contacts: Annotated[bool, typer.Option(
        "--create-contacts", help="A sent message to someone new, Bcc followups@… or tagged, creates the contact.",
    )] = False,
    contact_tag: Annotated[str | None, typer.Option(help="The subject tag that creates the contact.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the (app) password from the first line of stdin."),
    ] = False,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Connect your mailbox: both logins are checked first; the password is stored encrypted."""
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else typer.prompt("App password", hide_input=True)
    try:
        body = MailboxIn(
            imap_host=imap_host, imap_port=imap_port, imap_security=imap_security,
            smtp_host=smtp_host or imap_host, smtp_port=smtp_port, smtp_security=smtp_security,
            username=username, password=password, address=address, inbox_folder=inbox, sent_folder=sent,
            create_contacts=create_contacts, contact_tag=contact_tag,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(f"--{str(first['loc'][0]).replace('_', '-')}: {first['msg']}")
    settings = Settings()
    with database() as db:
        secret.configure(settings)
        with db.transaction(write=False) as session:
            email = pick_user(session, user).email
        # Checked with no transaction open: it waits on the network.
        account = mailboxes.check(body.account(email), sent=body.sent_folder, timeout=settings.mailbox_timeout_s)
        with db.transaction() as session:
            mailbox = mailboxes.save_mailbox(session, pick_user(session, user), account, now=datetime.now(UTC),
                                             create_contacts=body.create_contacts, contact_tag=body.contact_tag)
            if as_json:
                print_json(_status_json(mailbox))
                return
            say(f"Connected {mailbox.username}: inbox {mailbox.inbox_folder!r}, sent {mailbox.sent_folder!r}. "
                "The worker syncs it (`followups mailbox sync` does now).")


def _mailbox(session, user: str | None) -> Mailbox:
    mailbox = mailboxes.find_mailbox(session, pick_user(session, user))
    if mailbox is None:
        fail("no mailbox is connected (`followups mailbox connect`)")
    return mailbox


@mailbox_app.command("status")
@handled
def status(user: UserOption = None, as_json: JsonOption = False) -> None:
    """How the sync goes: status, the last good sync, the last error."""
    with database() as db, db.transaction(write=False) as session:
        mailbox = _mailbox(session, user)
        if as_json:
            print_json(_status_json(mailbox))
        else:
            _print_status(mailbox)


@mailbox_app.command("sync")
@handled
def sync(user: UserOption = None, as_json: JsonOption = False) -> None:
    """Sync now (as the worker would), unless a worker is syncing it."""
    settings = Settings()
    with database() as db:
        secret.configure(settings)
        with db.transaction() as session:
            user_id = _mailbox(session, user).user_id
            claimed = claim_now(session, settings, user_id, now=datetime.now(UTC))
        if claimed is None:
            fail("a worker is syncing this mailbox right now; try again in a moment")
        report = sync_mailbox(db, settings, claimed, clock=lambda: datetime.now(UTC))
        if as_json:
            print_json({"read": report.new, "recorded": report.recorded, "skipped": report.skipped,
                        "error": report.error})
        else:
            done = ", ".join(f"{n} {kind}" for kind, n in sorted(report.recorded.items())) or "nothing to record"
            say(f"Read {report.new} new message(s): {done}" + (f"; {report.skipped} skipped" if report.skipped else ""))
        if report.error:
            fail(f"the sync failed: {report.error}")


@mailbox_app.command("disconnect")
@handled
def disconnect(user: UserOption = None) -> None:
    """Delete the stored credentials and stop the sync; what it recorded stays."""
    with database() as db, db.transaction() as session:
        if mailboxes.disconnect(session, pick_user(session, user)):
            say("Disconnected: the credentials are deleted and the sync stopped.")
        else:
            say("No mailbox was connected.")
