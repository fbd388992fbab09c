"""The snooze presets respect the user's quiet days and are always ahead of now."""

from __future__ import annotations

from datetime import UTC, date, datetime

from followups import cadence as cad
from followups import clock

BERLIN = clock.zone("Europe/Berlin")
FRIDAY_EVENING = datetime(2026, 3, 6, 19, 30, tzinfo=UTC)  # Fri 6 Mar, 20:30 in Berlin


def local(instant: datetime) -> tuple[date, int]:
    at = clock.to_local(instant, BERLIN)
    return at.date(), at.hour


def test_tomorrow_from_a_friday_is_saturday_unless_weekends_are_skipped():
    plain = cad.snooze_presets(FRIDAY_EVENING, BERLIN, cad.DEFAULT)
    assert local(plain["tomorrow"]) == (date(2026, 3, 7), 9)
    assert local(plain["monday"]) == (date(2026, 3, 9), 9)
    quiet = cad.Cadence(skip_weekends=True)
    skipped = cad.snooze_presets(FRIDAY_EVENING, BERLIN, quiet)
    assert local(skipped["tomorrow"]) == (date(2026, 3, 9), 9)


def test_holidays_move_both_presets_on():
    quiet = cad.Cadence(skip_weekends=True, holidays=frozenset({date(2026, 3, 9), date(2026, 3, 10)}))
    presets = cad.snooze_presets(FRIDAY_EVENING, BERLIN, quiet)
    assert local(presets["tomorrow"]) == (date(2026, 3, 11), 9)
    assert local(presets["monday"]) == (date(2026, 3, 11), 9)


def test_next_monday_from_a_monday_is_a_week_on_and_presets_are_never_past():
    monday_late = datetime(2026, 3, 9, 22, 0, tzinfo=UTC)
    presets = cad.snooze_presets(monday_late, BERLIN, cad.DEFAULT)
    assert local(presets["monday"]) == (date(2026, 3, 16), 9)
    assert all(at > monday_late for at in presets.values())


def test_a_cadence_date_in_the_next_year_names_its_year():
    step = cad.first_attempt(datetime(2026, 12, 30, 10, 0, tzinfo=UTC), clock.zone("UTC"))
    assert step.why == "Attempt 1: outreach sent Wed 30 Dec + 3 days = Sat 2 Jan 2027"
