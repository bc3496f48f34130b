"""A person's history from outside the chat: import, and one ranked search over
messages and memories (the paths `clawling memory ...` and the benchmarks use).

Users are named `platform:id` (`telegram:42`, `console:alice`), as identities.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from memory.conversations import ConversationStore, UserRecord
from memory.db.models import Identity, Message, User
from memory.retrieval.scopes import Scope
from memory.retrieval.search import Searcher

IMPORT_CHANNEL = "import"
BATCH = 500
MAX_REF_CHARS = 200
ASSISTANT_SPEAKERS = {"assistant", "bot", "ai"}


class BadUserName(ValueError):
    """A user name that is not `platform:id`."""


def split_user_name(name: str) -> tuple[str, str]:
    platform, sep, external = name.strip().partition(":")
    if not sep or not platform or not external.strip():
        raise BadUserName(
            f"user {name!r} is not platform:id (e.g. telegram:42, slack:U123, console:alice)"
        )
    return platform.lower(), external.strip()


@dataclass(frozen=True)
class HistoryLine:
    ref: str
    speaker: str
    text: str
    at: datetime


@dataclass
class ImportReport:
    imported: int = 0
    already_there: int = 0
    bad_lines: list[tuple[int, str]] = field(default_factory=list)


def _clean(text: str) -> str:
    """Text any database accepts: no NUL characters, no lone surrogates."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def parse_line(raw: str) -> HistoryLine:
    """One JSONL line `{"ref", "speaker", "text", "at"}`; ValueError says what is wrong."""
    try:
        item = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg})") from None
    if not isinstance(item, dict):
        raise ValueError("not a JSON object")
    ref, speaker, text, at = (item.get(k) for k in ("ref", "speaker", "text", "at"))
    if isinstance(ref, int) and not isinstance(ref, bool):
        ref = str(ref)
    if not isinstance(ref, str) or not ref.strip() or len(ref) > MAX_REF_CHARS:
        raise ValueError(f'"ref" must be a non-empty string of at most {MAX_REF_CHARS} characters')
    if not isinstance(speaker, str):
        raise ValueError('"speaker" must be a string')
    if not isinstance(text, str) or not text.strip():
        raise ValueError('"text" must be a non-empty string')
    if not isinstance(at, str):
        raise ValueError('"at" must be an ISO-8601 date-time string')
    try:
        when = datetime.fromisoformat(at.strip())
    except ValueError:
        raise ValueError(f'"at" is not an ISO-8601 date-time: {at[:40]!r}') from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return HistoryLine(_clean(ref.strip()), _clean(speaker.strip())[:200], _clean(text), when)


def parse_lines(lines: Iterable[str]) -> tuple[list[HistoryLine], list[tuple[int, str]]]:
    """Good lines, and (line number, reason) for each bad one; blank lines are ignored."""
    good: list[HistoryLine] = []
    bad: list[tuple[int, str]] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            good.append(parse_line(raw))
        except ValueError as exc:
            bad.append((number, str(exc)))
    return good, bad


class History:
    """Import and search a named user's history."""

    def __init__(self, engine: AsyncEngine, searcher: Searcher) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._conversations = ConversationStore(engine)
        self.searcher = searcher

    async def find_user(self, name: str) -> UserRecord | None:
        platform, external = split_user_name(name)
        query = (
            select(User)
            .join(Identity, Identity.user_id == User.id)
            .where(Identity.platform == platform, Identity.external_id == external)
        )
        async with self._sessions() as session:
            user = (await session.execute(query)).scalar_one_or_none()
            return None if user is None else UserRecord(user.id, user.name, user.timezone)

    async def ensure_user(self, name: str) -> UserRecord:
        platform, external = split_user_name(name)
        return await self._conversations.resolve_identity(platform, external, external)

    async def import_lines(self, user: UserRecord, lines: list[HistoryLine]) -> ImportReport:
        """Store lines as the user's past conversation; refs already stored are skipped."""
        report = ImportReport()
        conversation = await self._conversations.open_conversation(
            IMPORT_CHANNEL, f"user-{user.id}", "", is_direct=True, owner_id=user.id
        )
        async with self._sessions() as session, session.begin():
            turn: int = (
                await session.execute(
                    select(func.coalesce(func.max(Message.turn), 0)).where(
                        Message.conversation_id == conversation.id
                    )
                )
            ).scalar_one() or 0
            for start in range(0, len(lines), BATCH):
                batch = lines[start : start + BATCH]
                refs = {line.ref for line in batch}
                stored = set(
                    (
                        await session.execute(
                            select(Message.platform_message_id).where(
                                Message.conversation_id == conversation.id,
                                Message.platform_message_id.in_(refs),
                            )
                        )
                    ).scalars()
                )
                rows: list[dict[str, Any]] = []
                for line in batch:
                    if line.ref in stored:
                        report.already_there += 1
                        continue
                    stored.add(line.ref)
                    turn += 1
                    rows.append(_row(conversation.id, user.id, turn, line))
                if rows:
                    await session.execute(insert(Message), rows)
                report.imported += len(rows)
        return report

    async def search(self, user: UserRecord, query: str, limit: int) -> list[dict[str, Any]]:
        """Messages and memories of the user for `query`, best first, as JSON-ready dicts.

        Each list's scores are scaled so its best hit is 1.0; the two lists are
        merged by that scaled score (a memory first on a tie).
        """
        vector = await self.searcher.query_vector(query)  # one embedding for both searches
        messages = await self.searcher.search_messages(
            Scope(user.id), query, limit=limit, vector=vector
        )
        memories = await self.searcher.search_memories(user.id, query, limit=limit, vector=vector)
        found: list[tuple[float, int, dict[str, Any]]] = []
        top = max((h.score for h in messages), default=1.0) or 1.0
        for hit in messages:
            found.append(
                (
                    hit.score / top,
                    1,
                    {
                        "ref": hit.ref,
                        "kind": "message",
                        "speaker": hit.speaker or hit.role,
                        "text": hit.text,
                        "at": hit.at.isoformat(),
                        "score": round(hit.score / top, 4),
                    },
                )
            )
        top = max((h.score for h in memories), default=1.0) or 1.0
        for memory_hit in memories:
            found.append(
                (
                    memory_hit.score / top,
                    0,
                    {
                        "ref": f"memory:{memory_hit.memory.id}",
                        "kind": "memory",
                        "speaker": memory_hit.memory.kind,
                        "text": memory_hit.memory.content,
                        "at": memory_hit.memory.updated_at.isoformat(),
                        "score": round(memory_hit.score / top, 4),
                    },
                )
            )
        found.sort(key=lambda item: (-item[0], item[1]))
        return [item for _, _, item in found[:limit]]


def _row(conversation_id: int, user_id: int, turn: int, line: HistoryLine) -> dict[str, Any]:
    role = "assistant" if line.speaker.lower() in ASSISTANT_SPEAKERS else "user"
    return {
        "conversation_id": conversation_id,
        "user_id": user_id,
        "turn": turn,
        "role": role,
        "content": line.text,
        "speaker": line.speaker or None,
        "platform_message_id": line.ref,
        "created_at": line.at,
        # A transcript from elsewhere, not said to the assistant: outside content, so
        # what recall brings back from it is data, never instructions.
        "untrusted": True,
    }
