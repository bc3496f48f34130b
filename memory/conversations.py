"""The conversation store: people, conversations, messages and model usage in SQL.

Returns plain dataclasses; ORM rows never leave this module.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from memory.db import reading, writing
from memory.db.models import Conversation, Identity, Message, User, table
from memory.db.sqltypes import utcnow
from memory.deliveries import INSERT_CLAIMED, OutgoingMessage, claimed_row
from memory.turns import claim_turn
from memory.usage import LLMCallRecord, settle

# Another process changing a person (their time zone) is seen within this long.
USER_CACHE_SECONDS = 60.0


class PersonGone(LookupError):
    """The user row is gone: merged into another person by a link (memory/linking.py),
    seen by a process whose cache of the account's person is a few seconds old."""

    def __init__(self, user_id: int) -> None:
        super().__init__(f"user {user_id} no longer exists")
        self.user_id = user_id


@dataclass(frozen=True)
class UserRecord:
    id: int
    name: str
    timezone: str | None


@dataclass(frozen=True)
class ConversationRecord:
    id: int
    channel: str
    chat_id: str
    thread_id: str
    is_direct: bool
    owner_id: int | None


@dataclass(frozen=True)
class SavedFile:
    """A file kept under the data dir, referenced by a message."""

    kind: str  # "image", "text", "audio", "file"
    name: str
    mime_type: str
    path: str  # relative to the data dir
    size: int


@dataclass(frozen=True)
class ToolCallRecord:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class StoredMessage:
    id: int
    conversation_id: int
    user_id: int | None
    turn: int | None
    role: str
    content: str
    created_at: datetime
    tool_calls: tuple[ToolCallRecord, ...] = ()
    tool_call_id: str | None = None
    attachments: tuple[SavedFile, ...] = ()
    author: str | None = None  # the speaker's name, for user messages
    # From outside the person's own words (a page, a file, tool output), or written while
    # such content was in the model's context: see bot/safety/gate.py.
    untrusted: bool = False


@dataclass(frozen=True)
class NewMessage:
    """A message produced during a turn, before it is stored."""

    role: str
    content: str
    tool_calls: tuple[ToolCallRecord, ...] = ()
    tool_call_id: str | None = None
    untrusted: bool = False


@dataclass(frozen=True)
class Context:
    """What the model may see of a conversation, oldest first."""

    messages: list[StoredMessage]
    next_turn: int


@dataclass(frozen=True)
class WaitingConversation:
    """A conversation with user messages that no turn has answered yet."""

    conversation: ConversationRecord
    user_id: int  # who sent the newest waiting message
    up_to_id: int
    platform_message_id: str | None


# Statements of every turn, built once: building a statement costs SQLAlchemy more
# than SQLite takes to run it (bench/turn_overhead.py). Core tables, not ORM
# entities, so execution skips the ORM layer too.
_messages = table(Message)
_users = table(User)
_conversations = table(Conversation)

_MESSAGE_COLUMNS = (
    _messages.c.id,
    _messages.c.conversation_id,
    _messages.c.user_id,
    _messages.c.turn,
    _messages.c.role,
    _messages.c.content,
    _messages.c.created_at,
    _messages.c.tool_calls,
    _messages.c.tool_call_id,
    _messages.c.attachments,
    _messages.c.untrusted,
)
_CONTEXT_START = (
    select(_conversations.c.context_from_turn)
    .where(_conversations.c.id == bindparam("conversation_id"))
    .scalar_subquery()
)
_LOAD_CONTEXT = (
    select(*_MESSAGE_COLUMNS, _users.c.name)
    .outerjoin(_users, _users.c.id == _messages.c.user_id)
    .where(
        _messages.c.conversation_id == bindparam("conversation_id"),
        or_(_messages.c.turn >= _CONTEXT_START, _messages.c.turn.is_(None)),
        _messages.c.set_aside.is_(False),
    )
    .order_by(_messages.c.turn.is_(None), _messages.c.turn, _messages.c.id)
)
_CONTEXT_BOUNDS = select(
    _CONTEXT_START,
    select(func.max(_messages.c.turn))
    .where(_messages.c.conversation_id == bindparam("conversation_id"))
    .scalar_subquery(),
)
_INSERT_MESSAGE = insert(_messages).returning(_messages.c.id, sort_by_parameter_order=True)
_STAMP_ANSWERED = (
    update(_messages)
    .where(_messages.c.id.in_(bindparam("ids", expanding=True)), _messages.c.turn.is_(None))
    .values(turn=bindparam("answered_in"))
)
_GET_USER = select(_users.c.id, _users.c.name, _users.c.timezone).where(
    _users.c.id == bindparam("user_id")
)


def _message_from_row(row: Any) -> StoredMessage:
    """A message from a Core row of _MESSAGE_COLUMNS followed by the author's name."""
    return StoredMessage(
        id=row[0],
        conversation_id=row[1],
        user_id=row[2],
        turn=row[3],
        role=row[4],
        content=row[5],
        created_at=row[6],
        tool_calls=tuple(ToolCallRecord(**call) for call in row[7] or ()),
        tool_call_id=row[8],
        attachments=tuple(SavedFile(**item) for item in row[9] or ()),
        author=row[11] if row[4] == "user" else None,
        untrusted=row[10],
    )


def _conversation(row: Conversation) -> ConversationRecord:
    return ConversationRecord(
        id=row.id,
        channel=row.channel,
        chat_id=row.chat_id,
        thread_id=row.thread_id,
        is_direct=row.is_direct,
        owner_id=row.owner_id,
    )


def _calls_json(calls: Sequence[ToolCallRecord]) -> list[dict[str, Any]] | None:
    if not calls:
        return None
    return [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in calls]


class ConversationStore:
    """Async access to users, conversations, messages and usage. `owner`: this process's
    replica id, on the answers its turns claim (memory/replicas.py)."""

    def __init__(self, engine: AsyncEngine, owner: str | None = None) -> None:
        self._engine = engine
        self._owner = owner
        self._users: dict[int, tuple[float, UserRecord]] = {}
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    def session(self) -> AsyncSession:
        return self._sessions()

    async def resolve_identity(
        self, platform: str, external_id: str, display_name: str
    ) -> UserRecord:
        """The user behind a platform account, created on first contact."""
        query = (
            select(User)
            .join(Identity, Identity.user_id == User.id)
            .where(Identity.platform == platform, Identity.external_id == external_id)
        )
        async with self._sessions() as session:
            user = (await session.execute(query)).scalar_one_or_none()
            if user is None:
                try:
                    user = User(name=display_name or external_id)
                    session.add(user)
                    await session.flush()
                    session.add(
                        Identity(
                            user_id=user.id,
                            platform=platform,
                            external_id=external_id,
                            display_name=display_name,
                        )
                    )
                    await session.commit()
                except IntegrityError:
                    # Another task created it first; use theirs.
                    await session.rollback()
                    user = (await session.execute(query)).scalar_one()
            return UserRecord(id=user.id, name=user.name, timezone=user.timezone)

    async def identities(self, user_id: int) -> list[str]:
        """The person's platform accounts as platform:id ("telegram:42"), oldest first."""
        query = (
            select(Identity.platform, Identity.external_id)
            .where(Identity.user_id == user_id)
            .order_by(Identity.id)
        )
        async with reading(self._engine) as connection:
            rows = (await connection.execute(query)).all()
        return [f"{platform}:{external_id}" for platform, external_id in rows]

    async def get_user(self, user_id: int, *, fresh: bool = False) -> UserRecord | None:
        """The person, from a short-lived cache: the agent reads them every turn.
        `fresh`: read from the database."""
        cached = self._users.get(user_id)
        if not fresh and cached is not None and time.monotonic() - cached[0] < USER_CACHE_SECONDS:
            return cached[1]
        async with reading(self._engine) as connection:
            row = (await connection.execute(_GET_USER, {"user_id": user_id})).one_or_none()
        if row is None:
            self._users.pop(user_id, None)
            return None
        record = UserRecord(row[0], row[1], row[2])
        self._users[user_id] = (time.monotonic(), record)
        return record

    def forget_users(self, user_ids: tuple[int, ...]) -> None:
        """These people changed (accounts linked or unlinked): read them again."""
        for user_id in user_ids:
            self._users.pop(user_id, None)

    async def set_timezone(self, user_id: int, zone: str) -> None:
        async with writing(self._engine) as connection:
            await connection.execute(update(User).where(User.id == user_id).values(timezone=zone))
        self._users.pop(user_id, None)

    async def open_conversation(
        self, channel: str, chat_id: str, thread_id: str, *, is_direct: bool, owner_id: int | None
    ) -> ConversationRecord:
        """The conversation for this chat and thread, created on first contact."""
        query = select(Conversation).where(
            Conversation.channel == channel,
            Conversation.chat_id == chat_id,
            Conversation.thread_id == thread_id,
        )
        async with self._sessions() as session:
            row = (await session.execute(query)).scalar_one_or_none()
            if row is None:
                try:
                    row = Conversation(
                        channel=channel,
                        chat_id=chat_id,
                        thread_id=thread_id,
                        is_direct=is_direct,
                        owner_id=owner_id if is_direct else None,
                        context_from_turn=0,
                    )
                    session.add(row)
                    await session.commit()
                except IntegrityError:
                    await session.rollback()
                    row = (await session.execute(query)).scalar_one()
            return _conversation(row)

    async def find_conversation(
        self, channel: str, chat_id: str, thread_id: str
    ) -> ConversationRecord | None:
        """The conversation for this chat and thread, if there has been one."""
        query = select(Conversation).where(
            Conversation.channel == channel,
            Conversation.chat_id == chat_id,
            Conversation.thread_id == thread_id,
        )
        async with self._sessions() as session:
            row = (await session.execute(query)).scalar_one_or_none()
            return None if row is None else _conversation(row)

    async def get_conversation(self, conversation_id: int) -> ConversationRecord | None:
        async with self._sessions() as session:
            row = await session.get(Conversation, conversation_id)
            return None if row is None else _conversation(row)

    async def add_user_message(
        self,
        conversation_id: int,
        user_id: int,
        text: str,
        *,
        platform_message_id: str | None = None,
        sent_at: datetime | None = None,
        attachments: Sequence[SavedFile] = (),
        untrusted: bool = False,
    ) -> StoredMessage | None:
        """Store an incoming message; None if this platform message was stored before.
        `untrusted`: it carries content that is not the person's own words (files)."""
        created = sent_at or utcnow()
        files = [asdict(f) for f in attachments] or None
        row = {
            "conversation_id": conversation_id,
            "user_id": user_id,
            "role": "user",
            "content": text,
            "attachments": files,
            "platform_message_id": platform_message_id,
            "created_at": created,
            "untrusted": untrusted,
        }
        try:
            async with writing(self._engine) as connection:
                message_id = (await connection.execute(_INSERT_MESSAGE, [row])).scalar_one()
        except IntegrityError:
            if await self.get_user(user_id, fresh=True) is None:
                raise PersonGone(user_id) from None
            return None
        return StoredMessage(
            id=message_id,
            conversation_id=conversation_id,
            user_id=user_id,
            turn=None,
            role="user",
            content=text,
            created_at=created,
            attachments=tuple(attachments),
            untrusted=untrusted,
        )

    async def load_context(self, conversation_id: int) -> Context:
        """Messages of the current context in the order the model sees them."""
        params = {"conversation_id": conversation_id}
        async with reading(self._engine) as connection:
            rows = (await connection.execute(_LOAD_CONTEXT, params)).all()
            messages = [_message_from_row(row) for row in rows]
            turns = [m.turn for m in messages if m.turn is not None]
            if turns:
                return Context(messages=messages, next_turn=max(turns) + 1)
            # Nothing answered in this context yet (new conversation, or just after /new).
            bounds = (await connection.execute(_CONTEXT_BOUNDS, params)).one()
        return Context(messages=messages, next_turn=max((bounds[1] or 0) + 1, bounds[0] or 0))

    @staticmethod
    async def _next_turn(session: AsyncSession, conversation_id: int) -> int:
        """A new turn after the conversation's last one, claimed (memory/turns.py)."""
        last = await session.execute(
            select(func.max(Message.turn)).where(Message.conversation_id == conversation_id)
        )
        return await claim_turn(
            await session.connection(), conversation_id, (last.scalar() or 0) + 1
        )

    async def record_step(
        self,
        conversation_id: int,
        user_id: int | None,
        turn: int,
        messages: Sequence[NewMessage],
        consumed: Sequence[int] = (),
        call: LLMCallRecord | None = None,
        answer: OutgoingMessage | None = None,
    ) -> int:
        """Store one agent step in one transaction: stamp the user messages it answers,
        add its messages, the model call's usage and, for the final step, the `answer`
        as a delivery claimed by the caller (memory/deliveries.py).

        The turn's first step (the one that stamps `consumed`) claims the turn's number
        (memory/turns.py): `turn`, or the next free one when something else took it
        meanwhile. Returns the number the step was stored under, for the turn's other
        steps."""
        now = utcnow()
        async with writing(self._engine) as connection:
            if consumed:
                turn = await claim_turn(connection, conversation_id, turn)
                stamp = {"ids": list(consumed), "answered_in": turn}
                await connection.execute(_STAMP_ANSWERED, stamp)
            rows = [
                {
                    "conversation_id": conversation_id,
                    "user_id": user_id,
                    "turn": turn,
                    "role": m.role,
                    "content": m.content,
                    "tool_calls": _calls_json(m.tool_calls),
                    "tool_call_id": m.tool_call_id,
                    "created_at": now,
                    "untrusted": m.untrusted,
                }
                for m in messages
            ]
            await connection.execute(_INSERT_MESSAGE, rows)
            if call is not None:
                await settle(connection, call)  # its row replaces its token hold
            if answer is not None:
                await connection.execute(INSERT_CLAIMED, claimed_row(answer, self._owner))
        return turn

    async def set_aside(
        self,
        conversation_id: int,
        user_id: int,
        turn: int,
        ids: Sequence[int],
        reply: NewMessage,
        answer: OutgoingMessage | None,
    ) -> None:
        """Messages too large for the model: answered by `reply` in `turn` (or the next
        free turn, see `record_step`), kept stored, and left out of every later context
        (so the conversation goes on)."""
        async with writing(self._engine) as connection:
            turn = await claim_turn(connection, conversation_id, turn)
            await connection.execute(
                update(_messages)
                .where(_messages.c.id.in_(list(ids)), _messages.c.turn.is_(None))
                .values(turn=turn, set_aside=True)
            )
            row = {
                "conversation_id": conversation_id,
                "user_id": user_id,
                "turn": turn,
                "role": reply.role,
                "content": reply.content,
                "created_at": utcnow(),
                "untrusted": reply.untrusted,
            }
            await connection.execute(_INSERT_MESSAGE, [row])
            if answer is not None:
                await connection.execute(INSERT_CLAIMED, claimed_row(answer, self._owner))

    async def close_pending(self, conversation_id: int, up_to_id: int) -> None:
        """Mark waiting user messages up to `up_to_id` as handled without an answer (/stop)."""
        async with self._sessions() as session, session.begin():
            turn = await self._next_turn(session, conversation_id)
            await self._stamp_pending(session, conversation_id, up_to_id, turn)

    async def start_new_context(self, conversation_id: int, up_to_id: int) -> None:
        """/new: the model sees nothing up to `up_to_id`; everything stays stored."""
        async with self._sessions() as session, session.begin():
            turn = await self._next_turn(session, conversation_id)
            await self._stamp_pending(session, conversation_id, up_to_id, turn)
            await session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(context_from_turn=turn + 1)
            )

    @staticmethod
    async def _stamp_pending(
        session: AsyncSession, conversation_id: int, up_to_id: int, turn: int
    ) -> None:
        await session.execute(
            update(Message)
            .where(
                Message.conversation_id == conversation_id,
                Message.turn.is_(None),
                Message.id <= up_to_id,
            )
            .values(turn=turn)
        )

    async def last_message_id(self, conversation_id: int) -> int:
        """The id of the conversation's newest message (0 if none)."""
        async with self._sessions() as session:
            last = await session.execute(
                select(func.max(Message.id)).where(Message.conversation_id == conversation_id)
            )
            return int(last.scalar() or 0)

    async def set_context_start(self, conversation_id: int, turn: int) -> None:
        """Let the model see only turns from `turn` on (history stays stored)."""
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(context_from_turn=turn)
            )

    async def waiting_conversations(
        self, since: datetime, channels: Sequence[str], before: datetime | None = None
    ) -> list[WaitingConversation]:
        """Conversations on `channels` with user messages still unanswered that arrived
        after `since` (and before `before`), each with the newest of them. Read through
        the index of waiting messages (migration 0019_waiting), however long the history."""
        conditions = [Message.turn.is_(None), Message.role == "user", Message.created_at >= since]
        if before is not None:
            conditions.append(Message.created_at < before)
        newest = (
            select(Message.conversation_id, func.max(Message.id).label("last_id"))
            .where(*conditions)
            .group_by(Message.conversation_id)
            .subquery()
        )
        query = (
            select(Conversation, Message.user_id, Message.id, Message.platform_message_id)
            .join(newest, newest.c.conversation_id == Conversation.id)
            .join(Message, Message.id == newest.c.last_id)
            .where(Conversation.channel.in_(channels))
            .order_by(Message.id)
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return [
            WaitingConversation(_conversation(row[0]), row[1], row[2], row[3])
            for row in rows
            if row[1] is not None
        ]

    async def unanswered(self, conversation_id: int) -> int:
        """How many user messages of the conversation still wait for an answer."""
        async with self._sessions() as session:
            count = await session.execute(
                select(func.count()).where(
                    Message.conversation_id == conversation_id,
                    Message.role == "user",
                    Message.turn.is_(None),
                )
            )
            return int(count.scalar_one())
