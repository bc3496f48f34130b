"""Every migration runs up and down on SQLite and PostgreSQL, and the models agree
with what the migrations build."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from memory import db
from memory.db import include_name
from memory.models import Base


def _revisions() -> list[str]:
    script = ScriptDirectory.from_config(db.alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"include_name": include_name, "compare_type": True}
    )
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return {t for t in inspect(connection).get_table_names() if include_name(t, "table", {})}


async def test_each_migration_goes_up_and_down(database_url: str) -> None:
    engine = db.create_engine(database_url)
    try:
        revisions = _revisions()
        assert revisions[0] == "0001"
        for revision in revisions:
            await db.upgrade(engine, revision)
            assert await db.current_revision(engine) == revision
        for revision in reversed(revisions[:-1]):
            await db.downgrade(engine, revision)
            assert await db.current_revision(engine) == revision
        await db.downgrade(engine, "base")
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) == {"alembic_version"} or (
                await connection.run_sync(_tables) == set()
            )
        await db.upgrade(engine, "head")
        assert await db.current_revision(engine) == db.head_revision()
    finally:
        await engine.dispose()


async def test_models_match_migrations(database_url: str) -> None:
    engine = db.create_engine(database_url)
    try:
        await db.upgrade(engine)
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
        assert differences == []
    finally:
        await engine.dispose()
