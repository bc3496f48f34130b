"""The person's token budget as a turn sees it (bot/people/quota.py implements it).

A person whose budget is spent gets no turn at all: `check` raises before recall,
compaction or the model cost anything, and their messages stay waiting. When the
budget runs out between two steps of a turn, the turn ends with `stopped` (its tools'
work is stored). The answer that takes them past 80 % says so once (`notice`, shown,
not stored: the model does not need it).
"""

from __future__ import annotations

from typing import Protocol

from bot.llm.quota import QuotaExceeded


class Allowance(Protocol):
    async def check(self, user_id: int) -> None:
        """Raise QuotaExceeded (bot/llm/quota.py) when the budget is spent."""
        ...

    async def notice(self, user_id: int) -> str:
        """A line to add to the answer when a budget is nearly spent, else ""."""
        ...


def stopped(refused: QuotaExceeded) -> str:
    """The answer of a turn the budget stopped between two steps."""
    return f"I had to stop here: {refused.budget}. An owner can raise it with /quota."


async def with_notice(allowance: Allowance | None, user_id: int, text: str) -> str:
    """The answer as shown, with the budget notice when one is due."""
    notice = "" if allowance is None else await allowance.notice(user_id)
    return f"{text}\n\n{notice}" if notice else text
