"""Follow-up use cases. Services never commit: the edge owns the transaction.

Every state change is a conditional UPDATE checked by its row count, so a retried or
raced request changes nothing twice; the unique key on (user, chain, attempt) and on
(user, kind, dedupe_key) for notifications is the backstop.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Insert, Row, Select, and_, insert, select, update
from sqlalchemy.orm import Session

from followups import cadence as cad
from followups import clock
from followups import notification_kinds as kinds
from followups.chains import buckets, queries
from followups.chains.planner import Planner
from followups.errors import Conflict, Invalid, NotFound
from followups.models import (
    AnyUser,
    Contact,
    FollowUp,
    FollowupType,
    Job,
    Notification,
    User,
    new_id,
)
from followups.owned import get_owned, parse_id, require_job_or_contact

CANCELLED_BY_USER = "Cancelled by user"


def list_due(
    session: Session, user: User, bucket: str, *, now: datetime, limit: int
) -> Sequence[FollowUp]:
    stmt = queries.due_bucket(user.id, bucket, now, user.zone, limit)
    return session.scalars(stmt).all()


def list_due_rows(
    session: Session, user: AnyUser, bucket: str, *, now: datetime, limit: int
) -> Sequence[Row]:
    """`list_due` as rows of the list's columns (queries.LIST_COLUMNS: the follow-up's, its
    job's, its contact's), for the API: the same statement shape (queries.due_list), the
    same follow-ups in the same order, without an ORM object per row."""
    # On the session's connection (its transaction), as Core rows: no ORM loading step.
    return session.connection().execute(*due_rows_query(user, bucket, now=now, limit=limit)).all()


def due_rows_query(user: AnyUser, bucket: str, *, now: datetime, limit: int) -> tuple[Select, dict]:
    """The list's statement (queries.due_bucket_rows) and its parameters: what `list_due_rows`
    runs in a thread and followups.api.hot on the event loop."""
    lower, upper = buckets.bounds(bucket, now, user.zone)
    params = {"user_id": user.id, "lower": lower, "upper": upper, "limit": limit}
    return queries.due_bucket_rows(bucket), params


def get_followup(session: Session, user: User, followup_id) -> FollowUp:
    """A follow-up in any state, with its job and contact (archived or not)."""
    fid = parse_id(followup_id, "Follow-up")
    row = session.scalar(queries.followup_by_id(), {"fid": fid, "user_id": user.id})
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
        why=cad.manual_why(due_at, user.zone, today=clock.local_date(now, user.zone)),
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


def _drop_reminder(session: Session, user_id: uuid.UUID, fid: uuid.UUID, now: datetime) -> None:
    session.connection().execute(queries.drop_reminder(), {"fid": fid, "uid": user_id, "now": now})


def _open_update(user: AnyUser, fid: uuid.UUID):
    return queries.open_followup(user.id, fid)


def update_followup(
    session: Session, user: User, followup_id, *, changes: dict, now: datetime
) -> FollowUp:
    fid = parse_id(followup_id, "Follow-up")
    values: dict = {"updated_at": now}
    if "note" in changes:
        values["note"] = changes["note"]
    if "due_at" in changes:
        due_at = changes["due_at"]
        if not clock.is_ahead(due_at, now):  # snoozing or rescheduling: only forward in time
            raise Invalid.field("dueAt", "must be in the future: a follow-up moves to a time still ahead")
        why = f"Rescheduled by you to {clock.instant_day_label(due_at, user.zone, clock.local_date(now, user.zone))}"
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
    """The values that move an open follow-up to a new date (a new revision, new reminder)."""
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


@dataclass(frozen=True)
class Sent:
    """A follow-up marked sent and what that made next: the chain's next attempt, or the
    dormant check after its last attempt, or None (a thank-you note, an appointment)."""

    followup: FollowUp
    next: FollowUp | Notification | None

    @property
    def next_attempt(self) -> FollowUp | None:
        return self.next if isinstance(self.next, FollowUp) else None

    @property
    def dormant_check(self) -> Notification | None:
        return self.next if isinstance(self.next, Notification) else None


def mark_sent(session: Session, user: User, followup_id, *, note: str | None, now: datetime) -> Sent:
    """Mark sent (`mark_sent_answer`), with the sent follow-up and what it made next as
    ORM objects: the use case of the pages, the terminal and the mailbox."""
    answer = mark_sent_answer(session, user, followup_id, note=note, now=now)
    return sent_of(session, user, get_followup(session, user, answer.id))


def sent_of(session: Session, user: User, sent: FollowUp) -> Sent:
    """`sent` with what its send made: its chain's next attempt (with its job and contact),
    or the chain's dormant check (also for Send now, and a page after its redirect)."""
    following = session.scalar(
        select(FollowUp.id).where(
            FollowUp.user_id == user.id,
            FollowUp.chain_id == sent.chain_id,
            FollowUp.attempt_no == sent.attempt_no + 1,
        )
    )
    if following is not None:
        return Sent(sent, get_followup(session, user, following))
    return Sent(sent, session.scalar(
        select(Notification).where(
            Notification.user_id == user.id,
            Notification.kind == kinds.DORMANT_CANDIDATE.name,
            Notification.chain_id == sent.chain_id,
        )
    ))


# Built once: a statement made per call has its cache key computed on each execution.
_INSERT_FOLLOWUP = insert(FollowUp)
_INSERT_NOTIFICATION = insert(Notification)


def mark_sent_answer(
    session: Session, user: AnyUser, followup_id, *, note: str | None, now: datetime
) -> Row:
    """Mark sent and make what follows, once: the next attempt or the dormant check. Returns
    the sent follow-up as a row of `queries.sent_answer_columns`, read by name (no ORM
    object: the hottest write), what the API answers.

    The conditional UPDATE is the gate: of concurrent calls exactly one matches the
    open row (PostgreSQL re-checks the WHERE after the row lock; SQLite serialises
    writers with BEGIN IMMEDIATE); the others see zero rows and answer 409.
    """
    fid = parse_id(followup_id, "Follow-up")
    sent = _send(session, user, fid, note, now)
    if sent.reminded_at is not None:  # its reminder, if still unseen, is obsolete
        _drop_reminder(session, user.id, fid, now)
    planner = Planner(session, user)
    follows = what_follows(planner, sent, now)
    if follows is not None:
        session.connection().execute(*follows)
    push_after_touch(session, planner, sent.contact_id, now, keep_chain=sent.chain_id, now=now)
    return sent


def what_follows(planner: Planner, sent: Row, now: datetime) -> tuple[Insert, dict] | None:
    """The row that a send (`sent`, of `queries.sent_answer_columns`) makes, as an INSERT and
    its values (every column given): the chain's next attempt or its dormant check; None
    after a thank-you note or an appointment. What mark-sent writes, in a thread
    (`mark_sent_answer`) and on the event loop (followups.api.hot)."""
    if sent.type != FollowupType.STANDARD.value:
        return None
    user = planner.user
    step = planner.after_sent(job_id=sent.job_id, contact_id=sent.contact_id, attempt_no=sent.attempt_no, now=now)
    shared = {
        "id": new_id(), "user_id": user.id, "job_id": sent.job_id, "contact_id": sent.contact_id,
        "due_at": step.due_at, "created_at": now,
    }
    if step.kind == "attempt":
        return _INSERT_FOLLOWUP, {
            **shared, "chain_id": sent.chain_id, "attempt_no": step.attempt_no,
            "type": FollowupType.STANDARD.value, "outreach_id": sent.outreach_id,
            "remind_at": clock.start_of_local_day(step.due_at, user.zone), "why": step.why,
            "due_set_by_user": False, "revision": 0, "updated_at": now,
        }
    return _INSERT_NOTIFICATION, {
        **shared, "kind": kinds.DORMANT_CANDIDATE.name, "dedupe_key": str(sent.chain_id),
        "message": step.why, "followup_id": sent.id, "chain_id": sent.chain_id,
    }


def _send(session: Session, user: AnyUser, fid: uuid.UUID, note: str | None, now: datetime) -> Row:
    """The gate and the answer: the sent follow-up's row (`queries.sent_answer_columns`),
    or 404/409. One statement on PostgreSQL (queries.send_and_answer: the round trip saved
    is a measurable share of the hottest write, bench/RESULTS.md); SQLite, which cannot
    UPDATE inside a WITH, runs the same gate and then the same read, in-process and cheap."""
    conn = session.connection()
    params = {"fid": fid, "uid": user.id, "now": now, "new_note": note}
    if conn.dialect.name == "postgresql":
        sent = conn.execute(queries.send_and_answer(), params).one_or_none()
    elif conn.execute(queries.send(), params).rowcount == 1:
        sent = conn.execute(queries.sent_answer(), params).one()
    else:
        sent = None
    if sent is None:
        _explain_failure(session, user, fid, "sent")
    return sent


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
    session.execute(
        queries.cancel_dormant_checks(user_id, where, now),
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
        queries.cancel_pending_reminders(user_id, matched), {"now": now},
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
