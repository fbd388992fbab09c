"""Lock order on PostgreSQL: every write of a user locks the user's row first.

A time-zone change (PATCH /me) rewrites the remind_at of every open follow-up; a mark-sent
locks one follow-up. When the user's write_seq was bumped at the end of a request, the
first held the user's row and waited for a follow-up, the second held that follow-up and
waited for the user's row: PostgreSQL aborted one of them (a deadlock, answered 503)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from helpers import bucket_ids, job, outreach

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])

OPEN = 6  # open follow-ups, each sent by its own racer while others change the time zone
ZONE_CHANGERS = 6
ROUNDS = 4
ZONES = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC"]


def one(url: str, headers: dict, barrier: threading.Barrier, task: tuple[str, str]) -> tuple[str, int, str]:
    """("zone", a time zone) changes it with PATCH /me; ("send", an id) marks that follow-up sent."""
    kind, arg = task
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        barrier.wait()
        if kind == "zone":
            r = client.patch("/me", json={"timezone": arg})
        else:
            r = client.patch(f"/followups/{arg}/send", json={})
        return kind, r.status_code, r.text


def test_time_zone_changes_racing_mark_sent_all_succeed(api, live_url):
    ada = api.signup("ada@example.com", "UTC")
    codes: list[tuple[str, int, str]] = []
    for round_no in range(ROUNDS):
        open_ids = [
            outreach(api, ada, jobId=job(api, ada, company=f"Company {round_no}.{i}")["id"])["followup"]["id"]
            for i in range(OPEN)
        ]
        # Every open follow-up, of this round and the earlier ones: PATCH /me rewrites them all.
        assert set(open_ids) <= set(bucket_ids(api, ada, "upcoming"))
        barrier = threading.Barrier(OPEN + ZONE_CHANGERS)
        tasks = [("send", fid) for fid in open_ids] + [("zone", ZONES[i % len(ZONES)]) for i in range(ZONE_CHANGERS)]
        with ThreadPoolExecutor(len(tasks)) as pool:
            codes += list(pool.map(lambda task, b=barrier: one(live_url, ada, b, task), tasks))
    failed = [c for c in codes if c[1] != 200]
    assert not failed, failed
    assert len(codes) == ROUNDS * (OPEN + ZONE_CHANGERS)
