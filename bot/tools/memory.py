"""Memory tools: remember, recall, forget, search_history.

Every tool acts for the person who is speaking (`ctx.user`) only; in a group
chat, search_history sees only that group's messages.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from pydantic import BaseModel, Field

from bot.errors import ToolError
from bot.recall import memory_line, scope_for
from bot.tools import Tool, ToolContext, tool
from memory.memories import KINDS, MemoryStore
from memory.search import MessageFilter, Searcher

MAX_RESULTS = 20


class RememberArgs(BaseModel):
    text: str = Field(
        description="The fact as one self-contained sentence, e.g. 'Lives in Lisbon since May 2026'."
    )
    kind: str = Field("fact", description="One of: fact, preference, person, plan.")
    key: str = Field(
        "",
        description=(
            "Short subject, e.g. 'home city' or 'sister'. A new memory with the same key "
            "replaces the old one (kept as history)."
        ),
    )
    replaces: int | None = Field(
        None, description="Id of a memory this one contradicts or corrects (from recall)."
    )
    expires: date | None = Field(
        None, description="Date (YYYY-MM-DD) after which this stops being true, for plans."
    )


class RecallArgs(BaseModel):
    query: str = Field("", description="What to look for; empty lists the newest memories.")
    limit: int = Field(8, ge=1, le=MAX_RESULTS)


class ForgetArgs(BaseModel):
    memory: str = Field(description="A memory id (e.g. 12) or text contained in the memories.")


class SearchHistoryArgs(BaseModel):
    query: str = Field(description="Words to look for in earlier messages.")
    since: date | None = Field(None, description="Only messages on or after this date.")
    until: date | None = Field(None, description="Only messages on or before this date.")
    limit: int = Field(8, ge=1, le=MAX_RESULTS)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def memory_tools(memories: MemoryStore, searcher: Searcher) -> list[Tool]:
    """The memory tools, bound to the stores (wired in bot/app.py)."""

    @tool
    async def remember(ctx: ToolContext, args: RememberArgs) -> str:
        """Save a lasting fact, preference, person or plan about the user to long-term
        memory. Use it when they tell you something worth knowing later, and always when
        they ask you to remember something."""
        if args.kind not in KINDS:
            raise ToolError(f"kind must be one of {', '.join(KINDS)}")
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
        )
        if saved.duplicate:
            return f"Already remembered as #{saved.memory.id}."
        text = f"Remembered as #{saved.memory.id}."
        if saved.superseded:
            old = "; ".join(f"#{m.id} {m.content}" for m in saved.superseded)
            text += f" It replaces (kept as history): {old}"
        return text

    @tool
    async def recall(ctx: ToolContext, args: RecallArgs) -> str:
        """Look up what you remember about the user (current memories, with ids)."""
        now = ctx.now()
        if args.query.strip():
            hits = await searcher.search_memories(
                ctx.user.id, args.query, limit=args.limit, now=now
            )
            found = [hit.memory for hit in hits]
        else:
            found = await memories.current(ctx.user.id, now=now, limit=args.limit)
        if not found:
            return "No matching memories."
        return "\n".join(memory_line(m) for m in found)

    @tool
    async def forget(ctx: ToolContext, args: ForgetArgs) -> str:
        """Delete memories of the user: by id, or all current ones containing the text.
        Use it when the user asks you to forget something."""
        gone = await memories.forget(ctx.user.id, args.memory, now=ctx.now())
        if not gone:
            return f"No memory matches {args.memory!r}; nothing was deleted."
        return "Forgotten: " + "; ".join(f"#{m.id} {m.content}" for m in gone)

    @tool
    async def search_history(ctx: ToolContext, args: SearchHistoryArgs) -> str:
        """Search earlier messages of the conversation history (with their dates), e.g.
        to answer 'what did I tell you about the flat in May?'."""
        where = MessageFilter(
            since=_day_start(args.since) if args.since else None,
            until=_day_start(args.until + timedelta(days=1)) if args.until else None,
        )
        hits = await searcher.search_messages(
            scope_for(ctx.user, ctx.conversation),
            args.query,
            limit=args.limit,
            where=where,
            now=ctx.now(),
        )
        if not hits:
            return "No earlier messages match."
        lines = []
        for hit in hits:
            who = hit.speaker or hit.author or hit.role
            local = hit.at.astimezone(ctx.timezone)
            lines.append(f"[{local:%Y-%m-%d %H:%M}] {who}: {' '.join(hit.text.split())[:600]}")
        return "\n".join(lines)

    return [remember, recall, forget, search_history]
