"""/quota (owners) and the budget part of /usage: token budgets and what they cost.

`/quota USER` shows a person's budgets; `/quota USER --daily N --monthly N` sets them
(N: tokens, `0` for unlimited, `default` for the deployment's default), through the
same function as `clawling users quota` (bot/people/quota.py), audited as
quota.changed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.commands.registry import Command, CommandContext, CommandRegistry
from bot.people.budget import Limits, Spending
from bot.people.cost import Prices, dollars, person_costs
from bot.people.quota import KEEP, Limit, QuotaGate, resets
from memory.audit import Actor
from memory.people import PeopleStore, Person
from memory.usage import UsageStore

USAGE = "Use: /quota USER [--daily N] [--monthly N] — N in tokens, 0 for unlimited, default for the default."


# More than anyone could spend (0 is "unlimited"), and well inside the column's 64 bits.
MAX_LIMIT = 10**12


class QuotaInputError(ValueError):
    """Bad /quota or `users quota` input; the message says what works."""


def parse_limit(text: str, flag: str) -> int | None:
    """A limit as typed: tokens (`20000`, `20,000`, `20_000`), `0` (unlimited) or
    `default` (None)."""
    value = text.strip().lower()
    if value == "default":
        return None
    digits = value.replace(",", "").replace("_", "")
    if not digits.isdigit():
        raise QuotaInputError(
            f"{flag} takes a number of tokens, 0 for unlimited, or default (got {text!r})"
        )
    if int(digits) > MAX_LIMIT:
        raise QuotaInputError(f"{flag} can be at most {MAX_LIMIT:,} tokens (0 for unlimited)")
    return int(digits)


def parse_quota_args(args: str) -> tuple[str, Limit, Limit]:
    """`USER [--daily N] [--monthly N]` → (user, daily, monthly); KEEP where not given."""
    words = args.split()
    if not words or words[0].startswith("--"):
        raise QuotaInputError(USAGE)
    user, rest = words[0], words[1:]
    limits: dict[str, Limit] = {"--daily": KEEP, "--monthly": KEEP}
    while rest:
        flag = rest.pop(0).lower()
        if flag not in limits or not rest:
            raise QuotaInputError(USAGE)
        limits[flag] = parse_limit(rest.pop(0), flag)
    return user, limits["--daily"], limits["--monthly"]


def limit_text(limit: int) -> str:
    return "unlimited" if limit == 0 else f"{limit:,} tokens"


def override_text(value: int | None) -> str:
    return "the default" if value is None else limit_text(value)


def budget_lines(spending: Spending) -> list[str]:
    """What is left today and this month, and when each resets (the person's time)."""
    lines = []
    for label, kind, limit, used in (
        ("today", "daily", spending.limits.daily, spending.tokens_today),
        ("this month", "monthly", spending.limits.monthly, spending.tokens_month),
    ):
        if limit == 0:
            lines.append(f"Budget {label}: no limit ({used:,} tokens used)")
            continue
        left = max(limit - used, 0)
        lines.append(
            f"Budget {label}: {left:,} of {limit:,} tokens left ({used:,} used); "
            f"resets {resets(kind, spending.periods)}"
        )
    return lines


class QuotaCommands:
    def __init__(
        self,
        people: PeopleStore,
        gate: QuotaGate,
        usage: UsageStore,
        prices: Prices,
    ) -> None:
        self._people = people
        self._gate = gate
        self._usage = usage
        self._prices = prices

    def register(self, registry: CommandRegistry) -> None:
        registry.add(
            Command(
                "quota",
                "a person's token budget: /quota USER [--daily N] [--monthly N]",
                self.quota,
                owner_only=True,
            )
        )

    def usage_extra(self) -> Callable[[CommandContext], Awaitable[list[str]]]:
        """The lines /usage adds: budgets left and, with prices, money."""

        async def extra(ctx: CommandContext) -> list[str]:
            person = await self._people.person(ctx.user.id)
            if person is None:
                return []
            return await self.describe(person, ctx.now)

        return extra

    async def describe(self, person: Person, now: datetime) -> list[str]:
        lines = budget_lines(await self._gate.budgets.spending(person, now))
        if self._prices:
            costs = await person_costs(self._usage, self._gate.budgets, person, now, self._prices)
            lines.append(f"Cost today: {dollars(costs.today)}; this month: {dollars(costs.month)}")
        return lines

    async def quota(self, ctx: CommandContext) -> str:
        try:
            name, daily, monthly = parse_quota_args(ctx.args)
        except QuotaInputError as exc:
            return str(exc)
        platform, _, external_id = name.partition(":")
        person = await self._people.by_account(platform, external_id) if external_id else None
        if person is None:
            return f"I know no one as {name} (write it as platform:id, e.g. telegram:42)."
        if daily is KEEP and monthly is KEEP:
            return "\n".join(
                [f"{person.label} ({person.name}):", *await self.describe(person, ctx.now)]
            )
        actor = Actor(ctx.account, ctx.account.partition(":")[0], ctx.user.id)
        limits = await self._gate.change(actor, person, daily=daily, monthly=monthly)
        return changed_text(person, limits)


def changed_text(person: Person, limits: Limits) -> str:
    """What /quota (and the People page) answer after a change."""
    return f"{person.label} now has {limits_text(limits)}."


def limits_text(limits: Limits) -> str:
    return f"a daily budget of {limit_text(limits.daily)} and a monthly budget of {limit_text(limits.monthly)}"
