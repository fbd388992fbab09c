"""`followups stats`: reply rates per channel and attempt, and the adaptive delay."""

from __future__ import annotations

from rich.table import Table

from followups.commands.common import JsonOption, UserOption, database, handled, out, pick_user, print_json
from followups.stats import service as stats
from followups.stats import wording
from followups.stats.service import Rate


def register(app) -> None:
    app.command("stats")(show_stats)


def _cells(rate: Rate) -> list[str]:
    return [str(rate.reached), str(rate.replies), wording.percent(rate.reply_rate), wording.days(rate.median_days)]


@handled
def show_stats(user: UserOption = None, as_json: JsonOption = False) -> None:
    """Reply rates per channel and follow-up attempt, and your median days to reply."""
    with database() as db, db.transaction(write=False) as session:
        me = pick_user(session, user)
        result = stats.reply_stats(session, me)
        enabled = me.cadence_adaptive
    if as_json:
        print_json(wording.as_wire(result, enabled=enabled))
        return
    console = out()
    if not result.overall.reached:
        console.print("No outreach yet.")
    else:
        table = Table(title="Reply rates", title_justify="left")
        table.add_column("channel")
        table.add_column("attempt")
        for name in ("reached", "replies", "rate", "median"):
            table.add_column(name, justify="right", no_wrap=True)
        for c in result.channels:
            table.add_row(c.channel.value.lower(), "all", *_cells(c.total), style="bold")
            for a in c.attempts:
                label = "first message" if a.attempt_no == 0 else f"follow-up {a.attempt_no}"
                table.add_row("", label, *_cells(a))
            table.add_section()
        table.add_row("all channels", "", *_cells(result.overall), style="bold")
        console.print(table)
    console.print(wording.adaptive_sentence(result.adaptive, enabled), markup=False)
