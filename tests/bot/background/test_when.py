"""Reading times: ISO-8601, natural language, cron and "every …", and refusing bad ones."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.background.when import WhenError, fire_times_between, parse_when, zone_named

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 29, 6, 30, tzinfo=UTC)  # 07:30 in Berlin


@pytest.mark.parametrize(
    ("text", "expected_utc"),
    [
        ("in 10 minutes", "2026-11-29T06:40:00+00:00"),
        ("tomorrow at 9", "2026-11-30T08:00:00+00:00"),
        ("tomorrow at 9:30", "2026-11-30T08:30:00+00:00"),
        ("2026-12-01T09:00", "2026-12-01T08:00:00+00:00"),
        ("2026-12-01 09:00", "2026-12-01T08:00:00+00:00"),
        ("2026-12-01T09:00:00+00:00", "2026-12-01T09:00:00+00:00"),
    ],
)
def test_one_off_times_in_the_persons_zone(text: str, expected_utc: str) -> None:
    schedule = parse_when(text, BERLIN, NOW)
    assert schedule.once and schedule.spec == {"at": expected_utc}


def test_recurring_forms() -> None:
    weekdays = parse_when("every weekday at 8", BERLIN, NOW)
    assert weekdays.spec == {"cron": "0 8 * * mon-fri", "tz": "Europe/Berlin"}
    assert parse_when("every 2 hours", BERLIN, NOW).spec["every"] == 7200
    cron = parse_when("0 8 * * 1-5", BERLIN, NOW)
    first = cron.trigger().get_next_fire_time(None, NOW)
    assert first is not None and first.astimezone(BERLIN).hour == 8
    evening = parse_when("every monday at 5pm", BERLIN, NOW)
    assert evening.spec["cron"] == "0 17 * * mon"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("yesterday", "is in the past"),
        ("2026-11-29T05:00:00Z", "is in the past"),
        ("2026-13-01", "is not a real date"),
        ("tomorrow at 25:00", "25:00 is not a time of day"),
        ("Feb 30 2027", "could not read"),
        ("whenever you like", "could not read"),
        ("in 100 years", "more than five years ahead"),
        ("0 0 30 2 *", "never fires"),
        ("61 * * * *", "not a valid cron line"),
        ("every 10 seconds", "shortest interval is one minute"),
        ("* * * * * *", "could not read"),
        ("", "no time given"),
        ("x" * 300, "too long"),
    ],
)
def test_bad_times_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(WhenError, match=message):
        parse_when(text, BERLIN, NOW)


def test_unknown_time_zone_says_what_works() -> None:
    with pytest.raises(WhenError, match="use an IANA name"):
        zone_named("Mars/Olympus")


def test_fire_times_between_lists_missed_runs() -> None:
    spec = {"every": 60, "start": "2026-11-29T06:00:00+00:00"}
    times = fire_times_between(spec, datetime(2026, 11, 29, 6, 0, tzinfo=UTC), NOW)
    assert len(times) == 31 and times[-1] == NOW
