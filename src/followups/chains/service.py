"""Follow-up use cases. Services never commit: the edge owns the transaction.

Every state change is a conditional UPDATE checked by its row count, so a retried or
raced request changes nothing twice; the unique key on (user, chain, attempt) and on
(user, kind, dedupe_key) for notifications is the backstop.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import cache

from sqlalchemy import ColumnElement, Row, and_, bindparam, insert, literal_column, select, true, update
from sqlalchemy.orm import Session

from followups import cadence as cad
from followups import clock
from followups import notification_kinds as kinds
from followups.chains import buckets, queries
from followups.chains.planner import Planner
from followups.errors import Conflict, NotFound, Unauthorized
from followups.models import (
    AnyUser,
    Contact,
    FollowUp,
    FollowupType,
    Job,
    Notification,
    User,
)
from followups.owned import get_owned, is_id, parse_id, require_job_or_contact
from followups.users import tokens
from followups.users.tokens import Presented

CANCELLED_BY_USER = "Cancelled by user"


def list_due(
    session: Session, user: User, bucket: str, *, now: datetime, limit: int
) -> Sequence[FollowUp]:
    stmt = queries.due_bucket(user.id, bucket, now, user.zone, limit)
    return session.scalars(stmt).all()


def list_due_rows(
    session: Session, user: AnyUser, bucket: str, *, now: datetime, limit: int
) -> Sequence[Row]:
    """`list_due` as rows of the list's columns (queries.due_bucket_rows: the follow-up's,
    its job's, its contact's), for the API: the same follow-ups in the same order, without
    an ORM object per row."""
    lower, upper = buckets.bounds(bucket, now, user.zone)
    # On the session's connection (its transaction), as Core rows: no ORM loading step.
    return session.connection().execute(
        queries.due_bucket_rows(bucket),
        {"user_id": user.id, "lower": lower, "upper": upper, "limit": limit},
    ).all()


# Where mark-sent reads the sent follow-up's columns in its row (queries.answer_columns).
_AT = {column.key: i for i, column in enumerate(queries.FOLLOWUP_COLUMNS)}
_CHAIN = len(queries.answer_columns()) - 1
# The sign-in's columns, which lead the row of a send that signs in (PostgreSQL).
_SIGNED_IN = len(tokens.SIGNED_IN_COLUMNS)


@cache
def _followup_statement():
    """get_followup's statement, built once (bind fid, user_id)."""
    return (
        queries.embedded(queries.with_job_and_contact(select(FollowUp)))
        .where(FollowUp.id == bindparam("fid"), FollowUp.user_id == bindparam("user_id"))
        .execution_options(populate_existing=True)
    )


def get_followup(session: Session, user: User, followup_id) -> FollowUp:
    """A follow-up in any state, with its job and contact (archived or not)."""
    fid = parse_id(followup_id, "Follow-up")
    row = session.scalar(_followup_statement(), {"fid": fid, "user_id": user.id})
    if row is None:
        raise NotFound(f"Follow-up {followup_id} was not found.")
    return row


def new_chain(
    session: Session,
    user: User,
    *,
    due_at: datetime,
    why: str,
    now: datetime,
    job_id: uuid.UUID | None = None,
    contact_id: uuid.UUID | None = None,
    outreach_id: uuid.UUID | None = None,
    note: str | None = None,
    type: FollowupType = FollowupType.STANDARD,
    set_by_user: bool = False,
) -> FollowUp:
    """Attempt 1 of a new chain (`set_by_user`: the rules never move its date)."""
    fid = uuid.uuid4()
    followup = FollowUp(
        id=fid,
        user_id=user.id,
        chain_id=fid,
        attempt_no=1,
        type=type.value,
        job_id=job_id,
        contact_id=contact_id,
        outreach_id=outreach_id,
        due_at=due_at,
        remind_at=clock.start_of_local_day(due_at, user.zone),
        note=note,
        why=why,
        due_set_by_user=set_by_user,
        revision=0,
        created_at=now,
        updated_at=now,
    )
    session.add(followup)
    session.flush()
    return followup


def create_followup(
    session: Session,
    user: User,
    *,
    job_id: str | None,
    contact_id: str | None,
    due_at: datetime,
    note: str | None,
    type: FollowupType,
    now: datetime,
) -> FollowUp:
    require_job_or_contact(job_id, contact_id)
    job = get_owned(session, Job, user.id, job_id, "Job") if job_id is not None else None
    contact = (
        get_owned(session, Contact, user.id, contact_id, "Contact") if contact_id is not None else None
    )
    return new_chain(
        session,
        user,
        due_at=due_at,
        why=cad.manual_why(due_at, user.zone),
        now=now,
        job_id=job.id if job else None,
        contact_id=contact.id if contact else None,
        note=note,
        type=type,
        set_by_user=True,
    )


def _explain_failure(session: Session, user: AnyUser, fid: uuid.UUID, action: str) -> FollowUp:
    """After a conditional update matched nothing: 404 if not ours, else 409 with the state."""
    row = session.scalar(select(FollowUp).where(FollowUp.id == fid, FollowUp.user_id == user.id))
    if row is None:
        raise NotFound(f"Follow-up {fid} was not found.")
    if row.sent_at is not None:
        raise Conflict(f"Follow-up {fid} was already sent; it cannot be {action}.")
    if row.cancelled_at is not None:
        raise Conflict(f"Follow-up {fid} was cancelled; it cannot be {action}.")
    return row


def _sent_values(with_note: bool) -> dict:
    """What mark-sent sets (bind now, new_note)."""
    values = {"sent_at": bindparam("now"), "updated_at": bindparam("now")}
    if with_note:
        values["note"] = bindparam("new_note")
    return values


@cache
def _send_statement(with_note: bool):
    """mark_sent's gate (bind fid, uid, now, new_note): the open row of the user becomes sent."""
    return (
        update(FollowUp)
        .where(FollowUp.id == bindparam("fid"), FollowUp.user_id == bindparam("uid"), queries.is_open())
        .values(_sent_values(with_note))
    )


# The kind written into the SQL, not bound: a prepared statement's generic plan (psycopg
# prepares a statement on its fifth use) can use the partial index on kind = 'followup_due'
# only if the statement says so itself. With `kind = $1` PostgreSQL scanned all the user's
# unseen notifications instead, and each send grew slower with the user's history
# (bench/RESULTS.md).
_A_REMINDER = Notification.kind == literal_column(f"'{kinds.FOLLOWUP_DUE.name}'")


def _cancel_pending_reminders(user_id, followups: ColumnElement[bool]):
    """The unseen reminders of the user's follow-ups matched by `followups` (a condition on
    Notification.followup_id) become obsolete: cancelled at the bind parameter `now`. What
    the partial index ix_notification_pending_reminder serves."""
    return (
        update(Notification)
        .where(
            Notification.user_id == user_id,
            followups,
            _A_REMINDER,
            Notification.sent_at.is_(None),
            Notification.cancelled_at.is_(None),
        )
        .values(cancelled_at=bindparam("now"))
    )


@cache
def _drop_reminder_statement():
    """One follow-up's unseen reminder is obsolete (bind fid, uid, now)."""
    return _cancel_pending_reminders(bindparam("uid"), Notification.followup_id == bindparam("fid"))


@cache
def _send_and_answer_statement(with_note: bool, signing_in: bool):
    """PostgreSQL: mark-sent's gate and the read of its answer (`queries.answer_columns`,
    then reminded_at) in one statement, one round trip instead of two: the UPDATE's
    RETURNING row feeds the read. No follow-up's columns (NULLs, or no row): the gate
    refused (not ours, or not open) and nothing changed.

    `signing_in` (bind hash_of_token and signed_in_at instead of uid): the request's
    sign-in comes first in the same statement, another round trip saved on the hottest
    write: the bump of the user's row that is the sign-in of a write (tokens.SIGNED_IN_WRITER;
    its columns lead the row, which is missing if the token is not live) feeds the gate, so
    the user's row is still locked before the follow-up's (followups.replica).

    The drop of a reminded follow-up's reminder is a statement of its own, after this one:
    the worker that makes reminders locks the user's row first (take_writers), and a
    statement that waited for that lock would still read notifications as of its start,
    without the reminder the worker made meanwhile."""
    user_id = bindparam("uid")
    if signing_in:
        signed = tokens.SIGNED_IN_WRITER.cte("signed")
        user_id = select(signed.c.id).scalar_subquery()
    sent = (
        update(FollowUp)
        .where(FollowUp.id == bindparam("fid"), FollowUp.user_id == user_id, queries.is_open())
        .values(_sent_values(with_note))
        .returning(*queries.FOLLOWUP_COLUMNS, FollowUp.chain_id, FollowUp.reminded_at, FollowUp.user_id)
        .cte("sent")
    )
    answer = (
        sent.outerjoin(Job, and_(Job.id == sent.c.job_id, Job.user_id == sent.c.user_id))
        .outerjoin(Contact, and_(Contact.id == sent.c.contact_id, Contact.user_id == sent.c.user_id))
    )
    columns = (*queries.answer_columns(lambda column: sent.c[column.key]), sent.c.reminded_at)
    if not signing_in:
        return select(*columns).select_from(answer)
    return select(*signed.c, *columns).select_from(signed.outerjoin(answer, true()))


def _drop_reminder(session: Session, user_id: uuid.UUID, fid: uuid.UUID, now: datetime) -> None:
    session.connection().execute(_drop_reminder_statement(), {"fid": fid, "uid": user_id, "now": now})


def _open_update(user: AnyUser, fid: uuid.UUID):
    return update(FollowUp).where(
        FollowUp.id == fid, FollowUp.user_id == user.id, queries.is_open()
    )


def update_followup(
    session: Session, user: User, followup_id, *, changes: dict, now: datetime
) -> FollowUp:
    fid = parse_id(followup_id, "Follow-up")
    values: dict = {"updated_at": now}
    if "note" in changes:
        values["note"] = changes["note"]
    if "due_at" in changes:
        due_at = changes["due_at"]
        why = f"Rescheduled by you to {clock.instant_day_label(due_at, user.zone)}"
        values.update(_moved(due_at, why, user), due_set_by_user=True)
    result = session.execute(
        _open_update(user, fid).values(**values), execution_options={"synchronize_session": False}
    )
    if result.rowcount != 1:
        _explain_failure(session, user, fid, "changed")
    if "due_at" in changes:
        _drop_reminder(session, user.id, fid, now)
    return get_followup(session, user, fid)


def _moved(due_at: datetime, why: str, user: AnyUser) -> dict:
    """The values that move an open follow-up to a new date (a new revision with a
    reminder of its own)."""
    return {
        "due_at": due_at,
        "remind_at": clock.start_of_local_day(due_at, user.zone),
        "reminded_at": None,
        "revision": FollowUp.revision + 1,
        "why": why,
    }


def push_after_touch(
    session: Session,
    planner: Planner,
    contact_id: uuid.UUID | None,
    touch_at: datetime,
    *,
    keep_chain: uuid.UUID | None,
    now: datetime,
) -> int:
    """Minimum gap: after reaching a person, their other pending follow-ups move back.
    Returns how many moved."""
    user = planner.user
    moves = planner.pushed_by_touch(contact_id, touch_at, keep_chain=keep_chain)
    for fid, due_at, why in moves:
        session.execute(
            _open_update(user, fid).values(**_moved(due_at, why, user), updated_at=now),
            execution_options={"synchronize_session": False},
        )
        _drop_reminder(session, user.id, fid, now)
    return len(moves)


def mark_sent(session: Session, user: User, followup_id, *, note: str | None, now: datetime) -> FollowUp:
    """`mark_sent_answer`, then the sent follow-up as an ORM object (pages, terminal)."""
    sent = mark_sent_answer(session, user, followup_id, note=note, now=now)
    return get_followup(session, user, sent[_AT["id"]])


# Built once: a statement made per call has its cache key computed on each execution.
_INSERT_FOLLOWUP = insert(FollowUp)
_INSERT_NOTIFICATION = insert(Notification)


def mark_sent_answer(
    session: Session, user: AnyUser | Presented, followup_id, *, note: str | None, now: datetime
) -> Row:
    """Mark sent and make what follows, once: the next attempt or the dormant check. Returns
    the sent follow-up as a row of `queries.answer_columns` (no ORM object: the hottest
    write), what the API answers. `user`: the signed-in user, or the token a request
    presented (api.deps.WriteUnit), signed in here: on PostgreSQL within the send's statement.

    The conditional UPDATE is the gate: of concurrent calls exactly one matches the
    open row (PostgreSQL re-checks the WHERE after the row lock; SQLite serialises
    writers with BEGIN IMMEDIATE); the others see zero rows and answer 409.
    """
    # On the session's connection with statements built once: a send is the hottest write.
    conn = session.connection()
    on_postgresql = conn.dialect.name == "postgresql"
    if isinstance(user, Presented) and not (on_postgresql and is_id(followup_id)):
        user = tokens.sign_in_writer(session, user)  # a bad token is a 401 before a bad id's 404
    fid = parse_id(followup_id, "Follow-up")
    # (No parameter named like a column: Core would add it to the SET clause.)
    params = {"fid": fid, "now": now, "new_note": note}
    if on_postgresql:  # the gate and the answer in one statement (and the sign-in)
        signing_in = isinstance(user, Presented)
        params.update(user.params() if signing_in else {"uid": user.id})
        row = conn.execute(_send_and_answer_statement(note is not None, signing_in), params).one_or_none()
        if signing_in:
            if row is None:
                raise Unauthorized(tokens.NO_USER)
            user = tokens.signed_in(session, row[:_SIGNED_IN], bumped=True)
            row = row[_SIGNED_IN:]
        if row is None or row[0] is None:
            _explain_failure(session, user, fid, "sent")
        if row[-1] is not None:  # reminded: its reminder, if still unseen, is obsolete
            _drop_reminder(session, user.id, fid, now)
    else:
        params["uid"] = user.id
        if conn.execute(_send_statement(note is not None), params).rowcount != 1:
            _explain_failure(session, user, fid, "sent")
        _drop_reminder(session, user.id, fid, now)
        row = conn.execute(queries.one_followup_row(), params).one()
    job_id, contact_id, chain_id = row[_AT["job_id"]], row[_AT["contact_id"]], row[_CHAIN]
    planner = Planner(session, user)
    if row[_AT["type"]] == FollowupType.STANDARD.value:
        step = planner.after_sent(
            job_id=job_id, contact_id=contact_id, attempt_no=row[_AT["attempt_no"]], now=now
        )
        shared = {
            "user_id": user.id, "job_id": job_id, "contact_id": contact_id,
            "due_at": step.due_at, "created_at": now,
        }
        if step.kind == "attempt":
            conn.execute(
                _INSERT_FOLLOWUP,
                {
                    **shared,
                    "chain_id": chain_id,
                    "attempt_no": step.attempt_no,
                    "type": FollowupType.STANDARD.value,
                    "outreach_id": row[_AT["outreach_id"]],
                    "remind_at": clock.start_of_local_day(step.due_at, user.zone),
                    "why": step.why,
                    "due_set_by_user": False,
                    "revision": 0,
                    "updated_at": now,
                },
            )
        else:
            conn.execute(
                _INSERT_NOTIFICATION,
                {
                    **shared,
                    "kind": kinds.DORMANT_CANDIDATE.name,
                    "dedupe_key": str(chain_id),
                    "message": step.why,
                    "followup_id": fid,
                    "chain_id": chain_id,
                },
            )
    push_after_touch(session, planner, contact_id, now, keep_chain=chain_id, now=now)
    return row


def cancel_followup(session: Session, user: User, followup_id, *, now: datetime) -> None:
    """Cancel (kept as history). Cancelling a cancelled one is fine; a sent one is 409."""
    fid = parse_id(followup_id, "Follow-up")
    result = session.execute(
        _open_update(user, fid).values(
            cancelled_at=now, cancel_reason=CANCELLED_BY_USER, updated_at=now
        ),
        execution_options={"synchronize_session": False},
    )
    if result.rowcount == 1:
        _drop_reminder(session, user.id, fid, now)
        return
    row = session.scalar(select(FollowUp).where(FollowUp.id == fid, FollowUp.user_id == user.id))
    if row is None:
        raise NotFound(f"Follow-up {followup_id} was not found.")
    if row.sent_at is not None:
        raise Conflict(f"Follow-up {followup_id} was already sent; it cannot be cancelled.")


def cancel_open(
    session: Session, user_id: uuid.UUID, where: ColumnElement[bool], *, reason: str, now: datetime
) -> int:
    """Cancel the open follow-ups matching `where`, and the pending dormant checks of
    their chains (a reply or a closed job settles them). Returns follow-ups cancelled."""
    _drop_pending_reminders(session, user_id, and_(queries.is_open(), where), now)
    chains = select(FollowUp.chain_id).where(FollowUp.user_id == user_id, where)
    session.execute(
        update(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.kind == kinds.DORMANT_CANDIDATE.name,
            Notification.sent_at.is_(None),
            Notification.cancelled_at.is_(None),
            Notification.chain_id.in_(chains),
        )
        .values(cancelled_at=now),
        execution_options={"synchronize_session": False},
    )
    result = session.execute(
        update(FollowUp)
        .where(FollowUp.user_id == user_id, queries.is_open(), where)
        .values(cancelled_at=now, cancel_reason=reason, updated_at=now),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount


def _drop_pending_reminders(
    session: Session, user_id: uuid.UUID, where: ColumnElement[bool], now: datetime
) -> None:
    """A reminder not yet seen is obsolete once its follow-up is sent, cancelled or moved."""
    matched = Notification.followup_id.in_(select(FollowUp.id).where(FollowUp.user_id == user_id, where))
    session.execute(
        _cancel_pending_reminders(user_id, matched), {"now": now},
        execution_options={"synchronize_session": False},
    )


def rezone_open(session: Session, user: User) -> None:
    """After a time-zone change: the local day that makes each open follow-up due moves."""
    tz = user.zone
    rows = session.execute(
        select(FollowUp.id, FollowUp.due_at).where(FollowUp.user_id == user.id, queries.is_open())
    ).all()
    if rows:
        # A bulk UPDATE by primary key: the table's, (user_id, id).
        session.execute(
            update(FollowUp),
            [{"user_id": user.id, "id": fid, "remind_at": clock.start_of_local_day(due, tz)}
             for fid, due in rows],
        )
