"""A scripted "model" for the open-model tests, and reading what the person and model saw.

The model calls `current_time` when asked the time, reports a tool's result
("tool said: ..."), summarises with a marked summary, counts a task to three with
tool calls, and otherwise echoes. It answers from what the server let it see
(`FakeOpenAI.seen`), so a personality that drops a system message hides it here too.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bot.agent.summarise import INSTRUCTIONS
from tests.bot.harness.background import is_task_step, step_of
from tests.fakes.openai_server import FakeOpenAI, Reply, echo, last_user_text, note_of
from tests.fakes.personalities import describe

SUMMARY_MARK = "SUMMARY-7F3A"
TASK_STEPS = 3
USAGE_LINE = re.compile(r"Today \(UTC\): (\d+) model calls, ([\d,]+) prompt \+ ([\d,]+) completion")


def is_summary_request(request: dict[str, Any]) -> bool:
    return request["messages"][0].get("content") == INSTRUCTIONS


def respond(request: dict[str, Any]) -> Reply:
    """The scripted model (see the module's docstring)."""
    if is_summary_request(request):
        summary = f"{SUMMARY_MARK}: Alice asked the time many times."
        return Reply(text=json.dumps({"summary": summary, "facts": []}))
    if is_task_step(request):
        step = step_of(request)
        if step >= TASK_STEPS:
            return Reply(tool_calls=[("finish", {"result": f"counted to {step}"})])
        return Reply(tool_calls=[("save_note", {"note": f"step {step} counted"})])
    last = [m for m in request["messages"] if m["role"] != "system"][-1]
    if last["role"] == "user" and "what time" in last_user_text(request):
        return Reply(tool_calls=[("current_time", {})])
    return echo(request)


def turn_requests(fake: FakeOpenAI) -> list[dict[str, Any]]:
    """The conversation turns' requests as the model saw them (no summaries, no tasks)."""
    return [r for r in fake.seen if not is_summary_request(r) and not is_task_step(r)]


def summary_reached(fake: FakeOpenAI) -> bool:
    """Whether some turn's request showed the model the summary."""
    return any(
        SUMMARY_MARK in json.dumps(r["messages"], ensure_ascii=False) for r in turn_requests(fake)
    )


def recalled(fake: FakeOpenAI, fragment: str) -> bool:
    """Whether the last turn's volatile note (recall) showed the model `fragment`."""
    turns = turn_requests(fake)
    return bool(turns) and fragment in note_of(turns[-1])


def trail(fake: FakeOpenAI, last: int = 4) -> str:
    """The last requests in one line each, for failure messages."""
    sent = [describe(r) for r in fake.requests[-last:]]
    return "\n  ".join(["requests sent (last first):", *reversed(sent)])


def usage_today(text: str) -> tuple[int, int, int]:
    """(calls, prompt tokens, completion tokens) from /usage's "Today" line."""
    match = USAGE_LINE.search(text)
    if match is None:
        raise AssertionError(f"/usage answered without a Today line: {text!r}")
    calls, prompt, completion = (int(g.replace(",", "")) for g in match.groups())
    return calls, prompt, completion
