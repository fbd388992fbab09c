"""Day-to-day verbs: due, outreach add/answer, send, snooze, jobs, contacts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy import select
from sqlalchemy.orm import Session

from followups import clock, input_limits
from followups import notification_kinds as kinds
from followups.api import shapes
from followups.chains import buckets, queries
from followups.chains import service as followups
from followups.commands import labels
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
from followups.commands.when import snooze_target
from followups.contacts import service as contacts
from followups.errors import Invalid
from followups.jobs import service as jobs
from followups.models import (
    REPLIES,
    Contact,
    FollowUp,
    FollowupType,
    Job,
    Notification,
    Outcome,
    Outreach,
    Stage,
    User,
)
from followups.outreach import service as outreach_service
from followups.transfer import columns, values
from followups.transfer.export import iso

# The "#" column of `due`: the attempt number, or what the follow-up is instead.
TYPE_MARKS = {FollowupType.APPOINTMENT.value: "appt", FollowupType.THANK_YOU.value: "thanks"}
outreach_app = typer.Typer(
    no_args_is_help=True, help="Record outreach (it starts a follow-up chain)."
)


def register(app: typer.Typer) -> None:
    app.command("due")(due)
    app.add_typer(outreach_app, name="outreach")
    app.command("send")(send)
    app.command("snooze")(snooze)
    app.command("jobs")(list_jobs)
    app.command("contacts")(list_contacts)


@handled
def due(
    bucket: Annotated[str, typer.Argument(help=f"{buckets.OFFERED_TEXT}.")] = buckets.DEFAULT,
    why: Annotated[bool, typer.Option("--why", help="Show how each due date came about.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Show at most this many.")] = 200,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Follow-ups due today, overdue or upcoming, in your time zone."""
    name = bucket.strip().lower()
    name = next((n for n in buckets.NAMES if n.lower() == name), name)
    if name not in buckets.BY_NAME:
        fail(f"unknown bucket {bucket!r}: use {buckets.OFFERED_TEXT}")
    now = datetime.now(UTC)
    with database() as db, db.transaction(write=False) as session:
        me = pick_user(session, user)
        rows = followups.list_due(session, me, name, now=now, limit=limit)  # type: ignore[arg-type]
        if as_json:
            print_json([shapes.followup_json(f) for f in rows])
            return
        counts = session.execute(queries.bucket_counts(me.id, now, me.zone)).one()._asdict()
    tz = me.zone
    if not rows:
        empty = f"Nothing {name}." if name in ("overdue", "upcoming") else buckets.BY_NAME[name].empty
        out().print(empty)
    else:
        today = clock.full_day_label(clock.local_date(now, tz))
        table = Table(title=f"{buckets.BY_NAME[name].label} · {today} · {me.timezone}", title_justify="left")
        table.add_column("id", style="dim", no_wrap=True)
        table.add_column("due", no_wrap=True)
        table.add_column("when", style="dim", no_wrap=True)
        table.add_column("#", justify="right", no_wrap=True)
        table.add_column("job · contact")
        notes = any(f.note for f in rows)
        if notes:
            table.add_column("note")
        if why:
            table.add_column("why")
        for f in rows:
            cells = [
                labels.short_id(f.id),
                labels.local_label(f.due_at, tz),
                labels.relative(f.due_at, now, tz),
                TYPE_MARKS.get(f.type, str(f.attempt_no)),
                labels.subject(f.job, f.contact),
                *([f.note or ""] if notes else []),
                *([f.why or ""] if why else []),
            ]
            table.add_row(*(Text(c) for c in cells))
        out().print(table)
        if counts[name] > len(rows):
            out().print(f"[dim]showing {len(rows)} of {counts[name]} (--limit)[/]")
    out().print(
        "[dim]" + " · ".join(f"{counts[b]} {b}" for b in buckets.PARTITION) + "[/]"
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
    phrase = _checked("--resume", resume, input_limits.RESUME_MAX)
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


def _checked(option: str, raw: str | None, limit: int, *, multiline: bool = False) -> str | None:
    if raw is None:
        return None
    try:
        return values.text(raw, limit, multiline=multiline)
    except ValueError as exc:
        fail(f"{option}: {exc}")


def _find_job(session: Session, user: User, company: str, role: str) -> Job | None:
    """The user's job with this company and role, compared as the importer does (casefold)."""
    key = (company.casefold(), role.casefold())
    rows = session.execute(
        select(Job.id, Job.company, Job.role)
        .where(Job.user_id == user.id)
        .order_by(Job.created_at, Job.id)
    )
    found = next((jid for jid, c, r in rows if (c.casefold(), r.casefold()) == key), None)
    return session.get(Job, found) if found else None


def _find_contact(
    session: Session, user: User, name: str | None, email: str | None
) -> Contact | None:
    """By email when one is given, else by name (casefold), as the importer does."""
    rows = session.execute(
        select(Contact.id, Contact.name, Contact.email)
        .where(Contact.user_id == user.id)
        .order_by(Contact.created_at, Contact.id)
    )
    if email:
        found = next((cid for cid, _n, e in rows if (e or "").casefold() == email.casefold()), None)
    else:
        found = next((cid for cid, n, _e in rows if n.casefold() == (name or "").casefold()), None)
    return session.get(Contact, found) if found else None


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
            "--sent", metavar="WHEN", help="When it was sent (default now): YYYY-MM-DD or ISO."
        ),
    ] = None,
    no_followup: Annotated[
        bool, typer.Option("--no-followup", help="Do not schedule follow-ups.")
    ] = False,
    outcome: OutcomeOption = "NONE",
    resume: ResumeOption = None,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record outreach for a job (--company and --role) and/or a contact; attempt 1 is scheduled
    (with --outcome LATER --resume WHEN: one follow-up on that day)."""
    answer, phrase = _answer(outcome, resume)
    company = _checked("--company", company, values.NAME_MAX)
    role = _checked("--role", role, values.NAME_MAX)
    url = _checked("--url", url, values.URL_MAX)
    name = _checked("--contact", contact, values.NAME_MAX)
    note = _checked("--note", note, values.NOTE_MAX, multiline=True)
    address = _checked("--email", email, values.EMAIL_MAX)
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
            sent_at = values.when(sent, me.zone) if sent else None
        except ValueError as exc:
            fail(f"--sent: {exc}")
        if sent_at is not None and sent_at > now:
            fail("--sent: outreach cannot be sent in the future")
        job = None
        if company and role:
            job = _find_job(session, me, company, role) or jobs.create_job(
                session, me, company=company, role=role, url=url, stage=Stage.APPLIED, now=now
            )
        person = None
        if name or address:
            person = _find_contact(session, me, name, address) or contacts.create_contact(
                session,
                me,
                fields={
                    "name": name or address,
                    "email": address,
                    "company": company,
                    "linkedin_url": None,
                },
                now=now,
            )
        try:
            made, followup = outreach_service.create_outreach(
                session,
                me,
                job_id=str(job.id) if job else None,
                contact_id=str(person.id) if person else None,
                channel=picked,
                sent_at=sent_at,
                note=note,
                outcome=answer,
                resume_on=phrase,
                create_followup=not no_followup,
                now=now,
            )
        except Invalid as exc:
            _resume_failed(exc)
        if as_json:
            print_json(
                {
                    **shapes.outreach_json(made),
                    "followup": shapes.followup_json(
                        followups.get_followup(session, me, followup.id)
                    )
                    if followup
                    else None,
                }
            )
            return
        who = labels.subject(job, person)
        if followup is None:
            say(f"Recorded outreach to {who} (id {labels.short_id(made.id)}); no follow-up scheduled.")
        else:
            first = "Not now: a follow-up is" if answer == Outcome.LATER else "Attempt 1"
            say(
                f"Recorded outreach to {who} (id {labels.short_id(made.id)}). {first} due "
                f"{labels.due_label(followup.due_at, now, me.zone)},"
                f" id {labels.short_id(followup.id)}."
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
        resumed = None
        if row.resume_on is not None:
            resumed = session.scalar(
                select(FollowUp)
                .where(FollowUp.user_id == me.id, FollowUp.outreach_id == row.id)
                .order_by(FollowUp.created_at.desc(), FollowUp.id.desc())
                .limit(1)
            )
        if as_json:
            print_json(shapes.outreach_json(row))
            return
        if resumed is not None and resumed.sent_at is None and resumed.cancelled_at is None:
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


def resolve_id(session: Session, user: User, model: type[FollowUp] | type[Outreach], raw: str, noun: str) -> uuid.UUID:
    """A full id, or a unique prefix of at least 4 characters (the tables show 8)."""
    text = raw.strip().lower()
    try:
        return uuid.UUID(text)
    except ValueError:
        pass
    prefix = text.replace("-", "")
    if len(prefix) < 4 or any(ch not in "0123456789abcdef" for ch in prefix):
        where = "`followups due`" if model is FollowUp else "`followups outreach add`"
        fail(f"{noun} {raw!r} was not found (give the id from {where})")
    matches = [
        fid
        for fid in session.scalars(select(model.id).where(model.user_id == user.id))
        if fid.hex.startswith(prefix)
    ]
    if not matches:
        fail(f"{noun} {raw!r} was not found")
    if len(matches) > 1:
        plural = "follow-ups" if noun == "follow-up" else noun
        fail(f"{raw!r} matches {len(matches)} {plural}: give more of the id")
    return matches[0]


def resolve_followup(session: Session, user: User, raw: str) -> uuid.UUID:
    return resolve_id(session, user, FollowUp, raw, "follow-up")


@handled
def send(
    followup_id: Annotated[
        str, typer.Argument(metavar="ID", help="The follow-up (id or its first characters).")
    ],
    note: Annotated[str | None, typer.Option(help="What you sent (replaces the note).")] = None,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Mark a follow-up sent; the cadence schedules what comes next."""
    note = _checked("--note", note, values.NOTE_MAX, multiline=True)
    now = datetime.now(UTC)
    with database() as db, db.transaction() as session:
        me = pick_user(session, user)
        done = followups.mark_sent(
            session, me, resolve_followup(session, me, followup_id), note=note, now=now
        )
        following = session.scalar(
            select(FollowUp).where(
                FollowUp.user_id == me.id,
                FollowUp.chain_id == done.chain_id,
                FollowUp.attempt_no == done.attempt_no + 1,
            )
        )
        dormant = session.scalar(
            select(Notification).where(
                Notification.user_id == me.id,
                Notification.followup_id == done.id,
                Notification.kind == kinds.DORMANT_CANDIDATE.name,
            )
        )
        if as_json:
            print_json(
                {
                    **shapes.followup_json(done),
                    "next": shapes.followup_json(followups.get_followup(session, me, following.id))
                    if following
                    else None,
                    "dormantCheckAt": iso(dormant.due_at) if dormant else None,
                }
            )
            return
        tz = me.zone
        message = f"Sent attempt {done.attempt_no} ({labels.subject(done.job, done.contact)})."
        if following is not None:
            message += (
                f" Next: attempt {following.attempt_no} due"
                f" {labels.due_label(following.due_at, now, tz)},"
                f" id {labels.short_id(following.id)}."
            )
        elif dormant is not None:
            message += (
                f" That was the last attempt: if nothing comes back, a dormant check falls due "
                f"{labels.local_label(dormant.due_at, tz)}."
            )
        say(message)


@handled
def snooze(
    followup_id: Annotated[
        str, typer.Argument(metavar="ID", help="The follow-up (id or its first characters).")
    ],
    to: Annotated[
        str,
        typer.Option(
            "--to",
            metavar="WHEN",
            help=f"tomorrow, monday (any weekday), YYYY-MM-DD ({clock.DAY_TIME_TEXT} local) or an ISO instant.",
        ),
    ],
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Move a follow-up to another day."""
    now = datetime.now(UTC)
    with database() as db, db.transaction() as session:
        me = pick_user(session, user)
        try:
            due_at = snooze_target(to, now, me.zone)
        except ValueError as exc:
            fail(f"--to: {exc}")
        moved = followups.update_followup(
            session,
            me,
            resolve_followup(session, me, followup_id),
            changes={"due_at": due_at},
            now=now,
        )
        if as_json:
            print_json(shapes.followup_json(moved))
            return
        say(
            f"Snoozed {labels.short_id(moved.id)} ({labels.subject(moved.job, moved.contact)})"
            f" to {labels.due_label(moved.due_at, now, me.zone)}."
        )


ArchivedOption = Annotated[bool, typer.Option("--archived", help="List the archived ones instead.")]


@handled
def list_jobs(
    archived: ArchivedOption = False, user: UserOption = None, as_json: JsonOption = False
) -> None:
    """Your jobs (oldest first)."""
    with database() as db, db.transaction(write=False) as session:
        me = pick_user(session, user)
        rows = jobs.list_jobs(session, me, archived=archived)
    if as_json:
        print_json([shapes.job_json(j) for j in rows])
        return
    if not rows:
        out().print(
            "No archived jobs."
            if archived
            else "No jobs yet: `followups outreach add` or `followups import`."
        )
        return
    table = Table(title=f"Jobs ({len(rows)})", title_justify="left")
    for name in ("id", "company", "role", "stage", "added", "url"):
        table.add_column(
            name, no_wrap=name in {"id", "stage", "added"}, style="dim" if name == "id" else None
        )
    for j in rows:
        cells = (
            labels.short_id(j.id),
            j.company,
            j.role,
            j.stage,
            f"{clock.local_date(j.created_at, me.zone):%Y-%m-%d}",
            j.url or "",
        )
        table.add_row(*(Text(c) for c in cells))
    out().print(table)


@handled
def list_contacts(
    archived: ArchivedOption = False, user: UserOption = None, as_json: JsonOption = False
) -> None:
    """Your contacts (oldest first)."""
    with database() as db, db.transaction(write=False) as session:
        me = pick_user(session, user)
        rows = contacts.list_contacts(session, me, archived=archived)
    if as_json:
        print_json([shapes.contact_json(c) for c in rows])
        return
    if not rows:
        out().print("No archived contacts." if archived else "No contacts yet.")
        return
    table = Table(title=f"Contacts ({len(rows)})", title_justify="left")
    for name in ("id", "name", "email", "company", "added"):
        table.add_column(
            name, no_wrap=name in {"id", "added"}, style="dim" if name == "id" else None
        )
    for c in rows:
        cells = (
            labels.short_id(c.id),
            c.name,
            c.email or "",
            c.company or "",
            f"{clock.local_date(c.created_at, me.zone):%Y-%m-%d}",
        )
        table.add_row(*(Text(c) for c in cells))
    out().print(table)
