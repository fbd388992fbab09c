"""The terminal user's verbs, registered into the Typer app of cli.py in the order `--help`
lists them."""

from __future__ import annotations

import typer

from followups.commands import (
    cancel,
    followups,
    jobs_contacts,
    mailbox,
    outreach,
    rules,
    stats,
    transfer,
    users,
    webhook,
)


def register(app: typer.Typer) -> None:
    app.command("due")(followups.due)
    app.add_typer(outreach.outreach_app, name="outreach")
    app.command("send")(followups.send)
    app.command("snooze")(followups.snooze)
    cancel.register(app)
    jobs_contacts.register(app)
    users.register(app)
    transfer.register(app)
    rules.register(app)
    webhook.register(app)
    stats.register(app)
    mailbox.register(app)
