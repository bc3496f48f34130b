"""Memory tools: remember, recall, forget, search_history.

Every tool acts for the person who is speaking (`ctx.user`) only; in a group
chat, search_history sees only that group's messages, and in a group turn that
answers several people no one's memories are read or changed. What was saved from,
or quotes, outside content comes back marked as untrusted data.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from bot.agent.recall import memory_line, scope_for
from bot.errors import ToolError
from bot.safety.untrusted import mark_untrusted
from bot.tools import Tool, ToolContext, tool
from memory.memories import MemoryStore
from memory.retrieval.scopes import MessageFilter
from memory.retrieval.search import Searcher

RESULTS = 8
Kind = Literal["fact", "preference", "person", "plan"]


class RememberArgs(BaseModel):
    text: str = Field(description="One self-contained sentence, e.g. 'Lives in Lisbon'.")
    kind: Kind = "fact"
    key: str = Field("", description="Short subject, e.g. 'home city'; replaces older ones.")
    replaces: int | None = Field(None, description="Id of a memory this one corrects.")
    expires: date | None = Field(None, description="Day it stops being true (plans).")


class RecallArgs(BaseModel):
    query: str = Field("", description="Empty lists the newest memories.")


class ForgetArgs(BaseModel):
    memory: str = Field(description="A memory id, or text contained in the memories.")


class SearchHistoryArgs(BaseModel):
    query: str
    since: date | None = None
    until: date | None = None


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _own_turn(ctx: ToolContext) -> None:
    """Memories are one person's: not read or changed in a group turn of several people."""
    if not ctx.turn.private:
        raise ToolError(
            "this answer is for several people in a group, so no one's personal memories "
            "can be used or changed; ask them to write to me directly"
        )


def memory_tools(memories: MemoryStore, searcher: Searcher) -> list[Tool]:
    """The memory tools, bound to the stores (wired in bot/app/__init__.py)."""

    @tool(side_effects=True)
    async def remember(ctx: ToolContext, args: RememberArgs) -> str:
        """Save a lasting fact, preference, person or plan about the user to long-term
        memory; always when they ask you to remember something."""
        _own_turn(ctx)
        if not args.text.strip():
            raise ToolError("text is empty")
        if args.replaces is not None and await memories.get(ctx.user.id, args.replaces) is None:
            raise ToolError(f"there is no memory #{args.replaces} to replace")
        source = await memories.latest_message_id(ctx.conversation.id, ctx.user.id)
        expires = _day_start(args.expires + timedelta(days=1)) if args.expires else None
        saved = await memories.remember(
            ctx.user.id,
            args.text,
            kind=args.kind,
            key=args.key,
            replaces=args.replaces,
            source_message_id=source,
            expires_at=expires,
            now=ctx.now(),
            untrusted=bool(ctx.turn.untrusted),
        )
        if saved.duplicate:
            return f"Already remembered as #{saved.memory.id}."
        text = f"Remembered as #{saved.memory.id}."
        if saved.superseded:
            old = "; ".join(f"#{m.id} {m.content}" for m in saved.superseded)
            text += f" It replaces (kept as history): {old}"
        return text

    @tool(read_only=True)
    async def recall(ctx: ToolContext, args: RecallArgs) -> str:
        """Look up what you remember about the user (with ids)."""
        _own_turn(ctx)
        now = ctx.now()
        if args.query.strip():
            hits = await searcher.search_memories(ctx.user.id, args.query, limit=RESULTS, now=now)
            found = [hit.memory for hit in hits]
        else:
            found = await memories.current(ctx.user.id, now=now, limit=RESULTS)
        if not found:
            return "No matching memories."
        for memory in found:
            if memory.untrusted:
                ctx.turn.taint(f"memory #{memory.id}, saved from outside content")
        return "\n".join(memory_line(m) for m in found)

    @tool(side_effects=True)
    async def forget(ctx: ToolContext, args: ForgetArgs) -> str:
        """Delete the user's memories by id or by contained text, when they ask you to."""
        _own_turn(ctx)
        gone = await memories.forget(ctx.user.id, args.memory, now=ctx.now())
        if not gone:
            return f"No memory matches {args.memory!r}; nothing was deleted."
        return "Forgotten: " + "; ".join(f"#{m.id} {m.content}" for m in gone)

    @tool(read_only=True)
    async def search_history(ctx: ToolContext, args: SearchHistoryArgs) -> str:
        """Search earlier messages, with their dates; optionally between two days."""
        where = MessageFilter(
            since=_day_start(args.since) if args.since else None,
            until=_day_start(args.until + timedelta(days=1)) if args.until else None,
        )
        hits = await searcher.search_messages(
            scope_for(ctx.user, ctx.conversation),
            args.query,
            limit=RESULTS,
            where=where,
            now=ctx.now(),
        )
        if not hits:
            return "No earlier messages match."
        lines = []
        for hit in hits:
            who = hit.speaker or hit.author or hit.role
            local = hit.at.astimezone(ctx.timezone)
            line = f"[{local:%Y-%m-%d %H:%M}] {who}: {' '.join(hit.text.split())[:600]}"
            if hit.untrusted:
                source = f"message of {local:%Y-%m-%d} from outside content"
                ctx.turn.taint(source)
                line = mark_untrusted(source, line)
            lines.append(line)
        return "\n".join(lines)

    return [remember, recall, forget, search_history]
