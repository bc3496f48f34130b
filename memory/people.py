"""People as the owner manages them: role, status, quotas and accounts (issue 17).

`ConversationStore` resolves an account to a person on every message; this store is
the administration around it — who is an owner, who is blocked, what each may spend.
Returns plain dataclasses; reads here are not cached, so a change made by another
process or the command line counts at once. What others cache about people (the
doorman's "let in", accounts' persons) is told of every change made through this store:
in this process through `generation`, in the other replicas by a `people:<id>` notice
(memory/db/notices.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from memory.db import reading, writing
from memory.db.models import Identity, User, table
from memory.db.notices import Notices
from memory.db.sqltypes import utcnow

OWNER = "owner"
MEMBER = "member"
ROLES = (OWNER, MEMBER)

ACTIVE = "active"
BLOCKED = "blocked"
REMOVED = "removed"
STATUSES = (ACTIVE, BLOCKED, REMOVED)

_users = table(User)
_identities = table(Identity)

# Asked for every message a person sends (bot/people/doorman.py, behind a short cache):
# built once, one indexed join.
_STANDING = (
    select(_users.c.id, _users.c.role, _users.c.status, _users.c.name)
    .join(_identities, _identities.c.user_id == _users.c.id)
    .where(
        _identities.c.platform == bindparam("platform"),
        _identities.c.external_id == bindparam("external_id"),
    )
)


@dataclass(frozen=True)
class Standing:
    """What decides whether an account is answered: its person, role and status."""

    user_id: int
    role: str
    status: str
    name: str = ""


@dataclass(frozen=True)
class Account:
    """One platform account of a person: `telegram:42`, with the name it showed."""

    platform: str
    external_id: str
    display_name: str
    username: str | None = None
    linked_at: datetime | None = None

    @property
    def label(self) -> str:
        return f"{self.platform}:{self.external_id}"


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    role: str
    status: str
    accounts: tuple[Account, ...]
    daily_tokens: int | None  # None: the deployment's default; 0: unlimited
    monthly_tokens: int | None
    timezone: str | None
    created_at: datetime

    @property
    def label(self) -> str:
        """The person's first account as `platform:id` (how every surface names them)."""
        return self.accounts[0].label if self.accounts else f"user:{self.id}"

    @property
    def is_owner(self) -> bool:
        return self.role == OWNER

    @property
    def is_active(self) -> bool:
        return self.status == ACTIVE


class PeopleStore:
    def __init__(self, engine: AsyncEngine, notices: Notices | None = None) -> None:
        self._engine = engine
        self._notices = notices
        # Moves on every change made through this store, or heard of from another replica
        # (`heard`), so what a process caches about people is dropped at once.
        self.generation = 0

    def heard(self) -> None:
        """Another replica changed someone: what is cached about people is stale."""
        self.generation += 1

    async def _changed(self, user_id: int) -> None:
        self.generation += 1
        if self._notices is not None:
            await self._notices.publish("people", user_id)

    async def standing(self, platform: str, external_id: str) -> Standing | None:
        """The account's person, role and status; None for an account nobody has."""
        params = {"platform": platform, "external_id": external_id}
        async with reading(self._engine) as connection:
            row = (await connection.execute(_STANDING, params)).first()
        return None if row is None else Standing(row[0], row[1], row[2], row[3])

    async def name_seeded(
        self, user_id: int, platform: str, external_id: str, display_name: str
    ) -> None:
        """A person stored before they ever wrote (CLAWLING_OWNERS, `seed`) is named by
        their id; at their first message they get the name they show there."""
        async with writing(self._engine) as connection:
            await connection.execute(
                update(_users)
                .where(_users.c.id == user_id, _users.c.name == external_id)
                .values(name=display_name)
            )
            await connection.execute(
                update(_identities)
                .where(
                    _identities.c.platform == platform,
                    _identities.c.external_id == external_id,
                    _identities.c.display_name == external_id,
                )
                .values(display_name=display_name)
            )
        await self._changed(user_id)

    async def person(self, user_id: int) -> Person | None:
        found = await self._people(_users.c.id == user_id)
        return found[0] if found else None

    async def by_account(self, platform: str, external_id: str) -> Person | None:
        """The person owning the account, or None for a stranger."""
        query = select(_identities.c.user_id).where(
            _identities.c.platform == platform, _identities.c.external_id == external_id
        )
        async with reading(self._engine) as connection:
            user_id = (await connection.execute(query)).scalar_one_or_none()
        return None if user_id is None else await self.person(user_id)

    async def everyone(self) -> list[Person]:
        """Every person, oldest first."""
        return await self._people(None)

    async def owners(self) -> list[Person]:
        return await self._people((_users.c.role == OWNER) & (_users.c.status == ACTIVE))

    async def add(
        self,
        platform: str,
        external_id: str,
        display_name: str,
        *,
        role: str = MEMBER,
        username: str | None = None,
    ) -> Person:
        """A new active person with one account; an account already stored keeps its
        person, who is made active (and given `role` when it is an owner's)."""
        existing = await self.by_account(platform, external_id)
        if existing is not None:
            values: dict[str, object] = {"status": ACTIVE}
            if role == OWNER:
                values["role"] = OWNER
            async with writing(self._engine) as connection:
                await connection.execute(
                    update(_users).where(_users.c.id == existing.id).values(**values)
                )
            await self._changed(existing.id)
            person = await self.person(existing.id)
            if person is None:  # removed meanwhile by another process
                raise LookupError(f"{platform}:{external_id} was removed meanwhile")
            return person
        async with writing(self._engine) as connection:
            user_id = (
                await connection.execute(
                    _users.insert()
                    .values(
                        name=display_name or external_id,
                        role=role,
                        status=ACTIVE,
                        created_at=utcnow(),
                    )
                    .returning(_users.c.id)
                )
            ).scalar_one()
            await connection.execute(
                _identities.insert().values(
                    user_id=user_id,
                    platform=platform,
                    external_id=external_id,
                    display_name=display_name,
                    username=username,
                    created_at=utcnow(),
                )
            )
        await self._changed(user_id)
        person = await self.person(user_id)
        if person is None:
            raise LookupError(f"{platform}:{external_id} was removed meanwhile")
        return person

    async def seed(self, owners: Iterable[str]) -> list[Person]:
        """Make each `platform:id` of CLAWLING_OWNERS an active owner (created if new)."""
        seeded = []
        for entry in owners:
            platform, _, external_id = entry.strip().partition(":")
            if platform and external_id:
                seeded.append(await self.add(platform, external_id, external_id, role=OWNER))
        return seeded

    async def set_role(self, user_id: int, role: str) -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        await self._set(user_id, role=role)

    async def set_status(self, user_id: int, status: str) -> None:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")
        await self._set(user_id, status=status)

    async def set_quota(
        self, user_id: int, *, daily: int | None = None, monthly: int | None = None
    ) -> None:
        """Override the person's budgets; a value left None keeps what is set."""
        values = {
            k: v for k, v in (("daily_tokens", daily), ("monthly_tokens", monthly)) if v is not None
        }
        if values:
            await self._set(user_id, **values)

    async def change_keeping_an_owner(
        self, user_id: int, *, role: str | None = None, status: str | None = None
    ) -> bool:
        """Set the person's role and/or status unless that leaves no active owner;
        False (and nothing changed) when it would.

        The active owners' rows are locked while deciding (PostgreSQL), so two owners
        demoting each other at the same moment cannot both succeed; SQLite has one
        writer at a time anyway."""
        if role is not None and role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if status is not None and status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")
        values = {k: v for k, v in (("role", role), ("status", status)) if v is not None}
        if not values:
            return True
        owners_query = (
            select(_users.c.id)
            .where(_users.c.role == OWNER, _users.c.status == ACTIVE)
            .with_for_update()
        )
        async with writing(self._engine) as connection:
            owners = set((await connection.execute(owners_query)).scalars().all())
            stays_owner = values.get("role", OWNER) == OWNER and values.get("status") in (
                None,
                ACTIVE,
            )
            if user_id in owners and not stays_owner and not owners - {user_id}:
                return False
            await connection.execute(update(_users).where(_users.c.id == user_id).values(**values))
        await self._changed(user_id)
        return True

    async def count_active_owners(self) -> int:
        query = select(func.count()).where(_users.c.role == OWNER, _users.c.status == ACTIVE)
        async with reading(self._engine) as connection:
            return int((await connection.execute(query)).scalar_one())

    async def _set(self, user_id: int, **values: object) -> None:
        async with writing(self._engine) as connection:
            await connection.execute(update(_users).where(_users.c.id == user_id).values(**values))
        await self._changed(user_id)

    async def _people(self, where: object) -> list[Person]:
        query = select(
            _users.c.id,
            _users.c.name,
            _users.c.role,
            _users.c.status,
            _users.c.daily_tokens,
            _users.c.monthly_tokens,
            _users.c.timezone,
            _users.c.created_at,
        ).order_by(_users.c.id)
        if where is not None:
            query = query.where(where)  # type: ignore[arg-type]
        async with reading(self._engine) as connection:
            rows = (await connection.execute(query)).all()
            ids = [row[0] for row in rows]
            accounts: dict[int, list[Account]] = {i: [] for i in ids}
            if ids:
                found = await connection.execute(
                    select(
                        _identities.c.user_id,
                        _identities.c.platform,
                        _identities.c.external_id,
                        _identities.c.display_name,
                        _identities.c.username,
                        _identities.c.linked_at,
                    )
                    .where(_identities.c.user_id.in_(ids))
                    .order_by(_identities.c.id)
                )
                for user_id, *account in found.all():
                    accounts[user_id].append(Account(*account))
        return [
            Person(
                id=row[0],
                name=row[1],
                role=row[2],
                status=row[3],
                accounts=tuple(accounts[row[0]]),
                daily_tokens=row[4],
                monthly_tokens=row[5],
                timezone=row[6],
                created_at=row[7],
            )
            for row in rows
        ]
