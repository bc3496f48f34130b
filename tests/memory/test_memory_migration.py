"""Migration 0002_memory on real SQLite and PostgreSQL: up, down, and models agree."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect

from memory import db
from memory.db import include_name
from memory.models import Base
from memory.search import Scope, Searcher
from memory.sqltypes import UtcDateTime

T0 = datetime(2026, 1, 1, tzinfo=UTC)
# Table shapes before 0002_memory, so inserts work while it is not applied.
USERS = sa.table("users", sa.column("name"), sa.column("created_at", UtcDateTime()))
CONVERSATIONS = sa.table(
    "conversations",
    *(sa.column(c) for c in ("channel", "chat_id", "thread_id", "is_direct", "context_from_turn")),
    sa.column("created_at", UtcDateTime()),
)
MESSAGES = sa.table(
    "messages",
    *(sa.column(c) for c in ("conversation_id", "user_id", "role", "content")),
    sa.column("created_at", UtcDateTime()),
)


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"include_name": include_name, "compare_type": True}
    )
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_upgrade_matches_models_and_downgrade_removes_everything(database_url: str) -> None:
    engine = db.create_engine(database_url)
    try:
        await db.upgrade(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
            tables = await connection.run_sync(_tables)
        assert {"memories", "conversation_summaries", "embeddings"} <= tables

        await db.downgrade(engine, "-1")
        async with engine.connect() as connection:
            tables = await connection.run_sync(_tables)
            columns = await connection.run_sync(
                lambda c: {col["name"] for col in inspect(c).get_columns("messages")}
            )
        assert not {"memories", "conversation_summaries", "embeddings"} & tables
        assert not any(name.endswith(("_fts", "_fts_data")) for name in tables)
        assert "speaker" not in columns and "search_vector" not in columns

        # And up again: the full-text index is rebuilt from messages stored meanwhile.
        async with engine.begin() as connection:
            await connection.execute(sa.insert(USERS).values(name="a", created_at=T0))
            await connection.execute(
                sa.insert(CONVERSATIONS).values(
                    channel="t",
                    chat_id="c",
                    thread_id="",
                    is_direct=True,
                    context_from_turn=0,
                    created_at=T0,
                )
            )
            await connection.execute(
                sa.insert(MESSAGES).values(
                    conversation_id=1,
                    user_id=1,
                    role="user",
                    content="the blue bicycle",
                    created_at=T0,
                )
            )
        await db.upgrade(engine)
        hits = await Searcher(engine).search_messages(Scope(user_id=1), "bicycles")
        assert [h.text for h in hits] == ["the blue bicycle"]
    finally:
        await engine.dispose()
