"""Property: every visible open follow-up is in exactly one bucket, for any zone and any now,
and the bucket is the one its local due date says."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert

from followups import clock
from followups.chains.buckets import PARTITION as BUCKETS
from followups.chains.queries import due_bucket
from followups.models import FollowUp, User

ZONES = ["UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kolkata", "America/New_York",
         "Europe/Berlin", "Australia/Lord_Howe", "America/Santiago"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    zone=st.sampled_from(ZONES),
    now=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
    offsets=st.lists(st.integers(min_value=-5 * 24 * 60, max_value=5 * 24 * 60), min_size=1, max_size=25),
)
def test_each_open_followup_is_in_exactly_one_bucket(db, zone, now, offsets):
    tz = ZoneInfo(zone)
    uid = uuid.uuid4()
    with db.transaction() as s:
        s.execute(delete(FollowUp))
        s.execute(delete(User))
        s.execute(insert(User), [dict(
            id=uid, email="p@example.com", email_key="p@example.com", password_hash="x", timezone=zone,
            followup_delays_days=[3, 3], dormant_after_days=7, skip_weekends=False, digest_hour=8,
            digest_email=False, created_at=now)])
        rows = []
        for minutes in offsets:
            fid = uuid.uuid4()
            due = now + timedelta(minutes=minutes)
            rows.append(dict(id=fid, user_id=uid, chain_id=fid, attempt_no=1, type="STANDARD", due_at=due,
                             remind_at=clock.start_of_local_day(due, tz), revision=0, created_at=now,
                             updated_at=now))
        s.execute(insert(FollowUp), rows)
    with db.transaction(write=False) as s:
        found = {b: {f.id for f in s.scalars(due_bucket(uid, b, now, tz))} for b in BUCKETS}
    today = now.astimezone(tz).date()
    for row in rows:
        local_day = row["due_at"].astimezone(tz).date()
        expected = "overdue" if local_day < today else "today" if local_day == today else "upcoming"
        assert [b for b in BUCKETS if row["id"] in found[b]] == [expected], (row["due_at"], zone, now)
