"""What a search may see: a scope (one person's data, or one group chat) and
filters on messages (a time range, a conversation's live context to leave out)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, exists, or_, select

from memory.db.models import Message, table

_messages = table(Message)


def live_context(conversation: Any, from_turn: Any) -> ColumnElement[bool]:
    """A conversation's messages the model sees: from its context's first turn on,
    and those not answered yet. Values or bind parameters."""
    return and_(
        _messages.c.conversation_id == conversation,
        or_(_messages.c.turn.is_(None), _messages.c.turn >= from_turn),
    )


# Is anything of the scope outside a conversation's live context? Asked before the
# per-turn recall: while a conversation's whole history is in the model's context
# (most are), there is nothing to recall, and the full-text ranking, whose BM25
# weights read every match of each word in the whole index, is skipped. Built
# once: building a statement costs SQLAlchemy more than SQLite takes to answer it.
OUTSIDE_LIVE = {
    by_conversation: select(
        exists().where(
            (_messages.c.conversation_id if by_conversation else _messages.c.user_id)
            == bindparam("scope_id"),
            ~live_context(bindparam("skip_c"), bindparam("skip_t")),
        )
    )
    for by_conversation in (False, True)
}


@dataclass(frozen=True)
class Scope:
    """Whose data a search may see.

    In a private chat: everything of `user_id`. In a group chat
    (`conversation_id` set): only that conversation's messages, which everyone
    in it has seen, and only the speaker's memories.
    """

    user_id: int
    conversation_id: int | None = None

    @property
    def message_token(self) -> str:
        return f"c{self.conversation_id}" if self.conversation_id else f"u{self.user_id}"

    def message_condition(self, *, use_index: bool = True) -> ColumnElement[bool]:
        """SQL for "in scope". `use_index=False` keeps planners from scanning all of a
        user's messages by their user index when a narrower index fits (`+ 0`)."""
        column: Any = Message.conversation_id if self.conversation_id else Message.user_id
        wanted = self.conversation_id or self.user_id
        return (column if use_index else column + 0) == wanted


@dataclass(frozen=True)
class MessageFilter:
    """Optional limits: a time range, and the live context of one conversation to skip
    (what the model already sees)."""

    since: datetime | None = None
    until: datetime | None = None
    skip_conversation: int | None = None
    skip_from_turn: int = 0


@dataclass(frozen=True)
class Candidate:
    id: int
    conversation_id: int
    turn: int | None
    at: datetime
    score: float


def filter_conditions(where: MessageFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if where.since is not None:
        conditions.append(Message.created_at >= where.since)
    if where.until is not None:
        conditions.append(Message.created_at < where.until)
    if where.skip_conversation is not None:
        conditions.append(~live_context(where.skip_conversation, where.skip_from_turn))
    return conditions
