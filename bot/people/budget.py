"""Token budgets: how much a person may spend per day and per month, and how much of it
they have spent.

Rules:
- A person's own quota wins; without one, the deployment's default
  (CLAWLING_DAILY_TOKENS / CLAWLING_MONTHLY_TOKENS) applies to members, while owners
  are unlimited. 0 means unlimited.
- Days and months are the person's own (their /timezone, else CLAWLING_TIMEZONE), so
  "resets at midnight" is their midnight.
- Spent = prompt + completion tokens of every model call recorded for them, estimated
  ones included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from memory.people import Person
from memory.usage import UsageStore


@dataclass(frozen=True)
class Periods:
    """The person's current day and month, as UTC-comparable instants."""

    day_start: datetime
    next_day: datetime
    month_start: datetime
    next_month: datetime


def periods(now: datetime, zone: str) -> Periods:
    local = now.astimezone(ZoneInfo(zone))
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    month = day.replace(day=1)
    # Midnight plus a day can land off midnight across a DST change; normalise again.
    next_day = (day + timedelta(days=1, hours=2)).replace(hour=0)
    next_month = (month + timedelta(days=32)).replace(day=1)
    return Periods(day, next_day, month, next_month)


def day_bounds(now: datetime, zone: str, count: int) -> list[datetime]:
    """The midnights around the last `count` days, today included, where the person lives:
    count + 1 instants, oldest first (the last is tonight's midnight). Built from dates,
    so a day across a DST change is 23 or 25 hours long, as it is there."""
    where = ZoneInfo(zone)
    today = now.astimezone(where).date()
    return [
        datetime.combine(today - timedelta(days=back), time(), where)
        for back in range(count - 1, -2, -1)
    ]


@dataclass(frozen=True)
class Limits:
    daily: int  # 0: unlimited
    monthly: int


@dataclass(frozen=True)
class Spending:
    limits: Limits
    periods: Periods
    tokens_today: int
    tokens_month: int


class Budgets:
    def __init__(self, usage: UsageStore, *, daily: int, monthly: int, timezone: str) -> None:
        self.usage = usage
        self._daily = daily
        self._monthly = monthly
        self._timezone = timezone

    def limits(self, person: Person) -> Limits:
        default = 0 if person.is_owner else None
        daily = person.daily_tokens if person.daily_tokens is not None else default
        monthly = person.monthly_tokens if person.monthly_tokens is not None else default
        return Limits(
            self._daily if daily is None else daily,
            self._monthly if monthly is None else monthly,
        )

    def periods(self, person: Person, now: datetime) -> Periods:
        return periods(now, person.timezone or self._timezone)

    def day_bounds(self, person: Person, now: datetime, count: int) -> list[datetime]:
        return day_bounds(now, person.timezone or self._timezone, count)

    async def spending(self, person: Person, now: datetime) -> Spending:
        span = self.periods(person, now)
        return Spending(
            self.limits(person),
            span,
            await self.usage.tokens_since(person.id, span.day_start),
            await self.usage.tokens_since(person.id, span.month_start),
        )
