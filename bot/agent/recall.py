"""Memory in the prompt: the background block (summary, profile snapshot) and the
per-turn recall of relevant memories and earlier messages (a `ContextSource`).

The background changes only when the context window moves (compaction, /new),
so it never breaks the cached prefix on an ordinary turn. Recall goes into the
volatile note at the end of the request, within a token budget.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.safety.untrusted import mark_untrusted
from memory.conversations import ConversationRecord, UserRecord
from memory.memories import MemoryRecord, MemoryStore
from memory.retrieval.embeddings import VectorStore
from memory.retrieval.scopes import MessageFilter, Scope
from memory.retrieval.search import MessageHit, QueryVector, Searcher
from memory.retrieval.text import estimate_tokens
from memory.summaries import SummaryStore

log = logging.getLogger(__name__)

PROFILE_TOKENS = 600
RECALL_HITS = 8
LINE_CHARS = 400


def scope_for(user: UserRecord, conversation: ConversationRecord) -> Scope:
    """Private chats see all of the person's messages; a group chat only its own."""
    return Scope(user.id, None if conversation.is_direct else conversation.id)


def memory_line(memory: MemoryRecord) -> str:
    """One memory as the model sees it; one saved from outside content is marked as data."""
    about = f", {memory.key}" if memory.key else ""
    line = f"- #{memory.id} ({memory.kind}{about}) {memory.content}"
    if memory.untrusted:
        return mark_untrusted(f"memory #{memory.id}, saved from outside content", line)
    return line


SUMMARY_SOURCE = "summary of earlier messages that included outside content"


@dataclass(frozen=True)
class RecallLimits:
    tokens: int = 1_200
    profile_tokens: int = PROFILE_TOKENS


class MemoryContext:
    """The ContextSource that brings long-term memory into each turn."""

    def __init__(
        self,
        searcher: Searcher,
        memories: MemoryStore,
        summaries: SummaryStore,
        limits: RecallLimits,
        vectors: VectorStore | None = None,
    ) -> None:
        self._searcher = searcher
        self._memories = memories
        self._summaries = summaries
        self._limits = limits
        self._vectors = vectors
        # The window start read by background(), for recall() in the same turn.
        self._windows: dict[int, int] = {}

    async def profile(self, user: UserRecord, conversation: ConversationRecord) -> str:
        """A snapshot of what is known about the owner of a private chat (none in groups).
        Memories saved from outside content stay out of it: in the background of every
        turn they would make every side effect ask for a yes; recall still finds them."""
        if not conversation.is_direct:
            return ""
        lines: list[str] = []
        used = 0
        for memory in await self._memories.current(user.id, limit=100):
            if memory.untrusted:
                continue
            line = memory_line(memory)
            used += estimate_tokens(line)
            if used > self._limits.profile_tokens:
                break
            lines.append(line)
        if not lines:
            return ""
        return f"What you know about {user.name} (long-term memory):\n" + "\n".join(lines)

    async def background(self, user: UserRecord, conversation: ConversationRecord) -> str:
        window, stored = await self._summaries.state(conversation.id)
        self._windows[conversation.id] = window
        if stored is None or stored.window_start != window:
            # The window moved (or this is the first turn): the prefix changes anyway.
            summary = stored.summary if stored and stored.through_turn == window else ""
            untrusted = bool(summary and stored and stored.untrusted)
            profile = await self.profile(user, conversation)
            await self._summaries.save(
                conversation.id,
                summary=summary,
                profile=profile,
                through_turn=stored.through_turn if stored else 0,
                window_start=window,
                untrusted=untrusted,
            )
        else:
            summary = stored.summary if stored.through_turn == window else ""
            untrusted = stored.untrusted
            profile = stored.profile
        parts = []
        if summary:
            if untrusted:
                summary = mark_untrusted(SUMMARY_SOURCE, summary)
            parts.append(f"Summary of this conversation before the messages below:\n{summary}")
        if profile:
            parts.append(profile)
        return "\n\n".join(parts)

    async def recall(
        self, user: UserRecord, conversation: ConversationRecord, query: str, *, private: bool
    ) -> str:
        """Relevant memories (only when `private`: not in a group turn that answers several
        people) and earlier messages of the scope, within the recall budget."""
        budget = self._limits.tokens
        if budget <= 0 or not query.strip():
            return ""
        # One embedding request a turn: the new messages and the query together, and
        # the query's vector shared by both searches.
        vector = QueryVector()
        if self._vectors is not None:
            vector = QueryVector(await self._vectors.prepare(user.id, query))
        memories = (
            await self._searcher.search_memories(user.id, query, limit=RECALL_HITS, vector=vector)
            if private
            else []
        )
        window = self._windows.pop(conversation.id, None)
        if window is None:
            window = await self._summaries.window_start(conversation.id)
        hidden = MessageFilter(skip_conversation=conversation.id, skip_from_turn=window)
        messages = await self._searcher.search_messages(
            scope_for(user, conversation), query, limit=RECALL_HITS, where=hidden, vector=vector
        )
        lines: list[str] = []
        used = 0

        def take(line: str) -> bool:
            nonlocal used
            cost = estimate_tokens(line)
            if used + cost > budget:
                return False
            lines.append(line)
            used += cost
            return True

        if memories:
            take(f"Remembered about {user.name}:")
            for hit in memories:
                if not take(memory_line(hit.memory)):
                    break
        if messages:
            take("Earlier messages that may be relevant:")
            for found in sorted(messages, key=lambda h: h.at):
                if not take(message_line(found)):
                    break
        if not lines:
            return ""
        return "From long-term memory (use only if it helps with this message):\n" + "\n".join(
            lines
        )


def message_line(found: MessageHit) -> str:
    """An earlier message as recall shows it; one from outside content is marked as data."""
    who = found.speaker or found.author or found.role
    text = " ".join(found.text.split())[:LINE_CHARS]
    line = f"- {found.at:%Y-%m-%d}, {who}: {text}"
    if found.untrusted:
        return mark_untrusted(f"message of {found.at:%Y-%m-%d} from outside content", line)
    return line
