"""Moving every row of one person to another, found from the schema itself.

Linking two accounts (memory/linking.py) makes the person merged in disappear into the
surviving one. Listing the tables by hand would silently drop a table added later (its
rows deleted by ON DELETE CASCADE with the user row), so the columns are read from the
models' metadata: every foreign key to `users.id`, in every table.

A unique constraint that includes such a column (a per-person name) could make the
move fail. Both rows are kept: the moved one's name gets a suffix ("notes" becomes
"notes-2"); the survivor's row keeps its name. A constraint with no text column to
rename cannot keep both, so `unmergeable` names it (tests/memory/test_merge.py fails
on such a schema) and `move_person` refuses rather than lose a row.

Some rules of a person's data are not constraints: one current memory per key, one
active and one pending skill per name. `one_current_memory_per_key` and
`one_skill_per_name` restore them after a move.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Column,
    Index,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    and_,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from memory.db.models import Base, MemoryItem, UserSkill, table
from memory.skills import ACTIVE, PENDING, REPLACED

_memories = table(MemoryItem)
_skills = table(UserSkill)


@dataclass(frozen=True)
class UserColumn:
    """A column holding a person's id, and the unique column sets it takes part in."""

    table: Table
    column: Column[object]
    unique: tuple[tuple[Column[object], ...], ...]


class UnmergeableSchema(RuntimeError):
    """A unique constraint with a person's id and no text to rename (see the docstring)."""


def user_columns(metadata: MetaData = Base.metadata) -> list[UserColumn]:
    """Every column that refers to `users.id`, with its unique constraints."""
    users = metadata.tables["users"]
    found = []
    for each in metadata.sorted_tables:
        for key in each.foreign_keys:
            if key.column.table is users:
                column = key.parent
                unique = tuple(c for c in _unique_sets(each) if column in c)
                found.append(UserColumn(each, column, unique))
    return found


def unmergeable(metadata: MetaData = Base.metadata) -> list[str]:
    """Unique constraints on a person's id that a merge could not keep both sides of."""
    return [
        f"{found.table.name}({', '.join(c.name for c in columns)})"
        for found in user_columns(metadata)
        for columns in found.unique
        if _renameable(columns, found.column) is None
    ]


async def move_person(
    connection: AsyncConnection,
    merged_id: int,
    survivor_id: int,
    metadata: MetaData = Base.metadata,
) -> dict[str, int]:
    """Give every row of `merged_id` to `survivor_id`, inside the caller's transaction.
    Returns how many rows moved per `table.column`."""
    moved: dict[str, int] = {}
    for found in user_columns(metadata):
        for columns in found.unique:
            await _rename_clashes(connection, found, columns, merged_id, survivor_id)
        result = await connection.execute(
            update(found.table)
            .where(found.column == merged_id)
            .values({found.column.name: survivor_id})
        )
        moved[f"{found.table.name}.{found.column.name}"] = result.rowcount
    return moved


async def one_current_memory_per_key(connection: AsyncConnection, user_id: int) -> None:
    """Both people may have had a current memory under one key: the newer stays current,
    the older becomes its history (what `MemoryStore.remember` does with a restated key)."""
    current = and_(
        _memories.c.user_id == user_id,
        _memories.c.key != "",
        _memories.c.superseded_by_id.is_(None),
    )
    rows = await connection.execute(
        select(_memories.c.id, _memories.c.key)
        .where(current)
        .order_by(_memories.c.key, _memories.c.updated_at.desc(), _memories.c.id.desc())
    )
    newest: dict[str, int] = {}
    for memory_id, key in rows.all():
        if key not in newest:
            newest[key] = memory_id
            continue
        await connection.execute(
            update(_memories)
            .where(_memories.c.id == memory_id)
            .values(superseded_by_id=newest[key])
        )


async def one_skill_per_name(connection: AsyncConnection, user_id: int, now: datetime) -> None:
    """At most one active and one pending version per name (the store's rule): the most
    recently decided (or drafted) stays, the other is "replaced" and kept."""
    for status in (ACTIVE, PENDING):
        rows = await connection.execute(
            select(_skills.c.id, _skills.c.name)
            .where(_skills.c.user_id == user_id, _skills.c.status == status)
            .order_by(
                _skills.c.name,
                func.coalesce(_skills.c.decided_at, _skills.c.created_at).desc(),
                _skills.c.id.desc(),
            )
        )
        seen: set[str] = set()
        for skill_id, name in rows.all():
            if name in seen:
                await connection.execute(
                    update(_skills)
                    .where(_skills.c.id == skill_id)
                    .values(status=REPLACED, decided_at=now)
                )
            seen.add(name)


def _unique_sets(table: Table) -> Iterator[tuple[Column[object], ...]]:
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint) or constraint is table.primary_key:
            yield tuple(constraint.columns)
    for index in table.indexes:
        if isinstance(index, Index) and index.unique:
            yield tuple(c for c in index.columns if isinstance(c, Column))


def _renameable(columns: tuple[Column[object], ...], user: Column[object]) -> Column[object] | None:
    """The text column of a unique set that can take a suffix, if there is one."""
    for column in columns:
        if column is not user and isinstance(column.type, String):
            return column
    return None


async def _rename_clashes(
    connection: AsyncConnection,
    found: UserColumn,
    columns: tuple[Column[object], ...],
    merged_id: int,
    survivor_id: int,
) -> None:
    others = [c for c in columns if c is not found.column]
    if not others:
        # The person's id alone is unique: both having a row is a clash nothing can rename.
        both = select(func.count()).where(found.column.in_((merged_id, survivor_id)))
        if (await connection.execute(both)).scalar_one() > 1:
            raise UnmergeableSchema(f"{found.table.name}.{found.column.name} is unique per person")
        return
    name = _renameable(columns, found.column)
    keys = list(found.table.primary_key.columns)
    held = await connection.execute(select(*others).where(found.column == survivor_id))
    clashing = {tuple(row) for row in held}
    if not clashing:
        return
    arriving = (
        await connection.execute(select(*keys, *others).where(found.column == merged_id))
    ).all()
    # A new name must be free on both sides: the survivor's rows and the ones arriving.
    taken = clashing | {tuple(row[len(keys) :]) for row in arriving}
    for row in arriving:
        key, values = tuple(row[: len(keys)]), tuple(row[len(keys) :])
        if values not in clashing or None in values:
            continue  # no clash (a NULL never equals another NULL in a unique constraint)
        if name is None:
            named = ", ".join(f"{c.name}={v!r}" for c, v in zip(others, values, strict=True))
            raise UnmergeableSchema(f"{found.table.name}: both people have {named}")
        position = others.index(name)
        fresh = _fresh(values, position, taken, _length(name))
        taken.add(fresh)
        await connection.execute(
            update(found.table)
            .where(*(k == v for k, v in zip(keys, key, strict=True)))
            .values({name.name: fresh[position]})
        )


def _fresh(
    values: tuple[object, ...], position: int, taken: set[tuple[object, ...]], length: int | None
) -> tuple[object, ...]:
    """`values` with a suffix "-2", "-3"… on the text at `position`, free in `taken`."""
    base = str(values[position])
    number = 2
    while True:
        suffix = f"-{number}"
        text = (base[: length - len(suffix)] if length else base) + suffix
        candidate = (*values[:position], text, *values[position + 1 :])
        if candidate not in taken:
            return candidate
        number += 1


def _length(column: Column[object]) -> int | None:
    kind = column.type
    return kind.length if isinstance(kind, String) else None
