"""Migration 0003_tasks up and down on SQLite and PostgreSQL, matching the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect

from memory import db
from memory.models import Base

TABLES = {"jobs", "tasks", "task_events", "deliveries"}


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    """Like migrations/env.py: APScheduler's and full-text tables are not ours to compare."""
    foreign = ("apscheduler_", "messages_fts", "sqlite_")
    return not (type_ == "table" and name is not None and name.startswith(foreign))


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"include_name": include_name, "compare_type": True}
    )
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_0003_goes_up_and_down_and_matches_the_models(database_url: str) -> None:
    engine = db.create_engine(database_url)
    try:
        await db.upgrade(engine, "0003_tasks")
        async with engine.connect() as connection:
            assert TABLES <= await connection.run_sync(_tables)
            assert await connection.run_sync(_diff) == []
        await db.downgrade(engine, "0001")
        async with engine.connect() as connection:
            assert not TABLES & await connection.run_sync(_tables)
        await db.upgrade(engine, "0003_tasks")
        assert await db.current_revision(engine) == "0003_tasks"
    finally:
        await engine.dispose()
