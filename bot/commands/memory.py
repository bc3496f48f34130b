"""Chat commands for memory: /memory, /forget, /export, /forget_me, /compact.

What is stored about a person is shown or exported only in a private chat with
them; in a group these commands point there instead. Forgetting, exporting and
erasing are functions the dashboard's memories page calls too (`forget_memories`,
`export_file` with `record_export`, `erase_everything`), so the audit entries are
the same wherever they are done.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from bot.agent.recall import memory_line
from bot.chat.channels import ChatRef, FileSender
from bot.chat.outbox import Outbox
from bot.commands.registry import Command, CommandContext, CommandRegistry
from bot.errors import TransportError
from bot.people.trail import Trail
from memory.audit import Actor
from memory.compaction import Compactor
from memory.memories import MemoryRecord, MemoryStore
from memory.privacy import Erased, PrivacyStore

log = logging.getLogger(__name__)

PAGE_SIZE = 10
CONFIRM_WITHIN = timedelta(minutes=5)
CONFIRM_WORD = "yes"
PRIVATE_ONLY = "For your privacy, use /{name} in a private chat with me."


async def forget_memories(
    memories: MemoryStore, trail: Trail, actor: Actor, user_id: int, what: str, now: datetime
) -> list[MemoryRecord]:
    """Forget the person's memory with this id, or those containing this text; audited."""
    gone = await memories.forget(user_id, what, now=now)
    if gone:
        await trail.record("memory.forgotten", actor, what="memories", ids=[m.id for m in gone])
    return gone


@dataclass(frozen=True)
class ExportFile:
    """Everything stored about a person, as the JSON file /export sends."""

    name: str
    data: bytes
    memories: int
    messages: int

    @property
    def summary(self) -> str:
        return f"{self.memories} memories, {self.messages} messages"


async def export_file(privacy: PrivacyStore, user_id: int, now: datetime) -> ExportFile:
    document = await privacy.export(user_id, now)
    return ExportFile(
        name=f"clawling-export-{now:%Y%m%d-%H%M%S}.json",
        data=json.dumps(document, ensure_ascii=False, indent=2).encode(),
        memories=len(document["memories"]),
        messages=len(document["messages"]),
    )


async def record_export(trail: Trail, actor: Actor, export: ExportFile, where: str) -> None:
    """The audit entry of an export that reached the person (`where`: how)."""
    await trail.record(
        "memory.exported", actor, memories=export.memories, messages=export.messages, to=where
    )


async def erase_everything(
    privacy: PrivacyStore, trail: Trail, actor: Actor, user_id: int, data_dir: Path
) -> Erased:
    """Delete everything stored about the person (their files too); audited."""
    erased = await privacy.erase(user_id, data_dir)
    await trail.record(
        "memory.forgotten",
        actor,
        what="everything",
        memories=erased.memories,
        messages=erased.messages,
        summaries=erased.summaries,
    )
    return erased


def _chat(ctx: CommandContext) -> ChatRef:
    c = ctx.conversation
    return ChatRef(c.channel, c.chat_id, c.thread_id)


@dataclass
class MemoryCommands:
    memories: MemoryStore
    privacy: PrivacyStore
    compactor: Compactor
    outbox: Outbox
    data_dir: Path
    trail: Trail
    _pending_erase: dict[int, datetime] = field(default_factory=dict)

    async def memory(self, ctx: CommandContext) -> str:
        if not ctx.conversation.is_direct:
            return PRIVATE_ONLY.format(name="memory")
        total = await self.memories.count_current(ctx.user.id, now=ctx.now)
        if total == 0:
            return "I don't remember anything about you yet."
        pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
        page = int(ctx.args) if re.fullmatch(r"\d{1,6}", ctx.args.strip()) else 1
        page = min(max(page, 1), pages)
        shown = await self.memories.current(
            ctx.user.id, now=ctx.now, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        first = (page - 1) * PAGE_SIZE + 1
        lines = [f"What I remember about you ({first}–{first + len(shown) - 1} of {total}):"]
        lines.extend(memory_line(m) for m in shown)
        if page < pages:
            lines.append(f"More: /memory {page + 1}")
        lines.append("Forget one: /forget <id or text>. Everything: /forget_me.")
        return "\n".join(lines)

    async def forget(self, ctx: CommandContext) -> str:
        if not ctx.conversation.is_direct:
            return PRIVATE_ONLY.format(name="forget")
        if not ctx.args.strip():
            return "Usage: /forget <id or text> (see /memory for ids)."
        gone = await forget_memories(
            self.memories, self.trail, ctx.actor, ctx.user.id, ctx.args, ctx.now
        )
        if not gone:
            return f"Nothing I remember matches {ctx.args.strip()!r}."
        return "Forgotten:\n" + "\n".join(memory_line(m) for m in gone)

    async def export(self, ctx: CommandContext) -> str:
        if not ctx.conversation.is_direct:
            return PRIVATE_ONLY.format(name="export")
        export = await export_file(self.privacy, ctx.user.id, ctx.now)
        chat = _chat(ctx)
        if isinstance(self.outbox.adapter(chat.channel), FileSender):
            try:
                await self.outbox.send_file(
                    chat, export.name, export.data, "Everything I store about you."
                )
            except TransportError as exc:
                log.warning("export could not be sent: %s", exc)
                return f"I could not send the file ({exc.user_message}) Please try again."
            await record_export(self.trail, ctx.actor, export, "sent as a file in the chat")
            return f"Sent your export: {export.summary}."
        folder = self.data_dir / "exports"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"user-{ctx.user.id}-{export.name}"
        path.write_bytes(export.data)
        await record_export(self.trail, ctx.actor, export, f"saved at {path}")
        return (
            f"This chat app cannot receive files, so your export ({export.summary}) "
            f"is saved at {path}"
        )

    async def forget_me(self, ctx: CommandContext) -> str:
        if not ctx.conversation.is_direct:
            return PRIVATE_ONLY.format(name="forget_me")
        asked = self._pending_erase.pop(ctx.user.id, None)
        confirmed = ctx.args.strip().lower() == CONFIRM_WORD
        if not confirmed or asked is None or ctx.now - asked > CONFIRM_WITHIN:
            self._pending_erase[ctx.user.id] = ctx.now
            return (
                "This deletes everything I store about you: memories, all your messages, "
                "summaries and usage records. It cannot be undone.\n"
                f"To confirm, send /forget_me {CONFIRM_WORD} within 5 minutes."
            )
        erased = await erase_everything(
            self.privacy, self.trail, ctx.actor, ctx.user.id, self.data_dir
        )
        return (
            f"Done. I deleted {erased.memories} memories, {erased.messages} messages and "
            f"{erased.summaries} summaries. I know nothing about you now."
        )

    async def compact(self, ctx: CommandContext) -> str:
        done = await self.compactor.compact_now(ctx.user, ctx.conversation)
        if done is None:
            return "I couldn't summarise the conversation right now; nothing changed."
        if not done.folded:
            return "Nothing to compact yet."
        return (
            f"Compacted {done.folded} messages into the conversation summary"
            f" and saved {done.facts} facts to long-term memory. History stays searchable."
        )

    def register(self, registry: CommandRegistry) -> None:
        registry.add(
            Command("memory", "what I remember about you (/memory 2: next page)", self.memory)
        )
        registry.add(Command("forget", "forget a memory: /forget <id or text>", self.forget))
        registry.add(Command("export", "a JSON file of everything I store about you", self.export))
        registry.add(Command("forget_me", "delete everything I store about you", self.forget_me))
        registry.add(
            Command("compact", "summarise this conversation now (history is kept)", self.compact)
        )
