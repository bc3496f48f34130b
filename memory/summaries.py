"""A conversation's slowly changing context: its rolling summary and a profile snapshot.

Both sit in the prompt's background block, right after the system text, so they
change only when the context window moves anyway (compaction, /new): the cached
prompt prefix survives every ordinary turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from memory.db import reading
from memory.db.models import Conversation, ConversationSummary, table
from memory.db.sqltypes import utcnow


@dataclass(frozen=True)
class SummaryRecord:
    conversation_id: int
    summary: str
    profile: str
    through_turn: int
    window_start: int
    updated_at: datetime
    # The summary was made from untrusted messages (it may repeat what they said).
    untrusted: bool = False


_summaries = table(ConversationSummary)
_conversations = table(Conversation)
# Read every turn; built once (see memory/conversations.py).
_STATE = (
    select(_conversations.c.context_from_turn, _summaries)
    .select_from(_conversations)
    .outerjoin(_summaries, _summaries.c.conversation_id == _conversations.c.id)
    .where(_conversations.c.id == bindparam("conversation_id"))
)


class SummaryStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def get(self, conversation_id: int) -> SummaryRecord | None:
        async with self._sessions() as session:
            row = await session.get(ConversationSummary, conversation_id)
            if row is None:
                return None
            return SummaryRecord(
                row.conversation_id,
                row.summary,
                row.profile,
                row.through_turn,
                row.window_start,
                row.updated_at,
                row.untrusted,
            )

    async def save(
        self,
        conversation_id: int,
        *,
        summary: str,
        profile: str,
        through_turn: int,
        window_start: int,
        untrusted: bool = False,
    ) -> None:
        async with self._sessions() as session, session.begin():
            row = await session.get(ConversationSummary, conversation_id)
            if row is None:
                row = ConversationSummary(conversation_id=conversation_id)
                session.add(row)
            row.summary = summary
            row.profile = profile
            row.through_turn = through_turn
            row.window_start = window_start
            row.untrusted = untrusted
            row.updated_at = utcnow()

    async def state(self, conversation_id: int) -> tuple[int, SummaryRecord | None]:
        """The conversation's window start and its stored summary, in one query."""
        async with reading(self._engine) as connection:
            params = {"conversation_id": conversation_id}
            row = (await connection.execute(_STATE, params)).one_or_none()
        if row is None:
            return 0, None
        window = int(row.context_from_turn or 0)
        if row.conversation_id is None:
            return window, None
        stored = SummaryRecord(
            row.conversation_id,
            row.summary,
            row.profile,
            row.through_turn,
            row.window_start,
            row.updated_at,
            bool(row.untrusted),
        )
        return window, stored

    async def window_start(self, conversation_id: int) -> int:
        """The first turn the model sees in this conversation."""
        async with self._sessions() as session:
            start = await session.execute(
                select(Conversation.context_from_turn).where(Conversation.id == conversation_id)
            )
            return int(start.scalar_one_or_none() or 0)
