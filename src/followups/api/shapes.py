"""The API's JSON shapes for the other edges: the CLI's `--json` and the webhook bodies are
written through the API's response models (followups.api.schemas), so they cannot drift
from the contract (tests/test_json_shapes.py holds them to the API's own answers)."""

from __future__ import annotations

from pydantic import BaseModel

from followups.api.schemas import ContactOut, FollowupOut, JobOut, NotificationOut, OutreachOut
from followups.models import Contact, FollowUp, Job, Notification, Outreach


def as_written(model: type[BaseModel], value, **dump) -> dict:
    """`value` as the API writes it in `model`'s shape (camelCase, instants in UTC with Z)."""
    return model.model_validate(value).model_dump(mode="json", by_alias=True, **dump)


def job_json(job: Job) -> dict:
    return as_written(JobOut, job)


def contact_json(contact: Contact) -> dict:
    return as_written(ContactOut, contact)


def outreach_json(outreach: Outreach) -> dict:
    return as_written(OutreachOut, outreach)


def followup_json(followup: FollowUp) -> dict:
    """As GET /followups answers, with the embedded job and contact (loaded by the caller)."""
    return as_written(FollowupOut, followup)


def notification_event(notification: Notification) -> dict:
    """A webhook's body: the notification as GET /notifications writes it (less `sentAt`:
    it is sent before anyone saw it), and the kind's `payload` (a digest's sections)."""
    body = as_written(NotificationOut, notification, exclude={"sent_at"})
    return {**body, "payload": notification.payload}
