"""What a background task's step sees, and the tools it steers itself with.

A step never sees the task's whole history: only the goal, the plan, working
notes, sub-task results, the last few step results and the budget. Each part
has a size cap and the whole request is fitted to CLAWLING_TASK_CONTEXT_TOKENS,
so step 1,000 costs about as much as step 10.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from bot.agent.prompt import Chat, estimate_tokens
from bot.errors import ToolError
from bot.tools import Tool, ToolContext, tool

RECENT_STEPS = 8
STEP_CHARS = 1_500
PLAN_CHARS = 3_000
NOTES_CHARS = 6_000
SUBTASK_CHARS = 8_000
ANSWER_CHARS = 2_000
RESULT_CHARS = 30_000

TASK_SYSTEM = """\
You are {name}, working on a background task for a person, in steps. Each step shows
you the goal, your plan, your notes, sub-task results, your last few step results and
your budget - not the whole history - so keep what matters in the plan and the notes.

- Start by calling update_plan with a short numbered plan; keep it current.
- save_note keeps facts you will need later; old step results drop out of view.
- Use the other tools to do the work; call independent tools in the same step.
- If you cannot go on without the person, call ask_user with one clear question.
- spawn_subtasks runs independent pieces of work concurrently; you get every result.
- When the goal is met, call finish with the complete result for the person
  (Markdown) and the evidence that it meets the goal.
"""

VERIFY_SYSTEM = """\
You check whether a result meets a success criterion, judging only by the result and
the evidence shown. Answer PASS or FAIL on the first line, then one short reason."""


def cut(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, saying so."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 40)] + f" …[cut, {len(text)} chars]"


@dataclass
class StepState:
    """What the control tools change during one step; read back by the runner."""

    plan: str
    notes: str
    can_ask: bool
    subtask_room: int  # how many more sub-tasks this task may start
    question: str | None = None
    result: str | None = None
    evidence: str = ""
    subtasks: list[str] = field(default_factory=list)


class PlanArgs(BaseModel):
    plan: str = Field(description="The whole plan, short numbered lines; replaces the old one.")


class NoteArgs(BaseModel):
    note: str = Field(description="A fact, finding or decision to keep.")
    replace: bool = Field(False, description="Replace all notes with this text (to condense).")


class AskArgs(BaseModel):
    question: str = Field(description="One clear question for the person.")


class SpawnArgs(BaseModel):
    goals: list[str] = Field(description="One self-contained goal per sub-task.")


class FinishArgs(BaseModel):
    result: str = Field(description="The complete result for the person, in Markdown.")
    evidence: str = Field("", description="Why this meets the goal and the success check.")


def control_tools(state: StepState, max_subtask_goal: int) -> list[Tool]:
    """The tools a task steers itself with, bound to this step's state. Plan, notes, a
    question and the result stay within the task and its own person: read-only for the
    confirmation gate. Sub-tasks are new work: a side effect."""

    @tool(read_only=True)
    async def update_plan(ctx: ToolContext, args: PlanArgs) -> str:
        """Set or revise the task's plan."""
        if len(args.plan) > PLAN_CHARS:
            raise ToolError(f"the plan is {len(args.plan)} characters; keep it under {PLAN_CHARS}")
        state.plan = args.plan.strip()
        return "Plan saved."

    @tool(read_only=True)
    async def save_note(ctx: ToolContext, args: NoteArgs) -> str:
        """Keep a note for later steps (your working memory for this task)."""
        notes = (
            args.note.strip() if args.replace else f"{state.notes}\n- {args.note.strip()}".strip()
        )
        if len(notes) > NOTES_CHARS:
            raise ToolError(
                f"notes would be {len(notes)} characters (limit {NOTES_CHARS}); call save_note "
                "with replace=true and a condensed version of everything worth keeping"
            )
        state.notes = notes
        return f"Noted ({len(notes)}/{NOTES_CHARS} characters used)."

    @tool(read_only=True)
    async def ask_user(ctx: ToolContext, args: AskArgs) -> str:
        """Ask the person one question; the task waits for the answer."""
        if not state.can_ask:
            raise ToolError("sub-tasks cannot ask the person; decide yourself or finish")
        state.question = cut(args.question.strip(), 1_000)
        return "Question sent; the task pauses until the person answers."

    @tool(side_effects=True)
    async def spawn_subtasks(ctx: ToolContext, args: SpawnArgs) -> str:
        """Start independent sub-tasks that run concurrently; their results come back to you."""
        goals = [g.strip() for g in args.goals if g.strip()]
        if not goals:
            raise ToolError("give at least one sub-task goal")
        if len(goals) > state.subtask_room:
            raise ToolError(
                f"refused: {len(goals)} sub-tasks asked, but only {state.subtask_room} more are "
                "allowed for this task; group the work into fewer, larger sub-tasks"
            )
        too_long = [g for g in goals if len(g) > max_subtask_goal]
        if too_long:
            raise ToolError(f"a sub-task goal may be at most {max_subtask_goal} characters")
        state.subtasks.extend(goals)
        state.subtask_room -= len(goals)
        return f"{len(goals)} sub-tasks will start after this step; you will see their results."

    @tool(read_only=True)
    async def finish(ctx: ToolContext, args: FinishArgs) -> str:
        """Finish the task with its result."""
        state.result = cut(args.result.strip(), RESULT_CHARS)
        state.evidence = cut(args.evidence.strip(), 3_000)
        return "Result recorded."

    tools = [update_plan, save_note, finish]
    if state.can_ask:
        tools += [ask_user, spawn_subtasks]
    return tools


def describe_step(step: int, said: str, calls: list[tuple[str, str, str]]) -> str:
    """One step for the 'recent steps' list: what was said, called and returned."""
    parts = [f"Step {step}:"]
    if said.strip():
        parts.append(f"said: {cut(said.strip(), 300)}")
    per_call = max(200, (STEP_CHARS - 100) // max(1, len(calls)))
    for name, arguments, result in calls:
        parts.append(f"{name}({cut(arguments, 200)}) -> {cut(result, per_call - 220)}")
    return cut("\n".join(parts), STEP_CHARS)


@dataclass(frozen=True)
class TaskView:
    """The parts of a task a step prompt shows."""

    task_id: int
    goal: str
    success_check: str
    plan: str
    notes: str
    checkpoint: dict[str, Any]
    status_line: str


def build_step_prompt(
    name: str, view: TaskView, tools: list[dict[str, Any]], budget_tokens: int, extra: str = ""
) -> Chat:
    """The request for one step, fitted to `budget_tokens` (tool schemas included)."""
    head: Chat = [
        {"role": "system", "content": TASK_SYSTEM.format(name=name)},
        {"role": "user", "content": _goal_text(view)},
    ]
    recent: list[str] = list(view.checkpoint.get("recent", []))[-RECENT_STEPS:]
    fixed = estimate_tokens(head) + estimate_tokens(tools)
    notes_cap, subtask_cap = NOTES_CHARS, SUBTASK_CHARS
    while True:
        state = _state_text(view, recent, notes_cap, subtask_cap, extra)
        if fixed + estimate_tokens(state) <= budget_tokens:
            break
        if recent:
            recent = recent[1:]  # the oldest step result goes first
        elif notes_cap > 500 or subtask_cap > 500:
            notes_cap, subtask_cap = notes_cap // 2, subtask_cap // 2
        else:
            room = max(200, (budget_tokens - fixed) * 4 - 200)
            state = cut(state, room)
            break
    return [*head, {"role": "user", "content": state}]


def _goal_text(view: TaskView) -> str:
    text = f"Task #{view.task_id}. Goal:\n{view.goal}"
    if view.success_check:
        text += f"\n\nSuccess check (finish is verified against it):\n{view.success_check}"
    return text


def _state_text(
    view: TaskView, recent: list[str], notes_cap: int, subtask_cap: int, extra: str
) -> str:
    sections = [f"## Plan\n{cut(view.plan, PLAN_CHARS) or '(none yet: call update_plan)'}"]
    sections.append(f"## Notes\n{cut(view.notes, notes_cap) or '(none)'}")
    subtasks = view.checkpoint.get("subtasks") or []
    if subtasks:
        each = max(100, subtask_cap // len(subtasks))
        lines = [
            f"- #{s['id']} [{s['status']}] {cut(s['goal'], 150)}\n  {cut(s.get('result') or '', each)}"
            for s in subtasks
        ]
        sections.append("## Sub-task results\n" + "\n".join(lines))
    answer = view.checkpoint.get("answer")
    if answer:
        sections.append(
            f"## The person answered your question\nQ: {cut(answer['question'], 500)}\n"
            f"A: {cut(answer['answer'], ANSWER_CHARS)}"
        )
    if recent:
        sections.append("## Recent steps (oldest first)\n" + "\n\n".join(recent))
    sections.append(f"## Status\n{view.status_line}")
    if extra:
        sections.append(extra)
    return "\n\n".join(sections)


def verify_prompt(criterion: str, result: str, evidence: str, recent: list[str]) -> Chat:
    """The request that checks a proposed result against the success criterion."""
    shown = "\n\n".join(recent[-4:])
    body = (
        f"Criterion:\n{criterion}\n\nResult:\n{cut(result, 8_000)}\n\n"
        f"Evidence given:\n{evidence or '(none)'}\n\nRecent work:\n{cut(shown, 6_000)}"
    )
    return [{"role": "system", "content": VERIFY_SYSTEM}, {"role": "user", "content": body}]


def read_verdict(text: str) -> tuple[bool, str]:
    """PASS/FAIL and the reason from a verifier's answer; anything unclear is a FAIL."""
    first, _, rest = text.strip().partition("\n")
    word = first.strip().split(" ", 1)[0].strip(":.,").upper() if first.strip() else ""
    reason = (first.strip()[len(word) :].strip(" :.-") + " " + rest.strip()).strip()
    if word == "PASS":
        return True, reason
    return False, reason or cut(text.strip(), 300) or "the check gave no verdict"


def dump_arguments(arguments: str) -> str:
    """Tool arguments shown compactly (valid JSON re-dumped, anything else as is)."""
    try:
        return json.dumps(json.loads(arguments), ensure_ascii=False, separators=(",", ":"))
    except (json.JSONDecodeError, TypeError):
        return arguments
