"""Days typed on the command line (followups.commands.when): pure, at a fixed now."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from followups.commands.when import calendar_day, relative_day, sent_at, snooze_target

FRIDAY = date(2026, 12, 4)
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)  # Friday 22:00 in Berlin


@pytest.mark.parametrize(
    ("text", "past", "day"),
    [
        ("today", True, FRIDAY),
        ("Yesterday", True, date(2026, 12, 3)),
        ("tomorrow", False, date(2026, 12, 5)),
        ("3 days ago", True, date(2026, 12, 1)),
        ("a week ago", True, date(2026, 11, 27)),
        ("2 weeks ago", True, date(2026, 11, 20)),
        ("in 3 days", False, date(2026, 12, 7)),
        ("in  two weeks", False, date(2026, 12, 18)),
        ("monday", True, date(2026, 11, 30)),  # when sent: the last Monday
        ("monday", False, date(2026, 12, 7)),  # when due: the next one
        ("friday", True, date(2026, 11, 27)),  # never today
        ("friday", False, date(2026, 12, 11)),
        ("last fri", False, date(2026, 11, 27)),
        ("next monday", True, date(2026, 12, 7)),
        ("2026-12-01", True, None),
        ("someday", True, None),
    ],
)
def test_words_for_days_near_today(text, past, day):
    assert relative_day(text, FRIDAY, past=past) == day


def test_sent_yesterday_is_nine_local_and_today_is_now():
    assert sent_at("yesterday", NOW, BERLIN) == datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    assert sent_at("today", NOW, BERLIN) == NOW
    assert sent_at("2026-03-05", NOW, BERLIN) == datetime(2026, 3, 5, 8, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="yesterday"):
        sent_at("the other day", NOW, BERLIN)


def test_snooze_and_holiday_days():
    assert snooze_target("in 3 days", NOW, BERLIN) == datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    assert snooze_target("2026-12-24T14:00", NOW, BERLIN) == datetime(2026, 12, 24, 13, 0, tzinfo=UTC)
    assert calendar_day("tomorrow", FRIDAY) == date(2026, 12, 5)
    assert calendar_day("2026-12-24", FRIDAY) == date(2026, 12, 24)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        calendar_day("24/12", FRIDAY)
