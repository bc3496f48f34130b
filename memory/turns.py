"""Turn numbers, one per turn of a conversation, unique in the schema.

A turn's number orders history (`ORDER BY turn NULLS LAST, id`), so two writers must
never both use turn N: two replicas answering one conversation, or a reminder written
into the conversation by the background while a turn runs (it takes "the last turn +
1" too). Each new number is claimed as a `turns` row (primary key conversation +
number) in the same transaction as the first messages that carry it.

A claim asks for a number (the turn's plan: the one after its context) and gets it, or
the next free one when it is taken; the messages of that transaction carry what it got.
The statement is one INSERT … SELECT … ON CONFLICT DO NOTHING: it never aborts the
transaction (the step's tool calls already ran, so its messages must be stored), and a
concurrent claim of the same number only sends it round once more.
"""

from __future__ import annotations

from sqlalchemy import Integer, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable

from memory.db.models import Turn, table

_turns = table(Turn)
_CONVERSATION = bindparam("conversation_id", type_=Integer)
_WANTED = bindparam("wanted", type_=Integer)


def _claim(dialect: str) -> Executable:
    """INSERT the larger of `wanted` and (the conversation's last claimed turn + 1)."""
    after_last = func.coalesce(func.max(_turns.c.number), 0) + 1
    # PostgreSQL's max() is an aggregate only; SQLite's max(a, b) is its greatest().
    number = (
        func.greatest(after_last, _WANTED)
        if dialect == "postgresql"
        else func.max(after_last, _WANTED)
    )
    pick = select(_CONVERSATION, number).where(_turns.c.conversation_id == _CONVERSATION)
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(_turns)
        .from_select(["conversation_id", "number"], pick)
        .on_conflict_do_nothing()
        .returning(_turns.c.number)
    )


# Built once: a turn claims its number on every first step.
_CLAIMS = {dialect: _claim(dialect) for dialect in ("postgresql", "sqlite")}


async def claim_turn(connection: AsyncConnection, conversation_id: int, wanted: int = 0) -> int:
    """Claim a new turn number for the conversation inside the caller's transaction:
    `wanted` when it is after every claimed turn, else the next one after them."""
    statement = _CLAIMS[connection.dialect.name]
    params = {"conversation_id": conversation_id, "wanted": wanted}
    while True:
        number = (await connection.execute(statement, params)).scalar()
        if number is not None:
            return int(number)
