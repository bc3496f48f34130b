"""The seam between the model client and people's token budgets (bot/people/quota.py).

The client knows nothing of people: for a call made for someone (`CallMeta.user_id`)
it asks its `Quota` to reserve the call's estimate before the request, and hands the
hold's id on in the call's usage record, whose row replaces the hold
(memory/usage.py). A call the budget does not allow is never sent: `reserve` raises
`QuotaExceeded`, whose `user_message` says which budget is spent and when it resets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from bot.agent.budget import estimate_request
from bot.agent.prompt import estimate_tokens
from bot.llm.window import DEFAULT_OUTPUT_TOKENS


class QuotaExceeded(Exception):
    """The person's token budget is spent; no model call was made for them.
    `user_message` is the reply to their message; `budget` the clause saying which
    budget is spent and when it resets (task notices use it)."""

    def __init__(self, message: str, user_message: str, *, budget: str = "") -> None:
        super().__init__(message)
        self.user_message = user_message
        self.budget = budget


class Quota(Protocol):
    async def reserve(self, user_id: int, tokens: Callable[[], int]) -> int | None:
        """Hold `tokens()` (called only for people with a budget) for one call; the hold's
        id, or None when nothing needs holding. Raises QuotaExceeded."""
        ...

    async def release(self, hold_id: int) -> None:
        """Drop the hold of a call that ended without a usage record (cancelled)."""
        ...


def estimate(request: dict[str, Any]) -> int:
    """What a chat request may cost at most: its prompt, estimated as the agent budgets
    one (an image counts as an image, not its bytes), plus the reply's cap."""
    cap = request.get("max_tokens") or request.get("max_completion_tokens")
    tools = estimate_tokens(request["tools"]) if request.get("tools") else 0
    return estimate_request(request["messages"], tools) + int(cap or DEFAULT_OUTPUT_TOKENS)
