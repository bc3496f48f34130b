"""A person's conversations as they read them back (the dashboard's conversations page).

What is theirs is what the assistant's own search lets them see from a private chat
(`Scope(user_id)` in memory/retrieval/scopes.py): the messages they sent and the
replies written for them. So a group chat they took part in shows their side of it
only — other people's words in the group are theirs, as in /export — and a private
chat that belongs to someone else is never listed, whatever it holds. Tool calls and
their results are not shown: only what was said.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from memory.db import reading
from memory.db.models import Conversation, Message, table

_conversations = table(Conversation)
_messages = table(Message)
SAID = ("user", "assistant")


@dataclass(frozen=True)
class Chat:
    """One conversation as listed: where it is, and the person's part of it."""

    id: int
    channel: str
    chat_id: str
    thread_id: str
    is_direct: bool
    last_at: datetime
    messages: int


@dataclass(frozen=True)
class Line:
    """One message said in a conversation, by the person or the assistant."""

    id: int
    role: str
    text: str
    at: datetime
    speaker: str | None  # who said it, for imported history


@dataclass(frozen=True)
class Lines:
    """A page of a conversation, oldest first; `earlier`: whether more lie before it."""

    lines: list[Line]
    earlier: bool


def _theirs(user_id: int) -> ColumnElement[bool]:
    """The person's said messages, in conversations that are not someone else's private chat."""
    return and_(
        _messages.c.user_id == user_id,
        _messages.c.role.in_(SAID),
        _messages.c.content != "",
        or_(_conversations.c.is_direct.is_(False), _conversations.c.owner_id == user_id),
    )


_LISTED = (
    select(
        _conversations.c.id,
        _conversations.c.channel,
        _conversations.c.chat_id,
        _conversations.c.thread_id,
        _conversations.c.is_direct,
        func.max(_messages.c.created_at).label("last_at"),
        func.count(_messages.c.id).label("messages"),
    )
    .select_from(_messages.join(_conversations, _conversations.c.id == _messages.c.conversation_id))
    .group_by(
        _conversations.c.id,
        _conversations.c.channel,
        _conversations.c.chat_id,
        _conversations.c.thread_id,
        _conversations.c.is_direct,
    )
)


class Transcripts:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def chats(self, user_id: int, *, limit: int = 20, offset: int = 0) -> list[Chat]:
        """The person's conversations, the most recently active first."""
        query = (
            _LISTED.where(_theirs(user_id))
            .order_by(func.max(_messages.c.created_at).desc(), _conversations.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        async with reading(self._engine) as connection:
            return [Chat(**row) for row in (await connection.execute(query)).mappings()]

    async def count(self, user_id: int) -> int:
        query = (
            select(func.count(func.distinct(_messages.c.conversation_id)))
            .select_from(
                _messages.join(_conversations, _conversations.c.id == _messages.c.conversation_id)
            )
            .where(_theirs(user_id))
        )
        async with reading(self._engine) as connection:
            return int((await connection.execute(query)).scalar_one())

    async def chat(self, user_id: int, conversation_id: int) -> Chat | None:
        """One of the person's conversations; None for one they have no part in."""
        query = _LISTED.where(_theirs(user_id), _conversations.c.id == conversation_id)
        async with reading(self._engine) as connection:
            row = (await connection.execute(query)).mappings().one_or_none()
        return None if row is None else Chat(**row)

    async def lines(
        self, user_id: int, conversation_id: int, *, before: int | None = None, limit: int = 50
    ) -> Lines:
        """The newest `limit` of the person's messages there (before message `before`)."""
        query = (
            select(
                _messages.c.id,
                _messages.c.role,
                _messages.c.content.label("text"),
                _messages.c.created_at.label("at"),
                _messages.c.speaker,
            )
            .select_from(
                _messages.join(_conversations, _conversations.c.id == _messages.c.conversation_id)
            )
            .where(_theirs(user_id), _messages.c.conversation_id == conversation_id)
            .order_by(_messages.c.id.desc())
            .limit(limit + 1)
        )
        if before is not None:
            query = query.where(_messages.c.id < before)
        async with reading(self._engine) as connection:
            rows = [Line(**row) for row in (await connection.execute(query)).mappings()]
        return Lines(list(reversed(rows[:limit])), earlier=len(rows) > limit)
