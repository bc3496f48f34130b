"""The confirmation gate around every tool call (a `ToolHook` on the registry).

What it promises:
- Every tool is a side effect unless it is declared read-only (`bot/tools`): memories,
  jobs, tasks, skills, files, messages and MCP calls not marked read-only all count.
- While untrusted content is in the model's context, a side effect runs only after the
  person's yes in the chat. The turn's `TurnState.untrusted` says what is in view: the
  agent fills it when a turn starts (stored messages, summaries, recalled notes and
  skills made from outside content) and when a task run resumes (its checkpoint), and
  this hook adds what tools bring in while the turn runs (web pages, files, MCP, command
  output). So the taint lasts as long as the content is in view, across turns, task
  steps, sub-tasks and restarts, not just for the turn that read it.
- A tool may judge each call itself instead (`Tool.approval`): the shell asks for
  every command except allowlisted ones that stay in the person's folder, which only
  read, so they run even while untrusted content is in view.
- It fails closed: a call runs only on an explicit yes. No answer in time, a question
  that could not be delivered, a cancelled turn or any error while asking: not done.
- Output of tools that bring in outside content is wrapped as untrusted data, so the
  model (told by its system prompt) reads it as information, never as instructions.
- No tool output carries a configured secret to the model (and from there to a chat
  or a page): an MCP server's error quoting its token, a command printing a key.
- Every call of a side-effecting tool (and of a tool that judges its calls itself) goes
  into the audit trail as `tool.called`: whether a yes was needed and why, who gave or
  refused it and when, and how the call ended (or that it did not run), written once
  it ended (bot/people/trail.py says why that order).
  Read-only tools are not recorded: they change nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from bot.people.trail import Trail
from bot.safety.approvals import APPROVED, DENIED, EXPIRED, Answer, Approvals
from bot.safety.redact import Redactor
from bot.safety.untrusted import mark_untrusted
from bot.tools import Tool, ToolContext, TurnState

NOT_NEEDED = "not needed"


def taint_reason(turn: TurnState) -> str | None:
    """Why side effects need a yes in this turn, or None when nothing untrusted is in view."""
    if not turn.untrusted:
        return None
    sources = "; ".join(turn.untrusted)
    if len(sources) > 300:
        sources = sources[:299] + "…"
    return (
        f"content from outside your own messages is in what I'm working from ({sources}), "
        "and it may be trying to make me do this. In a chat, /new starts a conversation "
        "without it"
    )


def _refusal(outcome: str, summary: str, timeout: float) -> str:
    if outcome == DENIED:
        return (
            f"Not done: the person said no to {summary}. Do not try it again unless they ask "
            "for it themselves."
        )
    if outcome == EXPIRED:
        minutes = max(1, round(timeout / 60))
        return (
            f"Not done: no answer within {minutes} min to the confirmation for {summary}. "
            "Tell the person it waits for their yes if they still want it."
        )
    return f"Not done: I could not ask the person to confirm {summary}."


def _audited(tool: Tool) -> bool:
    return tool.side_effects or tool.approval is not None


def _no_approval_reason(tool: Tool) -> str:
    if tool.approval is not None:
        return "the tool's own rule found nothing to ask about"
    return "no outside content was in view"


def _decision(reason: str | None, answer: Answer | None, tool: Tool) -> dict[str, Any]:
    """The approval part of a `tool.called` entry."""
    if answer is None:
        return {"approval": NOT_NEEDED, "why": _no_approval_reason(tool)}
    return {
        "approval": answer.outcome,
        "why": reason,
        "approval_id": answer.approval_id,
        "answered_by": answer.by or None,
        "answered_at": _time(answer.at),
    }


def _time(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


class SafetyHook:
    def __init__(
        self, approvals: Approvals, redact: Redactor | None = None, trail: Trail | None = None
    ) -> None:
        self._approvals = approvals
        self._redact = redact or Redactor()
        self._trail = trail
        # The decision on each call in flight, until `finished` writes it with the
        # outcome. Keyed by the arguments object, which lives exactly as long as the call.
        self._decisions: dict[int, dict[str, Any]] = {}

    async def before(self, ctx: ToolContext, tool: Tool, args: BaseModel) -> str | None:
        if tool.approval is not None:
            # The tool judges each call itself (the shell: an allowlisted command that
            # stays in the person's folder only reads, whatever is in view).
            reason = tool.approval(ctx, args)
        else:
            reason = taint_reason(ctx.turn) if tool.side_effects else None
        if reason is None:
            if _audited(tool):
                self._decisions[id(args)] = _decision(None, None, tool)
            return None
        answer = await self._approvals.ask(ctx, tool, args, reason)
        self._decisions[id(args)] = _decision(reason, answer, tool)
        if answer.outcome == APPROVED:
            return None
        return _refusal(answer.outcome, tool.describe(args), self._approvals.timeout)

    async def finished(self, ctx: ToolContext, tool: Tool, args: BaseModel, outcome: str) -> None:
        """Write the call's entry: the decision `before` kept, and how the call ended."""
        decision = self._decisions.pop(id(args), None)
        if decision is None or self._trail is None:
            return
        actor = await self._trail.actor(ctx.user.id, ctx.conversation.channel)
        await self._trail.record(
            "tool.called",
            actor,
            tool=tool.name,
            call=self._redact.known(tool.describe(args))[:300],
            **decision,
            outcome=outcome,
        )

    def after(self, ctx: ToolContext, tool: Tool, args: BaseModel, text: str) -> str:
        text = self._redact.known(text)
        if not tool.untrusted_output:
            return text
        source = tool.describe(args)
        ctx.turn.taint(source)
        return mark_untrusted(source, text)
