"""Asking a person to confirm a tool call, in the chat, while the turn waits.

A call that needs confirmation (see bot/safety/gate.py) becomes a pending
approval: a row in SQL (what was asked, why, and the outcome) and a message in
the conversation. The turn waits for the answer: "yes"/"no" from the person the
turn is for, in the same conversation, or `/approve [id]` / `/deny [id]`. Both
run at once even while the turn runs (immediate commands), so the tool call
either goes ahead in the same turn or the model is told it was refused.
No answer within the time limit counts as no; after a restart, what waited is
recorded as expired. Each answer says who gave it (their `platform:id`) and when, for
the audit trail's entry of the call.
"""

from __future__ import annotations

import asyncio
import json
import logging
import string
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel

from bot.chat.channels import ChatRef
from bot.chat.outbox import Outbox
from bot.commands.registry import Command, CommandContext, CommandRegistry
from bot.errors import TransportError
from bot.tools import Tool, ToolContext
from memory.approvals import ApprovalRecord, ApprovalStore
from memory.audit import SYSTEM
from memory.db.sqltypes import utcnow

log = logging.getLogger(__name__)

APPROVED = "approved"
DENIED = "denied"
EXPIRED = "expired"
UNASKED = "unasked"

YES = {"yes", "y", "yes please", "ok", "okay", "approve", "approved", "go ahead", "do it", "sure"}
NO = {"no", "n", "nope", "deny", "denied", "don't", "do not", "cancel", "no thanks"}


@dataclass(frozen=True)
class Answer:
    """How a question ended: APPROVED, DENIED, EXPIRED or UNASKED, and for an answer
    given, by whom (`platform:id`, or "system" when nobody could answer) and when."""

    outcome: str
    approval_id: int | None = None
    by: str = ""
    at: datetime | None = None


@dataclass
class _Waiting:
    record: ApprovalRecord
    answer: asyncio.Future[bool] = field(default_factory=asyncio.Future)
    by: str = ""
    at: datetime | None = None


def _normalise(text: str) -> str:
    return " ".join(text.lower().strip().strip(string.punctuation + "!¡¿").split())


class Approvals:
    """Pending approvals: asked by tool hooks, answered by commands and replies."""

    def __init__(self, store: ApprovalStore, outbox: Outbox, timeout: float) -> None:
        self._store = store
        self._outbox = outbox
        self.timeout = timeout
        self._waiting: dict[int, list[_Waiting]] = {}
        self._started_at = utcnow()
        self._swept = False
        # Set whenever a question is sent (the terminal chat stops waiting for the turn).
        self.asked = asyncio.Event()

    async def ask(self, ctx: ToolContext, tool: Tool, args: BaseModel, reason: str) -> Answer:
        """Ask the turn's person to confirm this call and wait for the answer: APPROVED,
        DENIED, EXPIRED or UNASKED (the question could not be sent)."""
        conversation = ctx.conversation
        summary = tool.describe(args)
        await self._expire_earlier()
        record = await self._store.create(
            conversation.id,
            ctx.user.id,
            tool.name,
            json.dumps(args.model_dump(mode="json"), ensure_ascii=False),
            summary,
            reason,
        )
        waiting = _Waiting(record)
        self._waiting.setdefault(conversation.id, []).append(waiting)
        chat = ChatRef(conversation.channel, conversation.chat_id, conversation.thread_id)
        try:
            await self._outbox.send(chat, self._question(record))
            self.asked.set()
            async with asyncio.timeout(self.timeout):
                approved = await waiting.answer
            return Answer(APPROVED if approved else DENIED, record.id, waiting.by, waiting.at)
        except TransportError as exc:
            log.warning("could not ask for approval #%s: %s", record.id, exc)
            await self._store.settle(record.id, "cancelled")
            return Answer(UNASKED, record.id)
        except TimeoutError:
            await self._store.settle(record.id, EXPIRED)
            return Answer(EXPIRED, record.id, at=utcnow())
        except asyncio.CancelledError:
            await asyncio.shield(self._store.settle(record.id, "cancelled"))
            raise
        finally:
            queue = self._waiting.get(conversation.id, [])
            if waiting in queue:
                queue.remove(waiting)
            if not queue:
                self._waiting.pop(conversation.id, None)

    def _question(self, record: ApprovalRecord) -> str:
        minutes = max(1, round(self.timeout / 60))
        return (
            f"🔐 Confirmation needed (#{record.id}): {record.summary}\n"
            f"Why I ask: {record.reason}\n"
            f'Reply "yes" to allow it once or "no" to refuse (or /approve {record.id}, '
            f"/deny {record.id}). I'll wait {minutes} min."
        )

    def waiting_for(self, conversation_id: int, user_id: int) -> list[ApprovalRecord]:
        """What waits for this person's answer in this conversation, oldest first."""
        return [
            w.record
            for w in self._waiting.get(conversation_id, [])
            if w.record.user_id == user_id and not w.answer.done()
        ]

    def waiting_of(self, user_id: int) -> list[ApprovalRecord]:
        """Everything that waits for this person's answer, in any conversation, oldest first
        (the dashboard's list; answered there through `decide` like a reply in the chat)."""
        found = [
            w.record
            for queue in self._waiting.values()
            for w in queue
            if w.record.user_id == user_id and not w.answer.done()
        ]
        return sorted(found, key=lambda record: record.id)

    async def record(self, approval_id: int) -> ApprovalRecord | None:
        """What was asked under this id and how it ended (None when there is no such id)."""
        return await self._store.get(approval_id)

    async def decide(
        self,
        conversation_id: int,
        user_id: int,
        approve: bool,
        approval_id: int | None = None,
        by: str = "",
    ) -> str:
        """Answer a waiting approval (the oldest one when no id is given) as `by` (the
        answering account, `platform:id`); returns the reply."""
        queue = self._waiting.get(conversation_id, [])
        if approval_id is not None:
            # An id names one approval wherever it waits: Slack's slash command
            # arrives in the direct chat, not in the thread that asked.
            queue = [w for q in self._waiting.values() for w in q if w.record.id == approval_id]
        candidates = [w for w in queue if not w.answer.done()]
        if not candidates:
            which = f" #{approval_id}" if approval_id is not None else ""
            return f"Nothing{which} is waiting for a confirmation here."
        waiting = candidates[0]
        if waiting.record.user_id != user_id:
            return "Only the person I'm working for in this turn can answer that."
        await self._store.settle(waiting.record.id, APPROVED if approve else DENIED)
        waiting.by, waiting.at = by, utcnow()
        waiting.answer.set_result(approve)
        if approve:
            return f"Approved #{waiting.record.id}: {waiting.record.summary}"
        return f"Refused #{waiting.record.id}; I won't do it."

    async def refuse_all(self) -> int:
        """Refuse everything that waits (nobody can answer, e.g. `clawling chat -m`)."""
        refused = 0
        for queue in list(self._waiting.values()):
            for waiting in queue:
                if not waiting.answer.done():
                    await self._store.settle(waiting.record.id, DENIED)
                    waiting.by, waiting.at = SYSTEM, utcnow()
                    waiting.answer.set_result(False)
                    refused += 1
        return refused

    def match_reply(
        self, conversation_id: int, user_id: int, text: str
    ) -> tuple[Command, str] | None:
        """ "yes"/"no" become /approve or /deny while something waits for this person."""
        if not self.waiting_for(conversation_id, user_id):
            return None
        word = _normalise(text)
        if word in YES:
            return self._approve, ""
        if word in NO:
            return self._deny, ""
        return None

    def register(self, registry: CommandRegistry) -> None:
        """Add /approve and /deny, and let plain yes/no replies answer."""

        async def approve(ctx: CommandContext) -> str:
            return await self._answer(ctx, True)

        async def deny(ctx: CommandContext) -> str:
            return await self._answer(ctx, False)

        self._approve = Command(
            "approve", "allow what I asked to do (/approve [id])", approve, True
        )
        self._deny = Command("deny", "refuse what I asked to do (/deny [id])", deny, True)
        registry.add(self._approve)
        registry.add(self._deny)
        registry.add_reply_matcher(self.match_reply)

    async def _answer(self, ctx: CommandContext, approve: bool) -> str:
        raw = ctx.args.strip().lstrip("#")
        if raw and not raw.isdigit():
            return f"Usage: /{'approve' if approve else 'deny'} [number]"
        return await self.decide(
            ctx.conversation.id, ctx.user.id, approve, int(raw) if raw else None, ctx.account
        )

    async def _expire_earlier(self) -> None:
        """Approvals still waiting from before this process started cannot be answered
        any more (their turns were interrupted): record them as expired, once."""
        if not self._swept:
            self._swept = True
            expired = await self._store.expire_waiting(before=self._started_at)
            if expired:
                log.info("%d approvals from before the restart expired", expired)
