"""The merge finds a person's rows from the schema, so tables added later are merged too
(memory/merge.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import (
    Column,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    select,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from memory import db
from memory.db.models import Base
from memory.merge import UnmergeableSchema, move_person, unmergeable, user_columns


def test_every_table_that_names_a_person_is_merged() -> None:
    found = {f"{c.table.name}.{c.column.name}" for c in user_columns()}
    expected = {
        f"{table.name}.{key.parent.name}"
        for table in Base.metadata.tables.values()
        for key in table.foreign_keys
        if key.target_fullname == "users.id"
    }
    assert found == expected
    assert {"messages.user_id", "memories.user_id", "jobs.user_id", "identities.user_id"} <= found


def test_the_schema_has_no_unique_constraint_a_merge_could_not_keep() -> None:
    # A new table unique per person with nothing to rename must decide how to merge.
    assert unmergeable() == []


def _later_schema() -> tuple[MetaData, Table, Table]:
    """A schema as it might grow: per-person notes with unique names, and a settings table
    with one row per person (unmergeable)."""
    metadata = MetaData()
    Table("users", metadata, Column("id", Integer, primary_key=True))
    notes = Table(
        "notes",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("user_id", ForeignKey("users.id", ondelete="CASCADE")),
        Column("name", String(10)),
        UniqueConstraint("user_id", "name"),
    )
    settings = Table(
        "settings",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("user_id", ForeignKey("users.id"), unique=True),
    )
    return metadata, notes, settings


@pytest.fixture
async def later(database_url: str) -> AsyncIterator[tuple[AsyncEngine, MetaData, Table, Table]]:
    engine = db.create_engine(database_url)
    metadata, notes, settings = _later_schema()
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
        await connection.execute(metadata.tables["users"].insert(), [{"id": 1}, {"id": 2}])
    try:
        yield engine, metadata, notes, settings
    finally:
        await engine.dispose()


async def test_a_clashing_name_gets_a_suffix_and_both_rows_stay(
    later: tuple[AsyncEngine, MetaData, Table, Table],
) -> None:
    engine, metadata, notes, _ = later
    rows = [
        {"user_id": 1, "name": "shopping"},
        {"user_id": 2, "name": "shopping"},
        {"user_id": 2, "name": "shopping-2"},
        {"user_id": 2, "name": "books"},
    ]
    async with engine.begin() as connection:
        await connection.execute(notes.insert(), rows)
        moved = await move_person(connection, 2, 1, metadata)
        names = (
            await connection.execute(select(notes.c.user_id, notes.c.name).order_by(notes.c.id))
        ).all()
    assert moved == {"notes.user_id": 3, "settings.user_id": 0}
    # The survivor's note keeps its name; the arriving one takes the first free suffix
    # (its own "shopping-2" stays as it was).
    assert names == [(1, "shopping"), (1, "shopping-3"), (1, "shopping-2"), (1, "books")]


async def test_a_row_unique_per_person_stops_the_merge_rather_than_lose_it(
    later: tuple[AsyncEngine, MetaData, Table, Table],
) -> None:
    engine, metadata, notes, settings = later
    assert unmergeable(metadata) == ["settings(user_id)"]
    async with engine.begin() as connection:
        await connection.execute(settings.insert(), [{"user_id": 1}, {"user_id": 2}])
    with pytest.raises(UnmergeableSchema, match="settings.user_id"):
        async with engine.begin() as connection:
            await move_person(connection, 2, 1, metadata)
    async with engine.connect() as connection:
        kept = (await connection.execute(select(settings.c.user_id))).scalars().all()
    assert sorted(kept) == [1, 2]
