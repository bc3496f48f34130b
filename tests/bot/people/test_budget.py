"""Budget periods and limits: the person's own day and month, owners unlimited by default."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.people.budget import Budgets, Limits, day_bounds, periods
from memory.people import MEMBER, OWNER, Person


def _person(role: str, daily: int | None = None, monthly: int | None = None) -> Person:
    return Person(1, "Ann", role, "active", (), daily, monthly, None, datetime.now(UTC))


def test_a_day_is_the_persons_own_day() -> None:
    now = datetime(2026, 12, 5, 23, 30, tzinfo=UTC)
    span = periods(now, "Asia/Tokyo")  # already 6 December there
    assert span.day_start == datetime(2026, 12, 5, 15, 0, tzinfo=UTC)
    assert span.next_day == datetime(2026, 12, 6, 15, 0, tzinfo=UTC)
    assert span.month_start == datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
    assert span.next_month == datetime(2026, 12, 31, 15, 0, tzinfo=UTC)


def test_the_next_day_is_midnight_across_a_clock_change() -> None:
    span = periods(datetime(2026, 3, 29, 12, 0, tzinfo=UTC), "Europe/Berlin")
    assert span.next_day.astimezone(UTC) == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)
    assert span.next_day.hour == 0


def test_december_rolls_over_into_january() -> None:
    span = periods(datetime(2026, 12, 20, tzinfo=UTC), "UTC")
    assert span.next_month == datetime(2027, 1, 1, tzinfo=UTC)


def test_members_get_the_default_and_owners_are_unlimited_unless_set() -> None:
    budgets = Budgets(None, daily=1000, monthly=20000, timezone="UTC")  # type: ignore[arg-type]
    assert budgets.limits(_person(MEMBER)) == Limits(1000, 20000)
    assert budgets.limits(_person(OWNER)) == Limits(0, 0)
    assert budgets.limits(_person(OWNER, daily=50)) == Limits(50, 0)
    assert budgets.limits(_person(MEMBER, daily=0, monthly=7)) == Limits(0, 7)


def test_day_bounds_are_the_persons_midnights_across_a_clock_change() -> None:
    # Berlin leaves summer time on 25 October 2026: that day has 25 hours.
    bounds = day_bounds(datetime(2026, 10, 26, 9, 0, tzinfo=UTC), "Europe/Berlin", 3)
    assert [b.isoformat() for b in bounds] == [
        "2026-10-24T00:00:00+02:00",
        "2026-10-25T00:00:00+02:00",
        "2026-10-26T00:00:00+01:00",
        "2026-10-27T00:00:00+01:00",
    ]
    assert (bounds[2].astimezone(UTC) - bounds[1].astimezone(UTC)).total_seconds() == 25 * 3600
    # The last bound is the start of tomorrow: today is the last day shown.
    assert bounds[-1] == periods(datetime(2026, 10, 26, 9, 0, tzinfo=UTC), "Europe/Berlin").next_day
