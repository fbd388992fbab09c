"""The thisWeek bucket (a view added after the seed's three): today and the next six local
days, on the API, the Today page and the CLI alike."""

from __future__ import annotations

import re

from helpers import bucket_ids, followup, job

# NOW is Thu 5 Mar 2026 15:00Z; in New York (UTC-5) that is 10:00 on Thu 5 Mar.
DUES = {
    "yesterday": "2026-03-04T20:00:00Z",
    "today": "2026-03-05T20:00:00Z",
    "wednesday": "2026-03-11T20:00:00Z",  # the 6th day after today, in New York
    "thursday": "2026-03-12T05:30:00Z",  # 00:30 on Thu 12 Mar in New York: the 7th day
}


def test_this_week_is_today_and_the_next_six_local_days(api):
    headers = api.signup("week@example.com", "America/New_York")
    j = job(api, headers)
    made = {name: followup(api, headers, due, jobId=j["id"])["id"] for name, due in DUES.items()}
    assert bucket_ids(api, headers, "thisWeek") == [made["today"], made["wednesday"]]
    # The seed's three are unchanged: still a partition.
    assert bucket_ids(api, headers, "overdue") == [made["yesterday"]]
    assert bucket_ids(api, headers, "today") == [made["today"]]
    assert bucket_ids(api, headers, "upcoming") == [made["wednesday"], made["thursday"]]
    # Notification scopes stay the seed's three.
    api.call("GET", "/notifications?scope=thisWeek", headers, 422)


def test_the_published_buckets_keep_the_seeds_order_then_this_week(api):
    spec = api.call("GET", "/openapi.json", None, 200).json()
    due = next(p for p in spec["paths"]["/followups"]["get"]["parameters"] if p["name"] == "due")
    assert due["schema"]["enum"] == ["today", "overdue", "upcoming", "thisWeek"]
    assert due["schema"]["default"] == "today"


def test_the_today_page_has_a_this_week_tab(web):
    web.register()
    r = web.post(
        "/app/record",
        {"channel": "EMAIL", "date": "2026-03-05", "new_company": "Acme", "new_role": "Backend engineer"},
        page="/app/record",
    )
    assert r.status_code == 303, r.text
    text = web.client.get("/app/today?tab=thisWeek").text
    assert re.search(r'data-testid="count-thisWeek">1<', text)
    assert 'aria-current="page"' in text and ">\n      This week <span" in text
    # Grouped by day: the follow-up made by the outreach is due Sun 8 Mar (in 3 days).
    assert re.search(r'<h2 class="day">Sun 8 Mar \(in 3 days\)</h2>', text), text
