"""The bounded context of a task step, and reading the success check's verdict."""

from __future__ import annotations

import pytest

from bot.agent.prompt import estimate_tokens
from bot.background.context import (
    NOTES_CHARS,
    STEP_CHARS,
    TaskView,
    build_step_prompt,
    describe_step,
    read_verdict,
)

TOOLS = [{"type": "function", "function": {"name": f"t{i}", "parameters": {}}} for i in range(10)]


def huge_view() -> TaskView:
    checkpoint = {
        "recent": [
            describe_step(n, "x" * 5_000, [("tool", "{}", "y" * 50_000)]) for n in range(500)
        ],
        "subtasks": [
            {"id": n, "goal": "g" * 3_000, "status": "succeeded", "result": "r" * 30_000}
            for n in range(100)
        ],
        "answer": {"question": "q" * 5_000, "answer": "a" * 50_000},
    }
    return TaskView(
        7, "goal " * 1_600, "check", "p" * 3_000, "n" * NOTES_CHARS, checkpoint, "Step 501"
    )


@pytest.mark.parametrize("budget", [3_000, 6_000, 12_000, 50_000])
def test_every_step_prompt_fits_its_budget_however_much_the_task_has_done(budget: int) -> None:
    request = build_step_prompt("Clawling", huge_view(), TOOLS, budget)
    assert estimate_tokens(request) + estimate_tokens(TOOLS) <= budget
    state = request[-1]["content"]
    assert state.endswith("## Status\nStep 501") or "…[cut" in state[-200:]


def test_a_small_task_shows_everything() -> None:
    view = TaskView(
        1, "goal", "", "1. do it", "- fact", {"recent": ["Step 1:\nsaid: hi"]}, "Step 2"
    )
    state = build_step_prompt("Clawling", view, TOOLS, 12_000)[-1]["content"]
    assert "## Plan\n1. do it" in state and "- fact" in state and "Step 1:\nsaid: hi" in state


def test_step_descriptions_are_capped() -> None:
    text = describe_step(3, "s" * 10_000, [("a", "{}", "z" * 10_000), ("b", "{}", "w" * 10_000)])
    assert len(text) <= STEP_CHARS and text.startswith("Step 3:")


@pytest.mark.parametrize(
    ("answer", "passed", "reason"),
    [
        ("PASS\nall good", True, "all good"),
        ("pass: looks right", True, "looks right"),
        ("FAIL: no sources", False, "no sources"),
        ("Maybe?", False, "Maybe?"),
        ("", False, "the check gave no verdict"),
    ],
)
def test_verdicts(answer: str, passed: bool, reason: str) -> None:
    assert read_verdict(answer) == (passed, reason)
