"""Link codes, and joining or separating people's accounts in SQL (issue 17).

The rules (who may link, rate limits, the audit) live in bot/people/linking.py; this
store does what they decide, each change in one transaction, and re-checks inside it
what another process could have changed since the rules looked (the code used, a
person blocked, an account linked meanwhile).

Merge: every row of the person merged in moves to the survivor (memory/merge.py finds
them from the schema), two current memories with one key become one current and one
history (the newer wins, as when a person restates a fact), two active or pending skills
with one name likewise (the newer decision wins, the other is "replaced"); the survivor
becomes an owner if either was, keeps their own quotas and time zone and takes the
other's where theirs are unset; the merged user row is deleted.

Split: the account leaves with its private conversations (their messages, and the
jobs, tasks and approvals that report there); everything else stays with the person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from memory.db import reading, writing
from memory.db.models import (
    Approval,
    Conversation,
    ConversationSummary,
    Delivery,
    Embedding,
    Identity,
    Job,
    LinkCode,
    Message,
    Task,
    User,
    table,
)
from memory.merge import move_person, one_current_memory_per_key, one_skill_per_name
from memory.people import ACTIVE, OWNER
from memory.tasks import RUNNING

_codes = table(LinkCode)
_users = table(User)
_identities = table(Identity)
_conversations = table(Conversation)
_messages = table(Message)
_tasks = table(Task)
_deliveries = table(Delivery)


@dataclass(frozen=True)
class IssuedCode:
    id: int
    code: str
    user_id: int
    account: str  # the `platform:id` that asked for it
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True)
class Merged:
    survivor_id: int
    moved: dict[str, int]  # rows moved per `table.column`


@dataclass(frozen=True)
class Split:
    user_id: int  # the new person of the account
    conversations: int


class LinkRefused(Exception):
    """What the rules checked changed before the change could be made; the message says
    what, in words for the person."""


class LinkStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def issue(
        self, user_id: int, account: str, code: str, now: datetime, expires_at: datetime
    ) -> None:
        """Store a new code for the person; their unused ones stop working."""
        platform, _, external_id = account.partition(":")
        async with writing(self._engine) as connection:
            await connection.execute(
                delete(_codes).where(_codes.c.user_id == user_id, _codes.c.used_at.is_(None))
            )
            await connection.execute(
                _codes.insert().values(
                    code=code,
                    user_id=user_id,
                    platform=platform,
                    external_id=external_id,
                    created_at=now,
                    expires_at=expires_at,
                )
            )

    async def find(self, code: str) -> IssuedCode | None:
        query = select(_codes).where(_codes.c.code == code)
        async with reading(self._engine) as connection:
            row = (await connection.execute(query)).mappings().one_or_none()
        if row is None:
            return None
        return IssuedCode(
            id=row["id"],
            code=row["code"],
            user_id=row["user_id"],
            account=f"{row['platform']}:{row['external_id']}",
            expires_at=row["expires_at"],
            used_at=row["used_at"],
        )

    async def merge(
        self, code: IssuedCode, merged_id: int, now: datetime, notice: str = ""
    ) -> Merged:
        """Join `merged_id` (the sender's person) into the code's person, using the code.
        `notice` is queued for the private chat the code was asked for in, in the same
        transaction (sent once by the deliverer, from whichever process runs that app)."""
        survivor_id = code.user_id
        async with writing(self._engine) as connection:
            claimed = await connection.execute(
                update(_codes)
                .where(_codes.c.id == code.id, _codes.c.used_at.is_(None))
                .where(_codes.c.expires_at > now)
                .values(used_at=now)
            )
            if claimed.rowcount != 1:
                raise LinkRefused("That code was used or has expired meanwhile.")
            survivor, merged = await _both(connection, survivor_id, merged_id)
            if await _account_count(connection, merged_id) != 1:
                raise LinkRefused("This account was linked with another meanwhile.")
            running = await _running_tasks(connection, merged_id)
            if running:
                raise LinkRefused(
                    f"Your background task #{running[0]} is running on this account: wait "
                    f"until it ends (or /pause {running[0]}), then send the code again."
                )
            if notice:
                await _queue_notice(connection, code, notice, now)
            arriving = select(_identities.c.id).where(_identities.c.user_id == merged_id)
            accounts = [row[0] for row in await connection.execute(arriving)]
            moved = await move_person(connection, merged_id, survivor_id)
            await connection.execute(
                update(_identities).where(_identities.c.id.in_(accounts)).values(linked_at=now)
            )
            await one_current_memory_per_key(connection, survivor_id)
            await one_skill_per_name(connection, survivor_id, now)
            await connection.execute(
                update(_users)
                .where(_users.c.id == survivor_id)
                .values(
                    role=OWNER if OWNER in (survivor["role"], merged["role"]) else survivor["role"],
                    daily_tokens=_first_set(survivor["daily_tokens"], merged["daily_tokens"]),
                    monthly_tokens=_first_set(survivor["monthly_tokens"], merged["monthly_tokens"]),
                    timezone=survivor["timezone"] or merged["timezone"],
                )
            )
            # Codes the merged person had left unused must not join anyone to the survivor.
            await connection.execute(
                update(_codes)
                .where(_codes.c.user_id == survivor_id, _codes.c.used_at.is_(None))
                .values(used_at=now)
            )
            await connection.execute(delete(_users).where(_users.c.id == merged_id))
        return Merged(survivor_id, moved)

    async def split(self, user_id: int, account: str, now: datetime) -> Split:
        """Make the account (one of `user_id`'s) a person of its own again."""
        platform, _, external_id = account.partition(":")
        async with writing(self._engine) as connection:
            person = (
                (
                    await connection.execute(
                        select(_users).where(_users.c.id == user_id).with_for_update()
                    )
                )
                .mappings()
                .one_or_none()
            )
            found = (
                await connection.execute(
                    select(_identities.c.id, _identities.c.display_name).where(
                        _identities.c.user_id == user_id,
                        _identities.c.platform == platform,
                        _identities.c.external_id == external_id,
                    )
                )
            ).one_or_none()
            if person is None or found is None:
                raise LinkRefused(f"{account} is not one of your accounts.")
            if await _account_count(connection, user_id) < 2:
                raise LinkRefused("That is your only account; there is nothing to unlink.")
            new_id = (
                await connection.execute(
                    _users.insert()
                    .values(
                        name=found[1] or external_id,
                        role="member",
                        status=ACTIVE,
                        timezone=person["timezone"],
                        created_at=now,
                    )
                    .returning(_users.c.id)
                )
            ).scalar_one()
            await connection.execute(
                update(_identities)
                .where(_identities.c.id == found[0])
                .values(user_id=new_id, linked_at=None)
            )
            leaving = await _conversations_of(connection, user_id, platform, external_id)
            running = await _running_tasks(connection, user_id, leaving)
            if running:
                raise LinkRefused(
                    f"Background task #{running[0]} is running in this account's chat: wait "
                    f"until it ends (or /pause {running[0]}), then /unlink again."
                )
            await _move_conversations(connection, leaving, user_id, new_id)
            await connection.execute(
                update(_codes)
                .where(_codes.c.user_id == user_id, _codes.c.used_at.is_(None))
                .values(used_at=now)
            )
        return Split(new_id, len(leaving))


def _first_set(mine: int | None, theirs: int | None) -> int | None:
    return mine if mine is not None else theirs


async def _both(
    connection: AsyncConnection, survivor_id: int, merged_id: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    query = select(_users).where(_users.c.id.in_((survivor_id, merged_id))).with_for_update()
    rows = {row["id"]: dict(row) for row in (await connection.execute(query)).mappings()}
    survivor, merged = rows.get(survivor_id), rows.get(merged_id)
    if survivor is None or merged is None:
        raise LinkRefused("One of the two people was removed meanwhile.")
    if survivor["status"] != ACTIVE or merged["status"] != ACTIVE:
        raise LinkRefused("One of the two people was blocked or removed meanwhile.")
    return survivor, merged


async def _queue_notice(
    connection: AsyncConnection, code: IssuedCode, text: str, now: datetime
) -> None:
    """Tell the account that asked for the code, in its private chat: the survivor's own
    direct conversation on that platform (read before the merge brings the other
    side's), the one named after the account when there are several (Telegram's is)."""
    platform, _, external_id = code.account.partition(":")
    query = (
        select(_conversations.c.chat_id)
        .where(
            _conversations.c.owner_id == code.user_id,
            _conversations.c.channel == platform,
            _conversations.c.is_direct.is_(True),
            _conversations.c.thread_id == "",
        )
        .order_by((_conversations.c.chat_id == external_id).desc(), _conversations.c.id.desc())
        .limit(1)
    )
    chat_id = (await connection.execute(query)).scalar_one_or_none()
    if chat_id is None:
        return
    await connection.execute(
        _deliveries.insert().values(
            key=f"link-{code.id}",
            channel=platform,
            chat_id=chat_id,
            thread_id="",
            text=text,
            status="pending",
            attempts=0,
            created_at=now,
        )
    )


async def _running_tasks(
    connection: AsyncConnection, user_id: int, conversations: list[int] | None = None
) -> list[int]:
    """The person's running tasks (in these conversations). A running task holds its
    person in memory for its whole run (bot/background/runner.py): were that person
    merged away, its next write would fail and end it; were it moved to an unlinked
    account, its steps would go on saving for the old person. Queued, paused and
    waiting tasks are read afresh when they go on, so they move freely."""
    query = select(_tasks.c.id).where(_tasks.c.user_id == user_id, _tasks.c.status == RUNNING)
    if conversations is not None:
        query = query.where(_tasks.c.conversation_id.in_(conversations))
    return [row[0] for row in await connection.execute(query.order_by(_tasks.c.id))]


async def _account_count(connection: AsyncConnection, user_id: int) -> int:
    query = select(func.count()).where(_identities.c.user_id == user_id)
    return int((await connection.execute(query)).scalar_one())


async def _conversations_of(
    connection: AsyncConnection, user_id: int, platform: str, external_id: str
) -> list[int]:
    """The private conversations held on this account. A private chat is on the account's
    platform; with two accounts of the person on one platform, only the chat named after
    the account (Telegram's and the terminal's private chats are) can be told apart."""
    same_platform = await connection.execute(
        select(func.count()).where(
            _identities.c.user_id == user_id, _identities.c.platform == platform
        )
    )
    query = select(_conversations.c.id).where(
        _conversations.c.owner_id == user_id,
        _conversations.c.channel == platform,
        _conversations.c.is_direct.is_(True),
    )
    if int(same_platform.scalar_one()) > 0:
        query = query.where(_conversations.c.chat_id == external_id)
    return [row[0] for row in await connection.execute(query)]


async def _move_conversations(
    connection: AsyncConnection, ids: list[int], user_id: int, new_id: int
) -> None:
    if not ids:
        return
    await connection.execute(
        update(_conversations).where(_conversations.c.id.in_(ids)).values(owner_id=new_id)
    )
    for model in (Message, Job, Task, Approval):
        rows = table(model)
        await connection.execute(
            update(rows)
            .where(rows.c.conversation_id.in_(ids), rows.c.user_id == user_id)
            .values(user_id=new_id)
        )
    embeddings = table(Embedding)
    moved_messages = select(_messages.c.id).where(_messages.c.conversation_id.in_(ids))
    await connection.execute(
        update(embeddings)
        .where(embeddings.c.message_id.in_(moved_messages), embeddings.c.user_id == user_id)
        .values(user_id=new_id)
    )
    # The background of those chats held the person's profile: rebuilt for the new one.
    summaries = table(ConversationSummary)
    await connection.execute(
        update(summaries)
        .where(summaries.c.conversation_id.in_(ids))
        .values(profile="", window_start=-1)
    )
