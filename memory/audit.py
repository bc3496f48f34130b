"""The audit trail: an append-only record of what matters later (issue 17).

Who did what, to whom, when and from which platform: people allowed, denied, blocked,
linked; roles and quotas changed; side-effecting tool calls with their approval; skills
installed, drafted, approved; memory exported or forgotten; restores. There is no
update or delete here by design. People are named `platform:id` in the entry itself,
so it still reads right after their rows are erased.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from memory.db import reading, writing
from memory.db.models import AuditEntry, table
from memory.db.sqltypes import utcnow

_audit = table(AuditEntry)

CLI = "cli"  # the actor of what was done from the command line
SYSTEM = "system"  # done by the assistant itself (e.g. a code expired)


@dataclass(frozen=True)
class Actor:
    """Who did it: a person (`user_id`, `label` = their `platform:id`) or "cli"/"system",
    and the platform it was done from."""

    label: str
    platform: str
    user_id: int | None = None


@dataclass(frozen=True)
class Entry:
    id: int
    at: datetime
    action: str
    actor: str
    actor_id: int | None
    platform: str
    subject: str | None
    subject_id: int | None
    detail: dict[str, Any]


class AuditStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record(
        self,
        action: str,
        actor: Actor,
        *,
        subject: str | None = None,
        subject_id: int | None = None,
        **detail: Any,
    ) -> None:
        async with writing(self._engine) as connection:
            await connection.execute(
                _audit.insert().values(
                    created_at=utcnow(),
                    action=action,
                    actor_id=actor.user_id,
                    actor=actor.label,
                    platform=actor.platform,
                    subject_id=subject_id,
                    subject=subject,
                    detail=detail or None,
                )
            )

    async def entries(
        self,
        *,
        user_id: int | None = None,
        labels: tuple[str, ...] = (),
        since: datetime | None = None,
        actions: tuple[str, ...] = (),
        limit: int = 200,
        before: int | None = None,
    ) -> list[Entry]:
        """Newest first. `user_id`/`labels` keep entries where that person acted or was
        acted on (labels find entries of people since erased); `before` (an entry's id)
        keeps the older ones, the next page of a listing."""
        query = select(_audit).order_by(_audit.c.id.desc()).limit(limit)
        if before is not None:
            query = query.where(_audit.c.id < before)
        if user_id is not None or labels:
            who = []
            if user_id is not None:
                who += [_audit.c.actor_id == user_id, _audit.c.subject_id == user_id]
            if labels:
                who += [_audit.c.actor.in_(labels), _audit.c.subject.in_(labels)]
            query = query.where(or_(*who))
        if since is not None:
            query = query.where(_audit.c.created_at >= since)
        if actions:
            query = query.where(_audit.c.action.in_(actions))
        async with reading(self._engine) as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [
            Entry(
                id=row["id"],
                at=row["created_at"],
                action=row["action"],
                actor=row["actor"],
                actor_id=row["actor_id"],
                platform=row["platform"],
                subject=row["subject"],
                subject_id=row["subject_id"],
                detail=dict(row["detail"] or {}),
            )
            for row in rows
        ]

    async def action_names(self) -> list[str]:
        """Every action the trail holds, alphabetically (the choices of a filter)."""
        query = select(_audit.c.action).distinct().order_by(_audit.c.action)
        async with reading(self._engine) as connection:
            return list((await connection.execute(query)).scalars())

    async def count(self, action: str, actor: str, since: datetime) -> int:
        """How often `actor` did `action` since then (rate limits on code guessing)."""
        query = select(func.count()).where(
            _audit.c.action == action, _audit.c.actor == actor, _audit.c.created_at >= since
        )
        async with reading(self._engine) as connection:
            return int((await connection.execute(query)).scalar_one())
