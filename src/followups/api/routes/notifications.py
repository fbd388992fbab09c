from __future__ import annotations

from fastapi import APIRouter

from followups.api.deps import CurrentUser, Now, SessionDep
from followups.api.schemas import NotificationOut, error_responses
from followups.chains import buckets
from followups.models import Notification
from followups.notifications import service as notifications

router = APIRouter(tags=["notifications"], responses=error_responses(401, 404, 422, 503))


@router.get("/notifications", response_model=list[NotificationOut])
def list_notifications(
    user: CurrentUser,
    session: SessionDep,
    now: Now,
    scope: buckets.Scope = buckets.DEFAULT,
    seen: bool = False,
) -> list[Notification]:
    return list(notifications.list_notifications(session, user, scope=scope, seen=seen, now=now))


@router.patch("/notifications/{notification_id}/send", response_model=NotificationOut)
def mark_seen(notification_id: str, user: CurrentUser, session: SessionDep, now: Now) -> Notification:
    return notifications.mark_seen(session, user, notification_id, now=now)
