"""A person's usage as the dashboard shows it (their own Usage page, and each person on
the owners' People page): tokens per day for the last DAYS days of their own calendar,
as a chart and as a table, what is left of their budgets and when each resets, and, with
CLAWLING_MODEL_PRICES, what it cost.

The figures come from the same functions as /usage and /quota (bot/people/budget.py,
bot/people/quota.py, bot/people/cost.py), so the page and the chat never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from bot.dashboard.charts import Column, Series, stacked_bars
from bot.dashboard.parts import Parts
from bot.people.cost import Costs, dollars, person_costs
from bot.people.quota import resets
from memory.people import Person
from memory.usage import DayUsage

DAYS = 30
SERIES = (
    Series("cached", "Cached input"),
    Series("uncached", "Uncached input"),
    Series("output", "Output"),
)


@dataclass(frozen=True)
class Allowance:
    """One budget: spent, the limit (0: none) and when it starts again."""

    label: str
    used: int
    limit: int
    resets: str

    @property
    def left(self) -> int:
        return max(self.limit - self.used, 0)

    @property
    def percent(self) -> int:
        """How much is spent, 0–100, for the meter."""
        return min(round(self.used * 100 / self.limit), 100) if self.limit else 0


@dataclass(frozen=True)
class Day:
    label: str  # "5 Dec"
    name: str  # "Sat 5 Dec"
    usage: DayUsage


@dataclass(frozen=True)
class UsageView:
    person: Person
    zone: str
    days: tuple[Day, ...]
    chart: Markup
    allowances: tuple[Allowance, ...]
    cost_today: str | None  # None: no prices configured
    cost_month: str | None

    @property
    def totals(self) -> tuple[int, int, int]:
        return totals(self.days)


def totals(days: tuple[Day, ...]) -> tuple[int, int, int]:
    """Cached input, uncached input and output over the days."""
    used = [day.usage for day in days]
    return (
        sum(u.cached_tokens for u in used),
        sum(u.uncached_tokens for u in used),
        sum(u.completion_tokens for u in used),
    )


async def usage_view(parts: Parts, person: Person, *, ident: str = "usage") -> UsageView:
    """Everything the usage section shows for `person`, as of now."""
    now = parts.now()
    budgets = parts.budgets
    zone = person.timezone or parts.settings.core.timezone
    bounds = budgets.day_bounds(person, now, DAYS)
    days = tuple(
        Day(
            f"{day.start.day} {day.start:%b}", f"{day.start:%a} {day.start.day} {day.start:%b}", day
        )
        for day in await parts.usage.per_day(person.id, bounds)
    )
    spending = await budgets.spending(person, now)
    allowances = (
        Allowance(
            "Today",
            spending.tokens_today,
            spending.limits.daily,
            resets("daily", spending.periods),
        ),
        Allowance(
            "This month",
            spending.tokens_month,
            spending.limits.monthly,
            resets("monthly", spending.periods),
        ),
    )
    prices = parts.settings.core.model_prices
    costs: Costs | None = (
        await person_costs(parts.usage, budgets, person, now, prices) if prices else None
    )
    cached, uncached, output = totals(days)
    chart = stacked_bars(
        [
            Column(
                day.label,
                day.name,
                (day.usage.cached_tokens, day.usage.uncached_tokens, day.usage.completion_tokens),
            )
            for day in days
        ],
        SERIES,
        title=f"Tokens per day, last {DAYS} days ({zone})",
        summary=(
            f"{cached + uncached + output:,} tokens in {DAYS} days: {cached:,} cached input, "
            f"{uncached:,} uncached input, {output:,} output. The table below has each day."
        ),
        ident=ident,
    )
    return UsageView(
        person,
        zone,
        days,
        chart,
        allowances,
        dollars(costs.today) if costs else None,
        dollars(costs.month) if costs else None,
    )
