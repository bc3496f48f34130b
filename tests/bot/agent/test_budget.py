"""The request budget: everything sent is counted, and tool schemas are shortened, then
shed by a fixed priority, when a small window has no room for them."""

from __future__ import annotations

from typing import Any

from bot.agent.budget import ToolFitter, plan, shorten
from bot.agent.prompt import estimate_tokens


def schema(name: str, description: str = "Does a thing. " * 20) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": {"text": {"type": "string", "description": "The text. " * 10}},
                "required": ["text"],
            },
        },
    }


SCHEMAS = [schema(n) for n in ("create_skill", "current_time", "remember", "web_fetch", "zzz")]
SYSTEM = {"role": "system", "content": "x" * 1200}  # 301 tokens


def test_a_shortened_schema_keeps_names_types_and_required() -> None:
    short = shorten(SCHEMAS[0])["function"]
    assert short["name"] == "create_skill" and short["description"] == "Does a thing"
    assert short["parameters"] == {
        "type": "object",
        "properties": {"text": {"type": "string"}},
        "required": ["text"],
    }


def test_the_budget_counts_reply_system_and_tools() -> None:
    budget = plan(32_000, 1.0, 2048, SYSTEM, SCHEMAS, ToolFitter())
    tools = sum(estimate_tokens(s) for s in SCHEMAS)
    assert budget.tools is SCHEMAS and budget.max_tokens is None
    assert budget.history == 32_000 - 2048 - 301 - tools

    doubled = plan(32_000, 2.0, 2048, SYSTEM, SCHEMAS, ToolFitter())
    assert doubled.history == (32_000 - 2048 - 602 - 2 * tools) // 2


def test_a_small_window_sheds_tools_by_priority_and_keeps_the_same_list() -> None:
    fitter = ToolFitter()
    budget = plan(1000, 1.0, 2048, SYSTEM, SCHEMAS, fitter)
    assert budget.max_tokens == 250  # a quarter of the window
    names = [s["function"]["name"] for s in budget.tools or []]
    assert names == ["current_time", "remember"]  # the everyday ones, in name order
    assert budget.history == 1000 - 250 - 301 - budget.tool_tokens >= 1000 // 3
    again = plan(1000, 1.0, 2048, SYSTEM, SCHEMAS, fitter)
    assert again.tools is budget.tools  # one object: encoded once, same prefix
