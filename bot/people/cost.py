"""What a person's model use cost in money, from CLAWLING_MODEL_PRICES (dollars per
million tokens per model: input, cached input, output).

cost = (prompt - cached) × input + cached × cached input + completion × output, per
model. Models without a price are left out of the sum and named, so a figure is never
silently low.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.people.budget import Budgets
from memory.people import Person
from memory.usage import ModelUsage, UsageStore

Prices = Mapping[str, tuple[float, float, float]]


@dataclass(frozen=True)
class Cost:
    dollars: float
    unpriced: tuple[str, ...] = ()  # models used without a price


@dataclass(frozen=True)
class Costs:
    today: Cost
    month: Cost


def cost(models: Sequence[ModelUsage], prices: Prices) -> Cost:
    dollars, unpriced = 0.0, []
    for used in models:
        price = prices.get(used.model)
        if price is None:
            if used.prompt_tokens or used.completion_tokens:
                unpriced.append(used.model)
            continue
        fresh = max(used.prompt_tokens - used.cached_tokens, 0)
        dollars += (
            fresh * price[0] + used.cached_tokens * price[1] + used.completion_tokens * price[2]
        ) / 1_000_000
    return Cost(dollars, tuple(unpriced))


async def person_costs(
    usage: UsageStore, budgets: Budgets, person: Person, now: datetime, prices: Prices
) -> Costs:
    """The person's cost today and this month (their own day and month), e.g. for
    `clawling users list`."""
    span = budgets.periods(person, now)
    today = await usage.usage(person.id, span.day_start)
    month = await usage.usage(person.id, span.month_start)
    return Costs(cost(today.models, prices), cost(month.models, prices))


def dollars(amount: Cost) -> str:
    """`$0.0123`, with the models left out named."""
    shown = f"${amount.dollars:,.4f}" if amount.dollars < 1 else f"${amount.dollars:,.2f}"
    if amount.unpriced:
        shown += f" (no price set for {', '.join(amount.unpriced)})"
    return shown
