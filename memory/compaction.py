"""Compaction: when a conversation outgrows its budget, older turns become a summary.

Order of work, so nothing is lost: (1) the durable facts the model finds in the
old turns (and anything the person asked to keep) are saved as long-term
memories; (2) the rolling summary is stored; (3) only then does the window move.
The old turns stay stored and searchable. The cut is always at the start of a
turn, so a tool call and its result are never separated; the system prompt is
not part of the history and is never touched.

The model is reached only through the `summarise` callback (bot/ supplies it).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from memory.conversations import (
    ConversationRecord,
    ConversationStore,
    StoredMessage,
    UserRecord,
)
from memory.memories import KINDS, MemoryStore
from memory.retrieval.text import estimate_tokens
from memory.summaries import SummaryStore

log = logging.getLogger(__name__)

IMAGE_TOKENS = 1000
MAX_TRANSCRIPT_CHARS = 48_000  # one summarising call reads at most this much
MAX_SUMMARY_CHARS = 8_000
TOOL_RESULT_CHARS = 400


@dataclass(frozen=True)
class SummaryRequest:
    previous_summary: str
    transcript: str
    conversation_id: int
    user_id: int
    group: bool
    # The room for the summariser's answer in a small window (None: the usual cap).
    reply_tokens: int | None = None


@dataclass(frozen=True)
class DurableFact:
    text: str
    kind: str = "fact"
    key: str = ""
    person: str = ""  # in group chats: whose fact it is (a speaker's name)


@dataclass(frozen=True)
class SummaryResult:
    summary: str
    facts: tuple[DurableFact, ...] = ()


@dataclass(frozen=True)
class Compaction:
    kept: list[StoredMessage]
    folded: int = 0  # messages now covered by the summary
    facts: int = 0  # memories saved from them


Summarise = Callable[[SummaryRequest], Awaitable[SummaryResult]]
ProfileBuilder = Callable[[UserRecord, ConversationRecord], Awaitable[str]]


def message_tokens(message: StoredMessage) -> int:
    return (
        estimate_tokens(message.content)
        + 4 * len(message.tool_calls)
        + IMAGE_TOKENS * len(message.attachments)
    )


def transcript(messages: Sequence[StoredMessage]) -> str:
    """Old turns as plain text for the summariser (tool output shortened)."""
    lines = []
    for m in messages:
        if m.role == "user":
            lines.append(f"{m.author or 'User'}: {m.content}")
        elif m.role == "assistant":
            if m.content:
                lines.append(f"Assistant: {m.content}")
            for call in m.tool_calls:
                lines.append(f"Assistant used {call.name}({call.arguments[:200]})")
        elif m.role == "tool":
            lines.append(f"Tool result: {m.content[:TOOL_RESULT_CHARS]}")
    return "\n".join(lines)


def _chunks(text: str, size: int) -> list[str]:
    """Split at line ends into pieces of at most about `size` characters."""
    pieces: list[str] = []
    current: list[str] = []
    length = 0
    for line in text.splitlines():
        line = line[:size]
        if current and length + len(line) > size:
            pieces.append("\n".join(current))
            current, length = [], 0
        current.append(line)
        length += len(line) + 1
    if current:
        pieces.append("\n".join(current))
    return pieces


class Compactor:
    """Keeps a conversation's history within its token budget by summarising old turns."""

    def __init__(
        self,
        store: ConversationStore,
        summaries: SummaryStore,
        memories: MemoryStore,
        summarise: Summarise,
        profile: ProfileBuilder,
        *,
        context_tokens: int = 32_000,
        reserve_tokens: int = 0,
    ) -> None:
        """`reserve_tokens`: room kept free in every request for what is not history
        (system text, recall note); the stored background is measured each turn."""
        self._reserve = reserve_tokens
        # Summaries take at most a quarter of the budget; one summarising call reads
        # at most about half of it (plus the summary so far).
        self._summary_chars = min(MAX_SUMMARY_CHARS, context_tokens)
        self._profile_tokens = context_tokens // 8  # the profile's cap (bot/app/memory.py)
        self._chunk_chars = min(MAX_TRANSCRIPT_CHARS, max(4_000, 2 * context_tokens))
        self._store = store
        self._summaries = summaries
        self._memories = memories
        self._summarise = summarise
        self._profile = profile

    async def fit(
        self,
        user: UserRecord,
        conversation: ConversationRecord,
        messages: list[StoredMessage],
        budget: int,
    ) -> list[StoredMessage]:
        """The messages to show; compacts first when the request would exceed `budget`
        tokens (history + stored background + reserve)."""
        total = sum(message_tokens(m) for m in messages)
        largest_background = self._summary_chars // 4 + self._profile_tokens + self._reserve
        if total + largest_background <= budget:
            return messages  # fits whatever the background holds: no need to look
        _, stored = await self._summaries.state(conversation.id)
        background = estimate_tokens(stored.summary + stored.profile) if stored else 0
        room = max(budget // 4, budget - self._reserve - background)
        if total <= room:
            return messages
        done = await self.compact(
            user, conversation, messages, keep_tokens=room // 2, budget=budget
        )
        if done is not None:
            return done.kept
        if total <= 2 * room:
            return messages  # the summariser failed: try again next turn
        # Far over budget and no summary possible: restart the window without one.
        return await self._move_window(conversation, messages, self._cut(messages, room // 2))

    async def compact_now(
        self, user: UserRecord, conversation: ConversationRecord
    ) -> Compaction | None:
        """/compact: fold every finished turn into the summary; None if summarising failed."""
        context = await self._store.load_context(conversation.id)
        return await self.compact(user, conversation, context.messages, keep_tokens=0)

    async def compact(
        self,
        user: UserRecord,
        conversation: ConversationRecord,
        messages: list[StoredMessage],
        *,
        keep_tokens: int,
        budget: int | None = None,
    ) -> Compaction | None:
        """Summarise the turns before the newest `keep_tokens`; None if summarising failed.

        With a `budget` (a small model window), each summarising call reads at most about
        half of it, may answer with about half of it, and the summary keeps at most a
        quarter, so the summariser's own requests fit the window too."""
        chunk_chars, summary_chars = self._chunk_chars, self._summary_chars
        reply_tokens = None
        if budget is not None:
            chunk_chars = min(chunk_chars, max(1_000, 2 * budget))
            summary_chars = min(summary_chars, max(400, budget))
            reply_tokens = max(256, budget // 2)
        cut = self._cut(messages, keep_tokens)
        old = [m for m in messages if m.turn is not None and (cut is None or m.turn < cut)]
        if not old:
            return Compaction(messages)
        if cut is None:
            cut = max(m.turn for m in old if m.turn is not None) + 1
        window = await self._summaries.window_start(conversation.id)
        existing = await self._summaries.get(conversation.id)
        summary = existing.summary if existing and existing.through_turn == window else ""
        # Made from untrusted messages (or merged into such a summary), the summary and
        # the facts may repeat what outside content said: they stay marked.
        untrusted = any(m.untrusted for m in old) or bool(
            summary and existing is not None and existing.untrusted
        )
        facts = 0
        try:
            for piece in _chunks(transcript(old), chunk_chars):
                result = await self._summarise(
                    SummaryRequest(
                        summary,
                        piece,
                        conversation.id,
                        user.id,
                        not conversation.is_direct,
                        reply_tokens,
                    )
                )
                facts += await self._save_facts(
                    user, conversation, old, result.facts, untrusted=untrusted
                )
                summary = result.summary.strip()[:summary_chars]
        except Exception:  # noqa: BLE001 - any summariser failure leaves history as it was
            log.exception("conversation %s: compaction failed", conversation.id)
            return None
        profile = await self._profile(user, conversation)
        await self._summaries.save(
            conversation.id,
            summary=summary,
            profile=profile,
            through_turn=cut,
            window_start=cut,
            untrusted=untrusted and bool(summary),
        )
        kept = await self._move_window(conversation, messages, cut)
        return Compaction(kept, folded=len(old), facts=facts)

    async def _save_facts(
        self,
        user: UserRecord,
        conversation: ConversationRecord,
        old: list[StoredMessage],
        facts: Sequence[DurableFact],
        *,
        untrusted: bool,
    ) -> int:
        """Save facts as memories of the person they belong to; returns how many."""
        speakers = {
            (m.author or "").casefold(): m.user_id
            for m in old
            if m.role == "user" and m.user_id is not None
        }
        saved = 0
        for fact in facts:
            owner: int | None = user.id
            if not conversation.is_direct:
                owner = speakers.get(fact.person.casefold()) if fact.person else None
            if owner is None or not fact.text.strip():
                continue
            kind = fact.kind if fact.kind in KINDS else "fact"
            await self._memories.remember(
                owner, fact.text, kind=kind, key=fact.key, untrusted=untrusted
            )
            saved += 1
        return saved

    @staticmethod
    def _cut(messages: list[StoredMessage], keep_tokens: int) -> int | None:
        """The first turn to keep: the oldest turn start that leaves about `keep_tokens`.

        None when even the newest finished turn does not fit (keep only waiting messages).
        """
        kept = 0
        cut: int | None = None
        for m in reversed(messages):
            if m.turn is None:
                kept += message_tokens(m)
                continue
            kept += message_tokens(m)
            if kept > keep_tokens:
                break
            if m.role == "user":
                cut = m.turn
        return cut

    async def _move_window(
        self, conversation: ConversationRecord, messages: list[StoredMessage], cut: int | None
    ) -> list[StoredMessage]:
        if cut is None:
            turns = [m.turn for m in messages if m.turn is not None]
            cut = max(turns) + 1 if turns else 0
        await self._store.set_context_start(conversation.id, cut)
        log.info("conversation %s: context now starts at turn %s", conversation.id, cut)
        return [m for m in messages if m.turn is None or m.turn >= cut]
