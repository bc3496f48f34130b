"""What one request may hold: the model's window split between the fixed parts and the
conversation, with tool schemas shed when a small window has no room for all of them.

Everything sent counts: the system message, the tool schemas, the reply's `max_tokens`,
and what is left is the conversation's (summary, recall, history), which compaction
fits to. Estimates are characters ÷ 4 multiplied by the model's calibrated ratio
(bot/llm/window.py), so the sums are in the endpoint's own tokens.

Small windows (2k–4k tokens, common for local models): the reply gets at most a quarter
of the window, and the fixed parts may take at most what leaves a third for the
conversation. When the tool schemas do not fit in that, their descriptions are first
cut to one short sentence, then tools are left out from the end of a fixed priority
(the everyday ones first). The choice depends only on the room, so it stays the same
from request to request and the prompt prefix stays cacheable.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.agent.prompt import estimate_tokens
from bot.chat.attachments import IMAGE_TOKENS
from memory.conversations import ConversationRecord, ConversationStore, StoredMessage

log = logging.getLogger(__name__)

# The tools kept longest when a small window cannot take them all, most used first;
# tools not named here follow in name order.
TOOL_PRIORITY = (
    "current_time",
    "remember",
    "recall",
    "search_history",
    "schedule_reminder",
    "web_search",
    "web_fetch",
    "list_jobs",
    "cancel_job",
    "set_timezone",
    "forget",
    "use_skill",
    "read_skill_file",
    "start_task",
    "answer_task",
    "schedule_prompt",
    "add_standing_instruction",
    "create_skill",
)
SHORT_DESCRIPTION_CHARS = 100
# Per message: role and framing tokens the chat template adds.
MESSAGE_OVERHEAD = 4


@dataclass(frozen=True)
class Budget:
    """One request's shares, in the model's tokens except `history` (estimate units,
    what compaction and the message sizes are measured in)."""

    window: int
    ratio: float
    output: int
    tools: list[dict[str, Any]] | None
    tool_tokens: int
    tool_estimate: int
    system_tokens: int
    history: int
    # The reply's cap to send, when the window makes it smaller than the usual cap.
    max_tokens: int | None


def _short(text: str) -> str:
    first = text.strip().split("\n", 1)[0]
    first = first.split(". ", 1)[0].rstrip(".")
    return first[:SHORT_DESCRIPTION_CHARS]


def shorten(schema: dict[str, Any]) -> dict[str, Any]:
    """A tool schema with its description cut to one short sentence and its parameters'
    descriptions (and examples) left out; names, types and required fields stay."""
    function = schema["function"]
    parameters = _strip_descriptions(function.get("parameters") or {})
    short = {**function, "description": _short(function.get("description") or "")}
    short["parameters"] = parameters
    return {**schema, "function": short}


def _strip_descriptions(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: _strip_descriptions(value)
            for key, value in node.items()
            if key not in ("description", "examples", "title")
        }
    if isinstance(node, list):
        return [_strip_descriptions(item) for item in node]
    return node


def _rank(name: str) -> tuple[int, str]:
    try:
        return TOOL_PRIORITY.index(name), name
    except ValueError:
        return len(TOOL_PRIORITY), name


class ToolFitter:
    """Picks the tool schemas that fit a number of tokens; the same list object for the
    same schemas and choice, so the request encoder keeps its JSON (bot/llm/client.py)."""

    def __init__(self) -> None:
        self._schemas: list[dict[str, Any]] | None = None
        self._sizes: list[int] = []
        self._short: list[dict[str, Any]] = []
        self._short_sizes: list[int] = []
        self._chosen: dict[tuple[str, ...], list[dict[str, Any]]] = {}

    def fit(self, schemas: list[dict[str, Any]], room: int) -> tuple[list[dict[str, Any]], int]:
        """The schemas to send within `room` estimated tokens, and their estimate."""
        if schemas is not self._schemas:
            self._schemas = schemas
            self._sizes = [estimate_tokens(s) for s in schemas]
            self._short = [shorten(s) for s in schemas]
            self._short_sizes = [estimate_tokens(s) for s in self._short]
            self._chosen = {}
        if sum(self._sizes) <= room:
            return schemas, sum(self._sizes)
        order = sorted(range(len(schemas)), key=lambda i: _rank(schemas[i]["function"]["name"]))
        kept: set[int] = set()
        used = 0
        for i in order:
            if used + self._short_sizes[i] > room:
                break
            kept.add(i)
            used += self._short_sizes[i]
        chosen = [self._short[i] for i in range(len(schemas)) if i in kept]
        key = tuple(s["function"]["name"] for s in chosen)
        return self._chosen.setdefault(key, chosen), used


def plan(
    window: int,
    ratio: float,
    output_cap: int,
    system: dict[str, Any],
    schemas: list[dict[str, Any]],
    fitter: ToolFitter,
) -> Budget:
    """Split `window` (the model's tokens) between the reply, the system message, the
    tools and the conversation."""
    ratio = max(ratio, 0.1)
    output = min(output_cap, window // 4)
    system_tokens = int(estimate_tokens(system["content"]) * ratio)
    floor = window // 3  # the conversation's least share
    room = max(0, window - output - system_tokens - floor)
    tools, tool_estimate = fitter.fit(schemas, int(room / ratio)) if schemas else ([], 0)
    tool_tokens = int(tool_estimate * ratio)
    history = int((window - output - system_tokens - tool_tokens) / ratio)
    return Budget(
        window=window,
        ratio=ratio,
        output=output,
        tools=tools or None,
        tool_tokens=tool_tokens,
        tool_estimate=tool_estimate,
        system_tokens=system_tokens,
        history=max(history, 1),
        max_tokens=output if output < output_cap else None,
    )


def estimate_request(messages: Sequence[dict[str, Any]], tool_tokens: int) -> int:
    """Our estimate (characters weighed by script, see `estimate_tokens`) of a request
    as sent: its messages plus the tool schemas' estimate. Cheap: no encoding."""
    total = tool_tokens
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            total += estimate_tokens(content)
        elif isinstance(content, list):
            total += sum(
                estimate_tokens(part.get("text", "")) for part in content if isinstance(part, dict)
            )
            total += IMAGE_TOKENS * sum(
                1 for part in content if isinstance(part, dict) and part.get("type") != "text"
            )
        for call in message.get("tool_calls") or ():
            function = call["function"]
            total += estimate_tokens(function["arguments"] + function["name"]) + 5
        total += MESSAGE_OVERHEAD
    return total


async def jump_window(
    store: ConversationStore,
    conversation: ConversationRecord,
    messages: list[StoredMessage],
    budget: int,
) -> list[StoredMessage]:
    """Keep the history within `budget` without a summariser (no memory wired).

    Trimming one turn at a time would change the prompt's start on every request and
    defeat prompt caching, so the window jumps: once over budget, it restarts at the
    turn that leaves about half the budget.
    """
    sizes = [
        estimate_tokens(m.content) + 4 * len(m.tool_calls) + IMAGE_TOKENS * len(m.attachments)
        for m in messages
    ]
    if sum(sizes) <= budget:
        return messages
    keep_from = len(messages)
    kept = 0
    while keep_from > 0 and kept + sizes[keep_from - 1] <= budget // 2:
        keep_from -= 1
        kept += sizes[keep_from]
    # Start at a turn boundary so tool calls and their results stay together.
    start_turn = None
    for message in messages[keep_from:]:
        if message.turn is not None and message.role == "user":
            start_turn = message.turn
            break
    if start_turn is None:
        # The newest turn alone exceeds the budget: keep just the waiting messages.
        return [m for m in messages if m.turn is None]
    await store.set_context_start(conversation.id, start_turn)
    log.info("conversation %s: context now starts at turn %s", conversation.id, start_turn)
    return [m for m in messages if m.turn is None or m.turn >= start_turn]
