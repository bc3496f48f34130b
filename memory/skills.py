"""Per-user skills in SQL: drafts waiting for an owner's approval, and active ones.

Returns plain dataclasses. Validation and scanning live in skills/; this store
only keeps the SKILL.md text and its status.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from memory.db.models import UserSkill
from memory.db.notices import Notices
from memory.db.sqltypes import utcnow

PENDING = "pending"
ACTIVE = "active"
REJECTED = "rejected"
REPLACED = "replaced"


@dataclass(frozen=True)
class UserSkillRecord:
    id: int
    user_id: int
    name: str
    description: str
    content: str  # the whole SKILL.md
    status: str
    created_at: datetime


def _record(row: UserSkill) -> UserSkillRecord:
    return UserSkillRecord(
        row.id, row.user_id, row.name, row.description, row.content, row.status, row.created_at
    )


# A decision made by another process is seen within this long.
ACTIVE_CACHE_SECONDS = 60.0


class UserSkillStore:
    """At most one active and one pending version per (user, name)."""

    def __init__(self, engine: AsyncEngine, notices: Notices | None = None) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        # Other replicas drop their cached listing on a `skills:<user id>` notice.
        self._notices = notices
        # Each turn lists the person's active skills; they change only on approval.
        self._active: dict[int, tuple[float, list[UserSkillRecord]]] = {}

    async def propose(
        self, user_id: int, name: str, description: str, content: str
    ) -> UserSkillRecord:
        """Store a draft; an earlier draft of the same name is superseded by this one."""
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(UserSkill)
                .where(
                    UserSkill.user_id == user_id,
                    UserSkill.name == name,
                    UserSkill.status == PENDING,
                )
                .values(status=REPLACED, decided_at=utcnow())
            )
            row = UserSkill(
                user_id=user_id,
                name=name,
                description=description,
                content=content,
                status=PENDING,
                created_at=utcnow(),
            )
            session.add(row)
            await session.flush()
            return _record(row)

    async def listing(self, user_id: int, statuses: tuple[str, ...]) -> list[UserSkillRecord]:
        """The user's skills with these statuses, by name."""
        if statuses == (ACTIVE,):
            cached = self._active.get(user_id)
            if cached is not None and time.monotonic() - cached[0] < ACTIVE_CACHE_SECONDS:
                return list(cached[1])
        query = (
            select(UserSkill)
            .where(UserSkill.user_id == user_id, UserSkill.status.in_(statuses))
            .order_by(UserSkill.name, UserSkill.id)
        )
        async with self._sessions() as session:
            found = [_record(row) for row in (await session.execute(query)).scalars()]
        if statuses == (ACTIVE,):
            self._active[user_id] = (time.monotonic(), found)
        return list(found)

    def forget(self, user_ids: tuple[int, ...]) -> None:
        """These people changed (accounts linked or unlinked): list their skills again."""
        for user_id in user_ids:
            self._active.pop(user_id, None)

    async def waiting(self, name: str | None = None) -> list[UserSkillRecord]:
        """Everyone's drafts waiting for an owner's approval (only those named `name`
        when given), oldest first."""
        query = select(UserSkill).where(UserSkill.status == PENDING).order_by(UserSkill.id)
        if name is not None:
            query = query.where(UserSkill.name == name)
        async with self._sessions() as session:
            return [_record(row) for row in (await session.execute(query)).scalars()]

    async def approved(self) -> list[UserSkillRecord]:
        """Everyone's approved (active) skills, by name then person."""
        query = (
            select(UserSkill)
            .where(UserSkill.status == ACTIVE)
            .order_by(UserSkill.name, UserSkill.user_id)
        )
        async with self._sessions() as session:
            return [_record(row) for row in (await session.execute(query)).scalars()]

    async def find(self, user_id: int, name: str, status: str) -> UserSkillRecord | None:
        query = (
            select(UserSkill)
            .where(UserSkill.user_id == user_id, UserSkill.name == name, UserSkill.status == status)
            .order_by(UserSkill.id.desc())
            .limit(1)
        )
        async with self._sessions() as session:
            row = (await session.execute(query)).scalar_one_or_none()
            return None if row is None else _record(row)

    async def decide(self, skill_id: int, approve: bool) -> bool:
        """Approve (the previous active version becomes "replaced") or reject a draft.
        False when it is no longer pending."""
        now = utcnow()
        async with self._sessions() as session, session.begin():
            row = await session.get(UserSkill, skill_id, with_for_update=True)
            if row is None or row.status != PENDING:
                return False
            if approve:
                await session.execute(
                    update(UserSkill)
                    .where(
                        UserSkill.user_id == row.user_id,
                        UserSkill.name == row.name,
                        UserSkill.status == ACTIVE,
                    )
                    .values(status=REPLACED, decided_at=now)
                )
            row.status = ACTIVE if approve else REJECTED
            row.decided_at = now
            user_id = row.user_id
        # After the commit, so no listing can cache the state before it.
        self._active.pop(user_id, None)
        if self._notices is not None:
            await self._notices.publish("skills", user_id)
        return True
