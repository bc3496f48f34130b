"""Long-term memories: what the assistant knows about each person.

A memory has a kind (fact, preference, person, plan), an optional key naming
what it is about ("home city"), its source message, and an optional expiry. A
new memory with the same key (or one that names the memory it `replaces`)
supersedes the old one: the old one stays as history but is no longer current.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from memory.db.models import MemoryItem, Message
from memory.db.sqltypes import utcnow

KINDS = ("fact", "preference", "person", "plan")
MAX_MEMORY_CHARS = 2_000
MAX_KEY_CHARS = 200


@dataclass(frozen=True)
class MemoryRecord:
    id: int
    user_id: int
    kind: str
    key: str
    content: str
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None = None
    source_message_id: int | None = None
    superseded_by_id: int | None = None
    # Saved from untrusted content (a page, a file...): shown to the model as data only.
    untrusted: bool = False

    @property
    def current(self) -> bool:
        return self.superseded_by_id is None


@dataclass(frozen=True)
class Remembered:
    memory: MemoryRecord
    superseded: tuple[MemoryRecord, ...] = ()
    duplicate: bool = False


def record(row: MemoryItem) -> MemoryRecord:
    return MemoryRecord(
        id=row.id,
        user_id=row.user_id,
        kind=row.kind,
        key=row.key,
        content=row.content,
        created_at=row.created_at,
        updated_at=row.updated_at,
        expires_at=row.expires_at,
        source_message_id=row.source_message_id,
        superseded_by_id=row.superseded_by_id,
        untrusted=row.untrusted,
    )


def normalize_key(key: str) -> str:
    return " ".join(key.lower().split())[:MAX_KEY_CHARS]


def parse_memory_id(text: str) -> int | None:
    """`12`, `#12` or `m12` → 12; anything else → None."""
    match = re.fullmatch(r"\s*(?:#|m|memory\s*)?(\d{1,18})\s*", text, re.I)
    return int(match[1]) if match else None


def is_live(now: datetime) -> ColumnElement[bool]:
    """SQL condition: current (not superseded) and not expired at `now`."""
    return and_(
        MemoryItem.superseded_by_id.is_(None),
        or_(MemoryItem.expires_at.is_(None), MemoryItem.expires_at > now),
    )


class MemoryStore:
    """Async access to long-term memories; returns MemoryRecord dataclasses."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def remember(
        self,
        user_id: int,
        content: str,
        *,
        kind: str = "fact",
        key: str = "",
        replaces: int | None = None,
        source_message_id: int | None = None,
        expires_at: datetime | None = None,
        now: datetime | None = None,
        untrusted: bool = False,
    ) -> Remembered:
        """Store a memory; it supersedes current ones with the same key or the one it replaces.
        `untrusted`: it was saved while outside content was in view; said again without
        it, the same memory becomes trusted."""
        now = now or utcnow()
        content = " ".join(content.split())[:MAX_MEMORY_CHARS]
        if not content:
            raise ValueError("a memory needs some text")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        key = normalize_key(key)
        async with self._sessions() as session, session.begin():
            live = select(MemoryItem).where(MemoryItem.user_id == user_id, is_live(now))
            same = (
                await session.execute(live.where(func.lower(MemoryItem.content) == content.lower()))
            ).scalar_one_or_none()
            if same is not None and (not key or same.key == key):
                same.updated_at = now
                same.untrusted = same.untrusted and untrusted
                if expires_at is not None:
                    same.expires_at = expires_at
                return Remembered(record(same), duplicate=True)
            targets = []
            if key:
                targets.append(MemoryItem.key == key)
            if replaces is not None:
                targets.append(MemoryItem.id == replaces)
            old = (
                list((await session.execute(live.where(or_(*targets)))).scalars())
                if targets
                else []
            )
            row = MemoryItem(
                user_id=user_id,
                kind=kind,
                key=key,
                content=content,
                source_message_id=source_message_id,
                created_at=now,
                updated_at=now,
                expires_at=expires_at,
                untrusted=untrusted,
            )
            session.add(row)
            await session.flush()
            for item in old:
                item.superseded_by_id = row.id
                item.updated_at = now
            return Remembered(record(row), tuple(record(item) for item in old))

    async def current(
        self, user_id: int, *, now: datetime | None = None, limit: int = 50, offset: int = 0
    ) -> list[MemoryRecord]:
        """Current memories, most recently updated first."""
        query = (
            select(MemoryItem)
            .where(MemoryItem.user_id == user_id, is_live(now or utcnow()))
            .order_by(MemoryItem.updated_at.desc(), MemoryItem.id.desc())
            .limit(limit)
            .offset(offset)
        )
        async with self._sessions() as session:
            return [record(row) for row in (await session.execute(query)).scalars()]

    async def count_current(self, user_id: int, *, now: datetime | None = None) -> int:
        query = select(func.count()).where(MemoryItem.user_id == user_id, is_live(now or utcnow()))
        async with self._sessions() as session:
            return int((await session.execute(query)).scalar_one())

    async def get(self, user_id: int, memory_id: int) -> MemoryRecord | None:
        """One of this user's memories (current or not); None for anyone else's."""
        query = select(MemoryItem).where(MemoryItem.id == memory_id, MemoryItem.user_id == user_id)
        async with self._sessions() as session:
            row = (await session.execute(query)).scalar_one_or_none()
            return None if row is None else record(row)

    async def history(self, user_id: int, memory_id: int) -> list[MemoryRecord]:
        """The versions this memory superseded, newest first."""
        found: list[MemoryRecord] = []
        frontier = [memory_id]
        async with self._sessions() as session:
            while frontier:
                rows = (
                    await session.execute(
                        select(MemoryItem).where(
                            MemoryItem.user_id == user_id,
                            MemoryItem.superseded_by_id.in_(frontier),
                        )
                    )
                ).scalars()
                batch = [record(row) for row in rows]
                found.extend(batch)
                frontier = [item.id for item in batch]
        return sorted(found, key=lambda m: (m.updated_at, m.id), reverse=True)

    async def all(self, user_id: int) -> list[MemoryRecord]:
        """Every memory of the user, history included, oldest first (for /export)."""
        query = select(MemoryItem).where(MemoryItem.user_id == user_id).order_by(MemoryItem.id)
        async with self._sessions() as session:
            return [record(row) for row in (await session.execute(query)).scalars()]

    async def forget(
        self, user_id: int, what: str, *, now: datetime | None = None
    ) -> list[MemoryRecord]:
        """Delete the memory with this id, or the current memories containing this text.

        Superseded versions go with the memory that replaced them. Only this
        user's memories can match. Returns what was deleted (current ones).
        """
        what = what.strip()
        if not what:
            return []
        memory_id = parse_memory_id(what)
        query = select(MemoryItem).where(MemoryItem.user_id == user_id)
        if memory_id is not None:
            query = query.where(MemoryItem.id == memory_id)
        else:
            needle = what.lower()[:MAX_MEMORY_CHARS]
            query = query.where(
                is_live(now or utcnow()),
                func.lower(MemoryItem.content).contains(needle, autoescape=True),
            )
        async with self._sessions() as session, session.begin():
            rows = list((await session.execute(query)).scalars())
            gone = [record(row) for row in rows]
            if rows:
                # Older versions point at these with ON DELETE CASCADE.
                await session.execute(
                    delete(MemoryItem).where(
                        MemoryItem.user_id == user_id, MemoryItem.id.in_([r.id for r in rows])
                    )
                )
            return gone

    async def forget_all(self, user_id: int) -> int:
        """Delete every memory of the user; returns how many."""
        async with self._sessions() as session, session.begin():
            # History rows first is not needed: the cascade removes them with the newest.
            await session.execute(
                update(MemoryItem)
                .where(MemoryItem.user_id == user_id)
                .values(superseded_by_id=None)
            )
            result = await session.execute(delete(MemoryItem).where(MemoryItem.user_id == user_id))
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def latest_message_id(self, conversation_id: int, user_id: int) -> int | None:
        """The newest message this user sent in the conversation (a memory's source)."""
        query = select(func.max(Message.id)).where(
            Message.conversation_id == conversation_id,
            Message.user_id == user_id,
            Message.role == "user",
        )
        async with self._sessions() as session:
            return (await session.execute(query)).scalar()
