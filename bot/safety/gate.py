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
"""

from __future__ import annotations

from pydantic import BaseModel

from bot.safety.approvals import APPROVED, DENIED, EXPIRED, Approvals
from bot.safety.redact import Redactor
from bot.safety.untrusted import mark_untrusted
from bot.tools import Tool, ToolContext, TurnState


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


class SafetyHook:
    def __init__(self, approvals: Approvals, redact: Redactor | None = None) -> None:
        self._approvals = approvals
        self._redact = redact or Redactor()

    async def before(self, ctx: ToolContext, tool: Tool, args: BaseModel) -> str | None:
        if tool.approval is not None:
            # The tool judges each call itself (the shell: an allowlisted command that
            # stays in the person's folder only reads, whatever is in view).
            reason = tool.approval(ctx, args)
        else:
            reason = taint_reason(ctx.turn) if tool.side_effects else None
        if reason is None:
            return None
        outcome = await self._approvals.ask(ctx, tool, args, reason)
        if outcome == APPROVED:
            return None
        return _refusal(outcome, tool.describe(args), self._approvals.timeout)

    def after(self, ctx: ToolContext, tool: Tool, args: BaseModel, text: str) -> str:
        text = self._redact.known(text)
        if not tool.untrusted_output:
            return text
        source = tool.describe(args)
        ctx.turn.taint(source)
        return mark_untrusted(source, text)
