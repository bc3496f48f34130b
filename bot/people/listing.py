"""The people listing: one row per person with their usage against their budgets, for
`clawling users list [--json]`, `users show` and the owners' /users.

A row is built by one function (`person_row`) and printed from one list of columns
(`COLUMNS`). With CLAWLING_MODEL_PRICES set, rows carry money too (bot/people/cost.py):
the cost columns and JSON keys appear only then, so a deployment without prices never
shows a misleading $0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.people.admin import shown
from bot.people.budget import Budgets, Spending
from bot.people.cost import Costs, Prices, dollars, person_costs
from memory.people import Person


@dataclass(frozen=True)
class PersonRow:
    person: Person
    spending: Spending
    daily_is_default: bool  # no quota of their own: the deployment's (or an owner's) default
    monthly_is_default: bool
    costs: Costs | None = None  # None: no prices configured

    def as_json(self) -> dict[str, Any]:
        person, spent = self.person, self.spending
        return {
            "id": person.label,
            "name": person.name,
            "role": person.role,
            "status": person.status,
            "identities": [account.label for account in person.accounts],
            "tokens_today": spent.tokens_today,
            "tokens_month": spent.tokens_month,
            "daily_quota": spent.limits.daily,
            "daily_quota_is_default": self.daily_is_default,
            "monthly_quota": spent.limits.monthly,
            "monthly_quota_is_default": self.monthly_is_default,
            **self._money(),
        }

    def _money(self) -> dict[str, Any]:
        if self.costs is None:
            return {}
        today, month = self.costs.today, self.costs.month
        return {
            "cost_today": round(today.dollars, 6),
            "cost_month": round(month.dollars, 6),
            "unpriced_models": sorted(set(today.unpriced) | set(month.unpriced)),
        }


async def person_row(
    budgets: Budgets, person: Person, now: datetime, prices: Prices | None = None
) -> PersonRow:
    costs = await person_costs(budgets.usage, budgets, person, now, prices) if prices else None
    return PersonRow(
        person,
        await budgets.spending(person, now),
        person.daily_tokens is None,
        person.monthly_tokens is None,
        costs,
    )


async def people_rows(
    budgets: Budgets, people: list[Person], now: datetime, prices: Prices | None = None
) -> list[PersonRow]:
    return [await person_row(budgets, person, now, prices) for person in people]


def of_quota(spent: int, limit: int) -> str:
    """`1,200 of 10,000`, or `1,200 (unlimited)` for 0."""
    return f"{spent:,} of {limit:,}" if limit else f"{spent:,} (unlimited)"


COLUMNS: list[tuple[str, Callable[[PersonRow], str]]] = [
    ("NAME", lambda r: r.person.name),
    ("ACCOUNT", lambda r: r.person.label),
    ("ROLE", lambda r: r.person.role),
    ("STATUS", lambda r: r.person.status),
    ("TOKENS TODAY", lambda r: of_quota(r.spending.tokens_today, r.spending.limits.daily)),
    ("TOKENS THIS MONTH", lambda r: of_quota(r.spending.tokens_month, r.spending.limits.monthly)),
]
MONEY: list[tuple[str, Callable[[PersonRow], str]]] = [
    ("COST TODAY", lambda r: dollars(r.costs.today) if r.costs else ""),
    ("COST THIS MONTH", lambda r: dollars(r.costs.month) if r.costs else ""),
]


def table(rows: list[PersonRow]) -> str:
    """A plain-text table, columns padded to their widest cell."""
    columns = COLUMNS + MONEY if any(row.costs for row in rows) else COLUMNS
    cells = [[header for header, _ in columns]]
    cells += [[cell(row) for _, cell in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return "\n".join(
        "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip()
        for line in cells
    )


def chat_line(row: PersonRow) -> str:
    """One short line for /users."""
    spent = row.spending
    return (
        f"• {shown(row.person)} — {row.person.role}, {row.person.status}; tokens today "
        f"{of_quota(spent.tokens_today, spent.limits.daily)}, this month "
        f"{of_quota(spent.tokens_month, spent.limits.monthly)}"
        + (f"; cost this month {dollars(row.costs.month)}" if row.costs else "")
    )
