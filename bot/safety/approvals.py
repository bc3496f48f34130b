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

Several replicas (PostgreSQL): the person's answer may reach a replica other than the
one whose turn waits. That replica finds the question in SQL (waiting, owned by a live
replica), answers it with the store's guarded UPDATE (the first answer wins, wherever
it is given) and says so with an `approval:<id>` notice (memory/db/notices.py); the
waiting replica reads the answer from SQL. A lost notice only delays: a waiting turn
reads its question's row every POLL_EVERY seconds too.
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
from memory.db.notices import Notices
from memory.db.sqltypes import utcnow

log = logging.getLogger(__name__)

APPROVED = "approved"
DENIED = "denied"
EXPIRED = "expired"
UNASKED = "unasked"

YES = {"yes", "y", "yes please", "ok", "okay", "approve", "approved", "go ahead", "do it", "sure"}
NO = {"no", "n", "nope", "deny", "denied", "don't", "do not", "cancel", "no thanks"}
# A waiting turn reads its question again this often, in case a notice was lost.
POLL_EVERY = 2.0


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

    def __init__(
        self,
        store: ApprovalStore,
        outbox: Outbox,
        timeout: float,
        notices: Notices | None = None,
        *,
        poll_every: float = POLL_EVERY,
    ) -> None:
        self._store = store
        self._outbox = outbox
        self.timeout = timeout
        self._notices = notices
        # Other replicas may hold questions (PostgreSQL): look in SQL too.
        self._shared = notices is not None and notices.shared
        self._poll_every = poll_every
        self._waiting: dict[int, list[_Waiting]] = {}
        self._reading: set[asyncio.Task[None]] = set()
        self._started_at = utcnow()
        self._swept = False
        # Set whenever a question is sent (the terminal chat stops waiting for the turn).
        self.asked = asyncio.Event()
        if notices is not None:
            notices.on("approval", self._heard)

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
                approved = await self._wait(waiting)
            return Answer(APPROVED if approved else DENIED, record.id, waiting.by, waiting.at)
        except TransportError as exc:
            log.warning("could not ask for approval #%s: %s", record.id, exc)
            await self._store.settle(record.id, "cancelled", SYSTEM)
            return Answer(UNASKED, record.id)
        except TimeoutError:
            if not await self._store.settle(record.id, EXPIRED, SYSTEM):
                # Answered elsewhere just as the time ran out: that answer stands.
                await self._read_answers([waiting])
                if waiting.answer.done():
                    outcome = APPROVED if waiting.answer.result() else DENIED
                    return Answer(outcome, record.id, waiting.by, waiting.at)
            return Answer(EXPIRED, record.id, at=utcnow())
        except asyncio.CancelledError:
            await asyncio.shield(self._store.settle(record.id, "cancelled", SYSTEM))
            raise
        finally:
            queue = self._waiting.get(conversation.id, [])
            if waiting in queue:
                queue.remove(waiting)
            if not queue:
                self._waiting.pop(conversation.id, None)

    async def _wait(self, waiting: _Waiting) -> bool:
        """The answer, given here or (read from SQL) on another replica."""
        while True:
            await asyncio.wait([waiting.answer], timeout=self._poll_every)
            if not waiting.answer.done():
                await self._read_answers([waiting])
            if waiting.answer.done():
                return waiting.answer.result()

    def _heard(self, key: str) -> None:
        """An `approval:<id>` notice: if that question waits here, read its answer."""
        found = [w for q in self._waiting.values() for w in q if str(w.record.id) == key]
        if found and not found[0].answer.done():
            task = asyncio.get_running_loop().create_task(self._read_answers(found))
            self._reading.add(task)
            task.add_done_callback(self._reading.discard)

    async def _read_answers(self, waitings: list[_Waiting]) -> None:
        """Take the answers SQL has for these questions (given on any replica)."""
        by_id = {w.record.id: w for w in waitings if not w.answer.done()}
        for record in await self._store.decided(list(by_id)):
            waiting = by_id[record.id]
            if waiting.answer.done():
                continue
            waiting.by, waiting.at = record.decided_by or SYSTEM, record.decided_at
            waiting.answer.set_result(record.status == APPROVED)

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

    async def waiting_of(self, user_id: int) -> list[ApprovalRecord]:
        """Everything that waits for this person's answer, in any conversation and (on
        PostgreSQL) any replica, oldest first (the dashboard's list; answered there through
        `decide` like a reply in the chat)."""
        found = [
            w.record
            for queue in self._waiting.values()
            for w in queue
            if w.record.user_id == user_id and not w.answer.done()
        ]
        if self._shared:
            found += await self._store.waiting_elsewhere(user_id=user_id)
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
        answering account, `platform:id`), whichever replica's turn waits; returns the
        reply."""
        queue = self._waiting.get(conversation_id, [])
        if approval_id is not None:
            # An id names one approval wherever it waits: Slack's slash command
            # arrives in the direct chat, not in the thread that asked.
            queue = [w for q in self._waiting.values() for w in q if w.record.id == approval_id]
        candidates = [w.record for w in queue if not w.answer.done()]
        if not candidates and self._shared:
            elsewhere = await self._store.waiting_elsewhere(
                conversation_id=None if approval_id is not None else conversation_id
            )
            candidates = [r for r in elsewhere if approval_id in (None, r.id)]
        if not candidates:
            return self._nothing(approval_id)
        record = candidates[0]
        if record.user_id != user_id:
            return "Only the person I'm working for in this turn can answer that."
        if not await self._store.settle(record.id, APPROVED if approve else DENIED, by):
            return self._nothing(approval_id)  # answered a moment ago, maybe elsewhere
        here = [w for q in self._waiting.values() for w in q if w.record.id == record.id]
        if here and not here[0].answer.done():
            here[0].by, here[0].at = by, utcnow()
            here[0].answer.set_result(approve)
        elif self._notices is not None:
            await self._notices.publish("approval", record.id)
        if approve:
            return f"Approved #{record.id}: {record.summary}"
        return f"Refused #{record.id}; I won't do it."

    @staticmethod
    def _nothing(approval_id: int | None) -> str:
        which = f" #{approval_id}" if approval_id is not None else ""
        return f"Nothing{which} is waiting for a confirmation here."

    async def refuse_all(self) -> int:
        """Refuse everything that waits (nobody can answer, e.g. `clawling chat -m`)."""
        refused = 0
        for queue in list(self._waiting.values()):
            for waiting in queue:
                if not waiting.answer.done():
                    await self._store.settle(waiting.record.id, DENIED, SYSTEM)
                    waiting.by, waiting.at = SYSTEM, utcnow()
                    waiting.answer.set_result(False)
                    refused += 1
        return refused

    async def match_reply(
        self, conversation_id: int, user_id: int, text: str
    ) -> tuple[Command, str] | None:
        """ "yes"/"no" become /approve or /deny while something waits for this person,
        in this process or (read from SQL) in another replica's turn."""
        word = _normalise(text)
        if word not in YES and word not in NO:
            return None
        if not self.waiting_for(conversation_id, user_id):
            if not self._shared:
                return None
            elsewhere = await self._store.waiting_elsewhere(
                conversation_id=conversation_id, user_id=user_id
            )
            if not elsewhere:
                return None
        return (self._approve, "") if word in YES else (self._deny, "")

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
