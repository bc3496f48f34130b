"""The web dashboard's login links and browser sessions (issue 19).

Tokens are kept only as SHA-256 hex digests: a copy of the database opens nobody's
dashboard. The rules (how long a link and a session live, who may log in) are in
bot/dashboard/access.py; this store does what they decide, each claim in one statement
so two browsers cannot both use one link.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from memory.db import reading, writing
from memory.db.models import DashboardLink, DashboardSession, User, table

_links = table(DashboardLink)
_sessions = table(DashboardSession)
_users = table(User)


@dataclass(frozen=True)
class BrowserSession:
    """A logged-in browser, with its person as the database has them now."""

    id: int
    user_id: int
    csrf: str
    seen_at: datetime
    expires_at: datetime
    role: str
    status: str
    name: str


class DashboardStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add_link(
        self, user_id: int, token_hash: str, now: datetime, expires_at: datetime
    ) -> None:
        async with writing(self._engine) as connection:
            await connection.execute(
                _links.delete().where(_links.c.expires_at < now)  # lapsed links, anyone's
            )
            await connection.execute(
                _links.insert().values(
                    token_hash=token_hash, user_id=user_id, created_at=now, expires_at=expires_at
                )
            )

    async def use_link(self, token_hash: str, now: datetime) -> int | None:
        """The link's person, marking it used; None when unknown, used or expired."""
        async with writing(self._engine) as connection:
            found = (
                await connection.execute(
                    select(_links.c.id, _links.c.user_id).where(
                        _links.c.token_hash == token_hash,
                        _links.c.used_at.is_(None),
                        _links.c.expires_at > now,
                    )
                )
            ).one_or_none()
            if found is None:
                return None
            claimed = await connection.execute(
                update(_links)
                .where(_links.c.id == found.id, _links.c.used_at.is_(None))
                .values(used_at=now)
            )
            return found.user_id if claimed.rowcount == 1 else None

    async def link_usable(self, token_hash: str, now: datetime) -> bool:
        """Whether the link would still log in (for the confirm page; nothing is used)."""
        query = select(_links.c.id).where(
            _links.c.token_hash == token_hash,
            _links.c.used_at.is_(None),
            _links.c.expires_at > now,
        )
        async with reading(self._engine) as connection:
            return (await connection.execute(query)).first() is not None

    async def start(
        self, user_id: int, token_hash: str, csrf: str, now: datetime, expires_at: datetime
    ) -> None:
        async with writing(self._engine) as connection:
            await connection.execute(_sessions.delete().where(_sessions.c.expires_at < now))
            await connection.execute(
                _sessions.insert().values(
                    token_hash=token_hash,
                    user_id=user_id,
                    csrf=csrf,
                    created_at=now,
                    seen_at=now,
                    expires_at=expires_at,
                )
            )

    async def find(self, token_hash: str, now: datetime) -> BrowserSession | None:
        """The unexpired session with this cookie, and its person's role and status."""
        query = (
            select(
                _sessions.c.id,
                _sessions.c.user_id,
                _sessions.c.csrf,
                _sessions.c.seen_at,
                _sessions.c.expires_at,
                _users.c.role,
                _users.c.status,
                _users.c.name,
            )
            .join(_users, _users.c.id == _sessions.c.user_id)
            .where(_sessions.c.token_hash == token_hash, _sessions.c.expires_at > now)
        )
        async with reading(self._engine) as connection:
            row = (await connection.execute(query)).mappings().one_or_none()
        return None if row is None else BrowserSession(**row)

    async def seen(self, session_id: int, now: datetime, expires_at: datetime) -> None:
        """The session was used: it lives on until `expires_at`."""
        async with writing(self._engine) as connection:
            await connection.execute(
                update(_sessions)
                .where(_sessions.c.id == session_id)
                .values(seen_at=now, expires_at=expires_at)
            )

    async def end(self, session_id: int) -> None:
        async with writing(self._engine) as connection:
            await connection.execute(delete(_sessions).where(_sessions.c.id == session_id))

    async def end_all(self, user_id: int) -> int:
        """Log the person out everywhere (and drop their unused links); how many sessions."""
        async with writing(self._engine) as connection:
            await connection.execute(delete(_links).where(_links.c.user_id == user_id))
            ended = await connection.execute(
                delete(_sessions).where(_sessions.c.user_id == user_id)
            )
        return ended.rowcount or 0

    async def count(self, user_id: int) -> int:
        query = select(_sessions.c.id).where(_sessions.c.user_id == user_id)
        async with reading(self._engine) as connection:
            return len((await connection.execute(query)).all())
