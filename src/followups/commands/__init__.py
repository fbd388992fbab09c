"""The terminal user's verbs, registered into the Typer app of cli.py."""

from __future__ import annotations

import typer

from followups.commands import records, rules, stats, transfer, users


def register(app: typer.Typer) -> None:
    records.register(app)
    users.register(app)
    transfer.register(app)
    rules.register(app)
    stats.register(app)
