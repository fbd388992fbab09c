"""The reminder sweep: one followup_due notification per due follow-up, however often it runs."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Select, and_, select
from sqlalchemy.orm import Session

from followups.followups.queries import is_open, with_job_and_contact
from followups.models import Contact, FollowUp, Job, Notification, NotificationKind
from followups.notifications.claim import claim, insert_ignoring_duplicates


def due_unreminded() -> Select:
    """Visible open follow-ups whose due day has begun in their owner's zone and that
    have no reminder yet. remind_at (start of the local due day) makes this one index
    range, whatever the zones: the cost follows the due rows, not all rows."""
    return with_job_and_contact(select(FollowUp.id)).where(
        is_open(),
        FollowUp.reminded_at.is_(None),
        Job.archived_at.is_(None),
        Contact.archived_at.is_(None),
    )


def reminder_text(attempt_no: int, company: str | None, role: str | None, contact: str | None) -> str:
    about = " – ".join(p for p in (company, role) if p)
    if contact and about:
        return f"Follow up with {contact} about {about} (attempt {attempt_no})"
    return f"Follow up on {about or contact or 'your outreach'} (attempt {attempt_no})"


def sweep_reminders(session: Session, *, now: datetime, batch: int) -> int:
    candidates = (
        due_unreminded().where(FollowUp.remind_at <= now).order_by(FollowUp.remind_at).limit(batch)
    )
    claimed = claim(
        session,
        FollowUp,
        candidates,
        and_(is_open(), FollowUp.reminded_at.is_(None)),
        {"reminded_at": now},
        (
            FollowUp.id, FollowUp.user_id, FollowUp.due_at, FollowUp.revision, FollowUp.attempt_no,
            FollowUp.job_id, FollowUp.contact_id, FollowUp.chain_id,
        ),
    )
    if not claimed:
        return 0
    jobs = _names(session, Job, (Job.company, Job.role), {r.job_id for r in claimed})
    contacts = _names(session, Contact, (Contact.name,), {r.contact_id for r in claimed})
    rows = []
    for r in claimed:
        company, role = jobs.get(r.job_id, (None, None))
        (contact,) = contacts.get(r.contact_id, (None,))
        rows.append(
            {
                "id": uuid.uuid4(),
                "user_id": r.user_id,
                "kind": NotificationKind.FOLLOWUP_DUE.value,
                # A rescheduled follow-up (new revision) earns a reminder of its own.
                "dedupe_key": f"{r.id}:{r.revision}",
                "message": reminder_text(r.attempt_no, company, role, contact),
                "due_at": r.due_at,
                "job_id": r.job_id,
                "contact_id": r.contact_id,
                "followup_id": r.id,
                "chain_id": r.chain_id,
                "created_at": now,
            }
        )
    insert_ignoring_duplicates(session, Notification, rows, ["user_id", "kind", "dedupe_key"])
    return len(claimed)


def _names(session: Session, model, columns, ids: set) -> dict:
    ids.discard(None)
    if not ids:
        return {}
    return {row[0]: tuple(row[1:]) for row in session.execute(select(model.id, *columns).where(model.id.in_(ids)))}
