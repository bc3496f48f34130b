"""Pairing requests: a stranger asking to talk to the assistant, and the owner's answer.

A request is the only thing stored about a stranger (no user row, no message) until an
owner lets them in. Its code is what the owner types (`/allow CODE`). The messages a
request causes — the owners' question, the stranger's answer — are deliveries written
in the same transaction as the request or decision, so a crash or a platform hiccup
loses neither, and a code decided twice sends nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from memory.db import reading
from memory.db.models import PairingRequest, table
from memory.deliveries import OutgoingMessage, add_deliveries

PENDING = "pending"
APPROVED = "approved"
DENIED = "denied"
EXPIRED = "expired"

_requests = table(PairingRequest)


class CodeTaken(Exception):
    """The drawn code belongs to an earlier request (codes are never reused)."""


@dataclass(frozen=True)
class Stranger:
    """Who asks: their account, the names they showed, and their private chat."""

    platform: str
    external_id: str
    display_name: str
    username: str | None
    chat_id: str

    @property
    def label(self) -> str:
        return f"{self.platform}:{self.external_id}"


@dataclass(frozen=True)
class PairingRecord:
    id: int
    code: str
    stranger: Stranger
    status: str
    created_at: datetime
    expires_at: datetime
    notified_at: datetime | None
    decided_at: datetime | None
    decided_by: int | None


@dataclass(frozen=True)
class Decided:
    """What deciding a code found: `outcome` is "done" (this call decided it),
    "unknown", "expired" or "used" (decided before; `record.status` says how)."""

    outcome: str
    record: PairingRecord | None = None


def _record(row: PairingRequest) -> PairingRecord:
    return PairingRecord(
        id=row.id,
        code=row.code,
        stranger=Stranger(
            row.platform, row.external_id, row.display_name, row.username, row.chat_id
        ),
        status=row.status,
        created_at=row.created_at,
        expires_at=row.expires_at,
        notified_at=row.notified_at,
        decided_at=row.decided_at,
        decided_by=row.decided_by,
    )


class PairingStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def expire(self, now: datetime) -> list[PairingRecord]:
        """Pending requests whose code ran out become "expired"; returns them."""
        async with self._sessions() as session, session.begin():
            rows = (
                (
                    await session.execute(
                        select(PairingRequest).where(
                            PairingRequest.status == PENDING, PairingRequest.expires_at <= now
                        )
                    )
                )
                .scalars()
                .all()
            )
            expired = []
            for row in rows:
                won = await session.execute(
                    update(PairingRequest)
                    .where(PairingRequest.id == row.id, PairingRequest.status == PENDING)
                    .values(status=EXPIRED)
                )
                if won.rowcount:  # type: ignore[attr-defined]
                    row.status = EXPIRED
                    expired.append(_record(row))
            return expired

    async def pending_for(self, platform: str, external_id: str) -> PairingRecord | None:
        query = select(PairingRequest).where(
            PairingRequest.platform == platform,
            PairingRequest.external_id == external_id,
            PairingRequest.status == PENDING,
        )
        async with self._sessions() as session:
            row = (await session.execute(query.order_by(PairingRequest.id.desc()))).scalar()
            return None if row is None else _record(row)

    async def pending(self) -> list[PairingRecord]:
        """Every pending request, oldest first."""
        query = select(PairingRequest).where(PairingRequest.status == PENDING)
        async with self._sessions() as session:
            rows = (await session.execute(query.order_by(PairingRequest.id))).scalars().all()
            return [_record(r) for r in rows]

    async def count_pending(self) -> int:
        query = select(func.count()).where(_requests.c.status == PENDING)
        async with reading(self._engine) as connection:
            return int((await connection.execute(query)).scalar_one())

    async def last_time(self, platform: str, external_id: str, *, of: str) -> datetime | None:
        """When the owners were last asked about this account (`of="notified"`), or when
        it was last denied (`of="denied"`)."""
        column = _requests.c.notified_at if of == "notified" else _requests.c.decided_at
        query = select(func.max(column)).where(
            _requests.c.platform == platform, _requests.c.external_id == external_id
        )
        if of == "denied":
            query = query.where(_requests.c.status == DENIED)
        async with reading(self._engine) as connection:
            found = (await connection.execute(query)).scalar()
        return found  # max() keeps the column's type: an aware UTC datetime

    async def create(
        self,
        stranger: Stranger,
        code: str,
        *,
        now: datetime,
        expires_at: datetime,
        notified: bool,
        deliveries: Sequence[OutgoingMessage],
    ) -> PairingRecord:
        """A pending request, and the owners' messages about it, in one transaction.
        Raises CodeTaken when the code was ever used (the caller draws another)."""
        try:
            return await self._create(stranger, code, now, expires_at, notified, deliveries)
        except IntegrityError:
            if await self.by_code(code) is not None:
                raise CodeTaken(code) from None
            raise

    async def _create(
        self,
        stranger: Stranger,
        code: str,
        now: datetime,
        expires_at: datetime,
        notified: bool,
        deliveries: Sequence[OutgoingMessage],
    ) -> PairingRecord:
        async with self._sessions() as session, session.begin():
            row = PairingRequest(
                code=code,
                platform=stranger.platform,
                external_id=stranger.external_id,
                display_name=stranger.display_name,
                username=stranger.username,
                chat_id=stranger.chat_id,
                status=PENDING,
                created_at=now,
                expires_at=expires_at,
                notified_at=now if notified else None,
            )
            session.add(row)
            await session.flush()
            await add_deliveries(session, deliveries)
            return _record(row)

    async def decide(
        self,
        code: str,
        status: str,
        *,
        now: datetime,
        decided_by: int | None,
        deliveries: Sequence[OutgoingMessage],
    ) -> Decided:
        """Approve or deny the pending request with this code (once: two owners deciding
        at the same moment find one "done", the other "used")."""
        async with self._sessions() as session, session.begin():
            row = await _by_code(session, code)
            if row is None:
                return Decided("unknown")
            if row.status == PENDING and row.expires_at <= now:
                return Decided("expired", _record(row))
            if row.status != PENDING:
                return Decided("expired" if row.status == EXPIRED else "used", _record(row))
            won = await session.execute(
                update(PairingRequest)
                .where(PairingRequest.id == row.id, PairingRequest.status == PENDING)
                .values(status=status, decided_at=now, decided_by=decided_by)
            )
            if not won.rowcount:  # type: ignore[attr-defined]
                await session.refresh(row)
                return Decided("used", _record(row))
            await add_deliveries(session, deliveries)
            row.status, row.decided_at, row.decided_by = status, now, decided_by
            return Decided("done", _record(row))

    async def by_code(self, code: str) -> PairingRecord | None:
        async with self._sessions() as session:
            row = await _by_code(session, code)
            return None if row is None else _record(row)


async def _by_code(session: AsyncSession, code: str) -> PairingRequest | None:
    query = select(PairingRequest).where(PairingRequest.code == code)
    return (await session.execute(query)).scalar()
