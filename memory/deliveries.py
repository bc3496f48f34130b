"""Deliveries: messages the background sends to chats, each sent once.

A delivery is written in the same transaction as the change that causes it (a
reminder firing, a task finishing), under an idempotency `key`; a second write
with the same key is a no-op. Senders claim a pending row atomically, send it,
then mark it sent, so two processes never send the same row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from memory.db import commit_without_flush_wait, writing
from memory.db.models import Conversation, Delivery, Message, table
from memory.db.sqltypes import utcnow
from memory.replicas import taken_over
from memory.turns import claim_turn

# A turn's answer is written claimed by the turn itself ("sending"), in the transaction
# that stores it: the turn shows it (streamed), then marks it sent; if the platform
# refuses, it goes back to "pending" for the deliverer; if the process dies, the row is
# stale after a while and sent again. Statements built once (they run every turn).
_deliveries = table(Delivery)
INSERT_CLAIMED = insert(_deliveries)
_MARK_SENT = (
    update(_deliveries)
    .where(_deliveries.c.key == bindparam("delivery_key"))
    .values(status="sent", message_id=bindparam("message_id"))
)
_RELEASE = (
    update(_deliveries)
    .where(_deliveries.c.key == bindparam("delivery_key"), _deliveries.c.status == "sending")
    .values(status="pending", claimed_by=None)
)


def claimed_row(message: OutgoingMessage, owner: str | None = None) -> dict[str, object]:
    """The row for INSERT_CLAIMED: a delivery its writer (the replica `owner`) is
    sending now."""
    now = utcnow()
    return {
        "claimed_by": owner,
        "key": message.key,
        "channel": message.channel,
        "chat_id": message.chat_id,
        "thread_id": message.thread_id,
        "text": message.text,
        "status": "sending",
        "attempts": 1,
        "created_at": now,
        "claimed_at": now,
    }


@dataclass(frozen=True)
class OutgoingMessage:
    """What to send and where; `key` makes it idempotent."""

    key: str
    channel: str
    chat_id: str
    thread_id: str
    text: str
    # Also part of the conversation, so later turns know it was said (a reminder,
    # a task's result); progress notes are not.
    in_history: bool = False
    # Stored in the conversation as untrusted (a result made from outside content).
    untrusted: bool = False
    # (label, command) buttons under the message, where the platform has them.
    buttons: tuple[tuple[str, str], ...] = ()
    # `chat_id` is a platform account: sent to that person's private chat (found when
    # sending, so a failure to find it is retried like a failed send).
    to_account: bool = False


@dataclass(frozen=True)
class DeliveryRecord:
    id: int
    key: str
    channel: str
    chat_id: str
    thread_id: str
    text: str
    status: str
    attempts: int
    message_id: str | None
    buttons: tuple[tuple[str, str], ...] = ()
    to_account: bool = False


def _record(row: Delivery) -> DeliveryRecord:
    return DeliveryRecord(
        row.id,
        row.key,
        row.channel,
        row.chat_id,
        row.thread_id,
        row.text,
        row.status,
        row.attempts,
        row.message_id,
        tuple((str(label), str(command)) for label, command in row.buttons or ()),
        bool(row.to_account),
    )


async def add_deliveries(session: AsyncSession, messages: Sequence[OutgoingMessage]) -> None:
    """Queue messages inside the caller's transaction; keys already queued are skipped."""
    if not messages:
        return
    keys = [m.key for m in messages]
    known = set(
        (await session.execute(select(Delivery.key).where(Delivery.key.in_(keys)))).scalars()
    )
    fresh = [m for m in dict((m.key, m) for m in messages).values() if m.key not in known]
    if fresh:
        await session.execute(
            insert(Delivery),
            [
                {
                    "key": m.key,
                    "channel": m.channel,
                    "chat_id": m.chat_id,
                    "thread_id": m.thread_id,
                    "text": m.text,
                    "status": "pending",
                    "attempts": 0,
                    "created_at": utcnow(),
                    "buttons": [list(b) for b in m.buttons] or None,
                    "to_account": m.to_account,
                }
                for m in fresh
            ],
        )
        for message in fresh:
            if message.in_history:
                await _append_to_history(session, message)


async def _append_to_history(session: AsyncSession, message: OutgoingMessage) -> None:
    """Store the message as the assistant's, as a turn of its own after the last one."""
    conversation = (
        await session.execute(
            select(Conversation.id, Conversation.owner_id).where(
                Conversation.channel == message.channel,
                Conversation.chat_id == message.chat_id,
                Conversation.thread_id == message.thread_id,
            )
        )
    ).one_or_none()
    if conversation is None:
        return
    last = await session.execute(
        select(func.max(Message.turn)).where(Message.conversation_id == conversation.id)
    )
    wanted = (last.scalar() or 0) + 1
    turn = await claim_turn(await session.connection(), conversation.id, wanted)
    await session.execute(
        insert(Message).values(
            conversation_id=conversation.id,
            user_id=conversation.owner_id,
            turn=turn,
            role="assistant",
            content=message.text,
            created_at=utcnow(),
            untrusted=message.untrusted,
        )
    )


class DeliveryStore:
    """Deliveries; `owner` is this process's replica id (memory/replicas.py), written on
    what it claims so other replicas leave it alone while it lives."""

    def __init__(self, engine: AsyncEngine, owner: str | None = None) -> None:
        self._engine = engine
        self._owner = owner
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    @property
    def shared(self) -> bool:
        """Whether other processes may send these deliveries too (PostgreSQL)."""
        return self._engine.dialect.name == "postgresql"

    async def add(self, *messages: OutgoingMessage) -> None:
        async with self._sessions() as session, session.begin():
            await add_deliveries(session, messages)

    async def claim(self, channels: Sequence[str], limit: int = 50) -> list[DeliveryRecord]:
        """Pending deliveries for these channels, now marked as being sent by the caller."""
        if not channels:
            return []
        query = (
            select(Delivery.id)
            .where(Delivery.status == "pending", Delivery.channel.in_(channels))
            .order_by(Delivery.id)
            .limit(limit)
        )
        claimed = []
        async with self._sessions() as session, session.begin():
            for delivery_id in (await session.execute(query)).scalars().all():
                won = await session.execute(
                    update(Delivery)
                    .where(Delivery.id == delivery_id, Delivery.status == "pending")
                    .values(
                        status="sending",
                        claimed_at=utcnow(),
                        claimed_by=self._owner,
                        attempts=Delivery.attempts + 1,
                    )
                )
                if won.rowcount:  # type: ignore[attr-defined]
                    claimed.append(delivery_id)
            if not claimed:
                return []
            rows = await session.execute(select(Delivery).where(Delivery.id.in_(claimed)))
            return sorted((_record(r) for r in rows.scalars()), key=lambda d: d.id)

    async def mark_sent(self, delivery_id: int, message_id: str) -> None:
        async with writing(self._engine) as connection:
            # The mark follows the send as closely as it can (a process killed between
            # the two sends it again), so it does not wait for the WAL flush.
            await commit_without_flush_wait(connection)
            await connection.execute(
                update(_deliveries)
                .where(_deliveries.c.id == delivery_id)
                .values(status="sent", message_id=message_id)
            )

    async def mark_sent_by_key(self, sent: Sequence[tuple[str, str]]) -> None:
        """(key, platform message id) of deliveries their claimer sent: one transaction."""
        if not sent:
            return
        rows = [{"delivery_key": key, "message_id": message_id} for key, message_id in sent]
        async with writing(self._engine) as connection:
            await commit_without_flush_wait(connection)  # as in mark_sent
            await connection.execute(_MARK_SENT, rows)

    async def release_key(self, key: str) -> None:
        """Its claimer could not send it: the deliverer takes it from here."""
        async with writing(self._engine) as connection:
            await connection.execute(_RELEASE, {"delivery_key": key})

    async def release(self, delivery_id: int, *, give_up: bool) -> None:
        """Sending failed: try again later, or stop trying."""
        await self._set(delivery_id, status="failed" if give_up else "pending", claimed_by=None)

    async def release_stale(self, older_than: timedelta, now: datetime | None = None) -> int:
        """Rows left 'sending' by a replica that is gone: send them again. A live
        replica's rows stay its own; rows of an unknown owner, or this replica's own,
        once claimed `older_than` ago (memory/replicas.py)."""
        now = now or utcnow()
        orphaned = taken_over(
            _deliveries.c.claimed_by,
            _deliveries.c.claimed_at,
            now=now,
            me=self._owner,
            before=now - older_than,
        )
        async with writing(self._engine) as connection:
            result = await connection.execute(
                update(_deliveries)
                .where(_deliveries.c.status == "sending", orphaned)
                .values(status="pending", claimed_by=None)
            )
            return int(result.rowcount or 0)

    async def by_key(self, key: str) -> DeliveryRecord | None:
        async with self._sessions() as session:
            row = (await session.execute(select(Delivery).where(Delivery.key == key))).scalar()
            return None if row is None else _record(row)

    async def count(self, status: str) -> int:
        async with self._sessions() as session:
            query = select(func.count()).where(Delivery.status == status)
            return int((await session.execute(query)).scalar_one())

    async def _set(self, delivery_id: int, **values: object) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(Delivery).where(Delivery.id == delivery_id).values(**values)
            )
