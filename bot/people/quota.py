"""Token quotas at work: the model client's `Quota` (bot/llm/quota.py), the turn's
check and 80 % notice, and owners' changes of a person's budget.

Rules:
- Every model call for a person reserves its estimate first (memory/quotas.py); it is
  admitted while spent + held is below each of their limits, so however many of their
  conversations and tasks run at once, a budget is overrun by at most one call.
- A refused call is never sent. The refusal says which budget is spent, when it resets
  (their local midnight, or the first of the month) and that an owner can raise it;
  `quota.reached` is audited once per period.
- At 80 % of a budget the person is told once per period (`notice`, added to the
  answer that crossed it).
- People without a limit cost nothing per call: their limits are cached for
  CACHE_SECONDS (so a change from the command line counts within that long; a change
  in chat at once).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.llm.quota import QuotaExceeded
from bot.people.budget import Budgets, Limits, Periods
from memory.audit import Actor, AuditStore
from memory.people import PeopleStore, Person
from memory.quotas import QuotaStore, Spent, Window

CACHE_SECONDS = 10.0
# A hold lapses after this long when its call never settles (the process died).
HOLD_LIFETIME = timedelta(hours=1)
NOTICE_AT = 0.8
SYSTEM = Actor("system", "system")


class KeepType:
    """The value of a limit left as it is by `QuotaGate.change`."""


KEEP = KeepType()
Limit = int | None | KeepType  # tokens (0: unlimited), None: the default again, or KEEP


@dataclass(frozen=True)
class _Budget:
    person: Person
    limits: Limits


class QuotaGate:
    """People's budgets for the model client (`reserve`, `release`), the agent (`check`,
    `notice`), the task runner (`allows`) and owners (`change`)."""

    def __init__(
        self,
        people: PeopleStore,
        budgets: Budgets,
        store: QuotaStore,
        audit: AuditStore,
        *,
        now: Callable[[], datetime],
        cache_seconds: float = CACHE_SECONDS,
    ) -> None:
        self.budgets = budgets
        self._people = people
        self._store = store
        self._audit = audit
        self._now = now
        self._cache_seconds = cache_seconds
        self._cache: dict[int, tuple[float, _Budget | None]] = {}
        # Told the person's id after an owner changed their budget (paused tasks look again).
        self.listeners: list[Callable[[int], None]] = []

    async def reserve(self, user_id: int, tokens: Callable[[], int]) -> int | None:
        budget = await self._limited(user_id)
        if budget is None:
            return None
        window, span = self._window(budget)
        hold = await self._store.reserve(user_id, tokens(), window, HOLD_LIFETIME)
        if hold is None:
            spent = await self._store.spent(user_id, window)
            raise await self._refusal(budget, span, spent.reaches(window) or "daily")
        return hold

    async def release(self, hold_id: int) -> None:
        await self._store.release(hold_id)

    async def prune(self) -> None:
        """Forget holds of calls whose process died (they lapsed already)."""
        await self._store.prune()

    async def check(self, user_id: int) -> None:
        """Raise QuotaExceeded when the person's budget is spent (before a turn does
        anything that costs: recall, compaction, the model)."""
        budget = await self._limited(user_id)
        if budget is None:
            return
        window, span = self._window(budget)
        reached = (await self._store.spent(user_id, window)).reaches(window)
        if reached:
            raise await self._refusal(budget, span, reached)

    async def allows(self, user_id: int) -> bool:
        """Whether a call for the person would be admitted now (paused tasks resume)."""
        self.forget(user_id)  # an owner may have raised it from the command line
        try:
            await self.check(user_id)
        except QuotaExceeded:
            return False
        return True

    async def notice(self, user_id: int) -> str:
        """A line for the person when they have passed 80 % of a budget and were not told
        yet this period; "" otherwise."""
        budget = await self._limited(user_id)
        if budget is None:
            return ""
        window, span = self._window(budget)
        spent = await self._store.spent(user_id, window)
        kind, share = _tightest(spent, window)
        if share < NOTICE_AT:
            return ""
        period = _period(kind, span)
        told = await self._store.notice(user_id)
        if told in (f"80 {period}", f"100 {period}"):
            return ""
        await self._store.set_notice(user_id, f"80 {period}")
        limit = window.daily if kind == "daily" else window.monthly
        return (
            f"(You have used {min(share, 1.0):.0%} of your {kind} budget of {limit:,} tokens; "
            f"it resets {resets(kind, span)}.)"
        )

    async def change(
        self, actor: Actor, person: Person, *, daily: Limit = KEEP, monthly: Limit = KEEP
    ) -> Limits:
        """Set the person's budgets (`/quota`, `clawling users quota`), audited as
        quota.changed; the limits that apply now."""
        before = (person.daily_tokens, person.monthly_tokens)
        after = (
            before[0] if isinstance(daily, KeepType) else daily,
            before[1] if isinstance(monthly, KeepType) else monthly,
        )
        for value in after:
            if value is not None and value < 0:
                raise ValueError("a budget is a number of tokens, 0 or more (0: unlimited)")
        await self._store.set_limits(person.id, *after)
        self.forget(person.id)
        for listener in self.listeners:
            listener(person.id)
        await self._audit.record(
            "quota.changed",
            actor,
            subject=person.label,
            subject_id=person.id,
            daily=_shown(after[0]),
            monthly=_shown(after[1]),
            daily_before=_shown(before[0]),
            monthly_before=_shown(before[1]),
        )
        changed = await self._people.person(person.id)
        return self.budgets.limits(changed or person)

    def forget(self, user_id: int) -> None:
        """Read the person's limits afresh at the next call."""
        self._cache.pop(user_id, None)

    async def _limited(self, user_id: int) -> _Budget | None:
        """The person's budget, or None when they have no limit (cached)."""
        cached = self._cache.get(user_id)
        if cached is None or cached[0] <= time.monotonic():
            person = await self._people.person(user_id)
            budget = None if person is None else _Budget(person, self.budgets.limits(person))
            if budget is not None and not (budget.limits.daily or budget.limits.monthly):
                budget = None
            cached = (time.monotonic() + self._cache_seconds, budget)
            self._cache[user_id] = cached
        return cached[1]

    def _window(self, budget: _Budget) -> tuple[Window, Periods]:
        span = self.budgets.periods(budget.person, self._now())
        limits = budget.limits
        return Window(span.day_start, span.month_start, limits.daily, limits.monthly), span

    async def _refusal(self, budget: _Budget, span: Periods, kind: str) -> QuotaExceeded:
        """The refusal for a spent budget; `quota.reached` audited once per period."""
        person = budget.person
        period = _period(kind, span)
        limit = budget.limits.daily if kind == "daily" else budget.limits.monthly
        if await self._store.notice(person.id) != f"100 {period}":
            await self._store.set_notice(person.id, f"100 {period}")
            await self._audit.record(
                "quota.reached",
                SYSTEM,
                subject=person.label,
                subject_id=person.id,
                budget=kind,
                limit=limit,
                period=period.split(" ", 1)[1],
            )
        spent = f"your {kind} token budget ({limit:,} tokens) is used up; it resets {resets(kind, span)}"
        return QuotaExceeded(
            f"user {person.id}: {kind} budget of {limit} tokens reached",
            f"Sorry, {spent}. An owner can raise it with /quota. Your message is saved: "
            "write to me again once the budget allows and I will answer it.",
            budget=spent,
        )


def _tightest(spent: Spent, window: Window) -> tuple[str, float]:
    """The budget most used, and how much of it is used (0 when none is limited)."""
    shares = []
    if window.daily:
        shares.append(("daily", spent.today / window.daily))
    if window.monthly:
        shares.append(("monthly", spent.month / window.monthly))
    return max(shares, key=lambda s: s[1], default=("daily", 0.0))


def _period(kind: str, span: Periods) -> str:
    """`daily 2026-12-05` or `monthly 2026-12`: what `users.quota_notice` remembers."""
    if kind == "daily":
        return f"daily {span.day_start.date().isoformat()}"
    return f"monthly {span.month_start.strftime('%Y-%m')}"


def resets(kind: str, span: Periods) -> str:
    """When, in the person's own time: `at 00:00 on Sun 6 Dec (Europe/Berlin)`."""
    at = span.next_day if kind == "daily" else span.next_month
    zone = getattr(at.tzinfo, "key", str(at.tzinfo))
    return f"at {at:%H:%M} on {at:%a} {at.day} {at:%b} ({zone})"


def _shown(limit: int | None) -> str:
    return "default" if limit is None else str(limit)
