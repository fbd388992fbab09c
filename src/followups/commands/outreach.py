"""The outreach verbs: `outreach add` records one (its job and contact found or added),
`outreach answer` records their answer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from followups import clock, input_limits
from followups.api import shapes
from followups.chains import service as followups
from followups.commands import labels, when
from followups.commands.common import JsonOption, UserOption, database, fail, handled, pick_user, print_json, say
from followups.commands.inputs import checked, resolve_id
from followups.errors import Invalid
from followups.models import REPLIES, Outcome, Outreach
from followups.outreach import service as outreach_service
from followups.transfer import columns, values

outreach_app = typer.Typer(
    no_args_is_help=True, help="Record outreach (it starts a follow-up chain)."
)


OutcomeOption = Annotated[
    str,
    typer.Option(
        "--outcome",
        help="Their answer: NONE, POSITIVE, NEGATIVE, NO_RESPONSE or LATER (not now: give --resume).",
    ),
]
ResumeOption = Annotated[
    str | None,
    typer.Option(
        "--resume",
        metavar="WHEN",
        help="With --outcome LATER: when to follow up, e.g. 'next week', 'after the 15th', 2026-12-15.",
    ),
]


def _answer(outcome: str, resume: str | None) -> tuple[Outcome, str | None]:
    """The outcome and the resume phrase, checked as the form does before the service reads it."""
    try:
        picked = Outcome(outcome.strip().upper())
    except ValueError:
        fail(f"--outcome: {outcome!r} is not one of {', '.join(o.value for o in Outcome)}")
    phrase = checked("--resume", resume, input_limits.RESUME_MAX)
    if picked == Outcome.LATER and not phrase:
        fail("--outcome LATER needs --resume WHEN: e.g. --resume 'next week' or --resume 2026-12-15")
    if picked != Outcome.LATER and phrase:
        fail("--resume goes with --outcome LATER (not now)")
    return picked, phrase


def _resume_failed(exc: Invalid) -> None:
    """The service could not read the day: say so about --resume."""
    if exc.fields and exc.fields[0].field == "resumeOn":
        fail(f"--resume: {exc.fields[0].message}")
    raise exc


@outreach_app.command("add")
@handled
def outreach_add(
    company: Annotated[str | None, typer.Option(help="The job's company.")] = None,
    role: Annotated[str | None, typer.Option(help="The job's role (with --company).")] = None,
    url: Annotated[str | None, typer.Option(help="The job posting (for a new job).")] = None,
    contact: Annotated[
        str | None, typer.Option(help="The person you wrote to (found or added).")
    ] = None,
    email: Annotated[
        str | None, typer.Option(help="The contact's email (finds or adds the contact).")
    ] = None,
    channel: Annotated[str, typer.Option(help="EMAIL, LINKEDIN, PHONE or OTHER.")] = "EMAIL",
    note: Annotated[str | None, typer.Option(help="What you sent.")] = None,
    sent: Annotated[
        str | None,
        typer.Option(
            "--sent", metavar="WHEN",
            help="When it was sent (default now): yesterday, friday, 3 days ago, YYYY-MM-DD or ISO.",
        ),
    ] = None,
    no_followup: Annotated[
        bool, typer.Option("--no-followup", help="Do not schedule follow-ups.")
    ] = False,
    keep_earlier: Annotated[
        bool,
        typer.Option(
            "--keep-earlier",
            help="Keep the open follow-up of an earlier outreach to this person for this job"
            " (by default this one replaces it).",
        ),
    ] = False,
    outcome: OutcomeOption = "NONE",
    resume: ResumeOption = None,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record outreach for a job (--company and --role) and/or a contact; attempt 1 is scheduled
    (with --outcome LATER --resume WHEN: one follow-up on that day)."""
    answer, phrase = _answer(outcome, resume)
    company = checked("--company", company, values.NAME_MAX)
    role = checked("--role", role, values.NAME_MAX)
    url = checked("--url", url, values.URL_MAX)
    name = checked("--contact", contact, values.NAME_MAX)
    note = checked("--note", note, values.NOTE_MAX, multiline=True)
    address = checked("--email", email, values.EMAIL_MAX)
    if address:
        try:
            address = values.email(address)
        except ValueError as exc:
            fail(f"--email: {exc}")
    if bool(company) != bool(role):
        fail("--company and --role go together (a job is its company and role)")
    if not (company or name or address):
        fail("say who it went to: --company and --role, and/or --contact NAME")
    picked = columns.lookup(columns.CHANNEL, channel)
    if picked is None:
        fail(f"--channel: {channel!r} is not one of EMAIL, LINKEDIN, PHONE, OTHER")
    now = datetime.now(UTC)
    with database() as db, db.transaction() as session:
        me = pick_user(session, user)
        try:
            sent_at = when.sent_at(sent, now, me.zone) if sent else None
        except ValueError as exc:
            fail(f"--sent: {exc}")
        if sent_at is not None and not clock.sent_by(sent_at, now):
            fail("--sent: outreach cannot be sent in the future")
        try:
            recorded = outreach_service.record_outreach(
                session,
                me,
                job=outreach_service.NewJob(company, role, url) if company and role else None,
                contact=(
                    outreach_service.NewContact(name or address, address, company)
                    if name or address
                    else None
                ),
                channel=picked,
                sent_at=sent_at,
                note=note,
                outcome=answer,
                resume_on=phrase,
                create_followup=not no_followup,
                keep_earlier_chain=keep_earlier,
                now=now,
            )
        except Invalid as exc:
            _resume_failed(exc)
        made, followup = recorded.outreach, recorded.followup
        if as_json:
            print_json(
                {
                    **shapes.outreach_json(made),
                    "followup": shapes.followup_json(
                        followups.get_followup(session, me, followup.id)
                    )
                    if followup
                    else None,
                    "superseded": recorded.superseded,
                }
            )
            return
        who = labels.subject(recorded.job, recorded.contact)
        if followup is None:
            say(f"Recorded outreach to {who} (id {labels.short_id(made.id)}); no follow-up scheduled.")
        else:
            first = "Not now: a follow-up is" if answer == Outcome.LATER else "Attempt 1"
            say(
                f"Recorded outreach to {who} (id {labels.short_id(made.id)}). {first} due "
                f"{labels.due_label(followup.due_at, now, me.zone)},"
                f" id {labels.short_id(followup.id)}."
                + (" It replaces the open follow-up of the earlier outreach." if recorded.superseded else "")
            )


@outreach_app.command("answer")
@handled
def outreach_answer(
    outreach_id: Annotated[
        str, typer.Argument(metavar="ID", help="The outreach (id or its first characters).")
    ],
    outcome: OutcomeOption,
    resume: ResumeOption = None,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record their answer to an outreach: a reply settles it; LATER pauses it until --resume."""
    answer, phrase = _answer(outcome, resume)
    now = datetime.now(UTC)
    changes: dict = {"outcome": answer}
    if phrase:
        changes["resume_on"] = phrase
    with database() as db, db.transaction() as session:
        me = pick_user(session, user)
        found = resolve_id(session, me, Outreach, outreach_id, "outreach")
        try:
            row = outreach_service.update_outreach(session, me, found, changes=changes, now=now)
        except Invalid as exc:
            _resume_failed(exc)
        resumed = outreach_service.resumed_followup(session, me, row) if row.resume_on else None
        if as_json:
            print_json(shapes.outreach_json(row))
            return
        if resumed is not None:
            say(
                f"Not now: the thread pauses; a follow-up is due"
                f" {labels.due_label(resumed.due_at, now, me.zone)}, id {labels.short_id(resumed.id)}."
            )
        elif answer == Outcome.LATER:
            say("Not now, saved. No follow-up was scheduled: the job or contact is closed or archived.")
        elif answer in REPLIES:
            say("Reply saved; its open follow-ups are cancelled.")
        else:
            say(f"Answer saved ({answer.value}).")


