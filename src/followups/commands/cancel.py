"""`followups cancel ID`: stop a follow-up (kept as history, like the API's DELETE)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from followups.api import shapes
from followups.chains import service as followups
from followups.commands import labels
from followups.commands.common import JsonOption, UserOption, database, handled, pick_user, print_json, say
from followups.commands.followups import resolve_followup


def register(app: typer.Typer) -> None:
    app.command("cancel")(cancel)


@handled
def cancel(
    followup_id: Annotated[
        str, typer.Argument(metavar="ID", help="The follow-up (id or its first characters).")
    ],
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Cancel a follow-up: it is not due any more and stays in the history, with the reason."""
    now = datetime.now(UTC)
    with database() as db, db.transaction() as session:
        me = pick_user(session, user)
        fid = resolve_followup(session, me, followup_id)
        before = followups.get_followup(session, me, fid).cancelled_at
        followups.cancel_followup(session, me, fid, now=now)
        done = followups.get_followup(session, me, fid)
        if as_json:
            print_json(shapes.followup_json(done))
            return
        what = f"{labels.short_id(done.id)} ({labels.subject(done.job, done.contact)}), attempt {done.attempt_no}"
        if before is not None:
            say(f"{what} was already cancelled {labels.local_label(before, me.zone)}.")
            return
        say(f"Cancelled {what}; it stays in the history.")
