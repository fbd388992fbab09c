"""The reminder sweep: one followup_due notification per due follow-up, however often it runs.

Each batch reads its due follow-ups across users without a lock, then, for the users of
each shard (one group on a database that is not sharded: followups.notifications.claim),
takes their rows (followups.replica), claims (marks reminded_at, returns ids) and runs
one INSERT ... SELECT that builds the notifications inside the database, so no row data
travels to Python and back.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from followups.chains.queries import is_open, with_job_and_contact
from followups.db import UTCDateTime
from followups.models import Contact, FollowUp, Job, Notification
from followups.notification_kinds import FOLLOWUP_DUE
from followups.notifications.claim import claim, claim_each, due_by_shard
from followups.owned import one_of, one_shard


def due_unreminded() -> Select:
    """Visible open follow-ups (their owner and id) whose due day has begun in their
    owner's zone and that have no reminder yet. remind_at (start of the local due day)
    makes this one index range, whatever the zones: the cost follows the due rows, not all
    rows."""
    return with_job_and_contact(select(FollowUp.user_id, FollowUp.id)).where(
        is_open(),
        FollowUp.reminded_at.is_(None),
        Job.archived_at.is_(None),
        Contact.archived_at.is_(None),
    )


def reminder_message() -> ColumnElement[str]:
    """"Follow up with <contact> about <company> – <role> (attempt N)", or "Follow up on
    <company> – <role> (attempt N)" without a contact, "... on <contact> ..." without a job."""
    attempt = " (attempt " + cast(FollowUp.attempt_no, String) + ")"
    about = Job.company + " – " + Job.role
    return case(
        (
            and_(Job.id.is_not(None), Contact.id.is_not(None)),
            "Follow up with " + Contact.name + " about " + about + attempt,
        ),
        (Job.id.is_not(None), "Follow up on " + about + attempt),
        (Contact.id.is_not(None), "Follow up on " + Contact.name + attempt),
        else_="Follow up on your outreach" + attempt,
    )


def sweep_reminders(session: Session, *, now: datetime, batch: int) -> int:
    candidates = (
        due_unreminded().where(FollowUp.remind_at <= now).order_by(FollowUp.remind_at).limit(batch)
    )
    still = and_(is_open(), FollowUp.reminded_at.is_(None))
    postgres = session.get_bind().dialect.name == "postgresql"
    insert = (postgresql if postgres else sqlite).insert(Notification.__table__)
    new_id = func.gen_random_uuid() if postgres else func.lower(func.hex(func.randomblob(16)))

    def remind(users: list) -> list:
        claimed = claim(session, FollowUp, candidates, users, still, {"reminded_at": now}, (FollowUp.id,))
        if claimed:
            reminders = _reminders(session, users, [r.id for r in claimed], new_id, now)
            session.execute(
                one_shard(insert.from_select(NOTIFICATION_COLUMNS, reminders))
                .on_conflict_do_nothing(index_elements=["user_id", "kind", "dedupe_key"])
            )
        return claimed

    return len(claim_each(session, due_by_shard(session, candidates), remind, seen_by_owner=True))


NOTIFICATION_COLUMNS = ["id", "user_id", "kind", "dedupe_key", "message", "due_at", "job_id", "contact_id",
                        "followup_id", "chain_id", "created_at"]


def _reminders(session: Session, users: list, ids: list, new_id, now: datetime) -> Select:
    """The reminders of the follow-ups `ids` of `users`, as `NOTIFICATION_COLUMNS`."""
    return with_job_and_contact(
        select(
            new_id,
            FollowUp.user_id,
            literal(FOLLOWUP_DUE.name),
            # A rescheduled follow-up (new revision) earns a reminder of its own.
            cast(FollowUp.id, String) + ":" + cast(FollowUp.revision, String),
            reminder_message(),
            FollowUp.due_at,
            FollowUp.job_id,
            FollowUp.contact_id,
            FollowUp.id,
            FollowUp.chain_id,
            literal(now, UTCDateTime()),
        )
    ).where(one_of(session, FollowUp.user_id, users, filter_only=True), one_of(session, FollowUp.id, ids))
