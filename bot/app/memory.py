"""Long-term memory: stores, search, recall and compaction (see memory/)."""

from __future__ import annotations

from dataclasses import dataclass

from openai import AsyncOpenAI
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.agent.recall import PROFILE_TOKENS, MemoryContext, RecallLimits
from bot.agent.summarise import make_summariser
from bot.llm.client import LLM
from bot.llm.embeddings import SETTING, openai_embedder
from bot.llm.window import DEFAULT_CONTEXT_TOKENS
from bot.settings import Settings
from memory.compaction import Compactor
from memory.conversations import ConversationStore
from memory.history import History
from memory.memories import MemoryStore
from memory.privacy import PrivacyStore
from memory.retrieval.embeddings import VectorStore
from memory.retrieval.search import Searcher
from memory.summaries import SummaryStore
from memory.usage import UsageStore


@dataclass
class MemoryParts:
    """Long-term memory: stores, search, compaction (see memory/)."""

    memories: MemoryStore
    summaries: SummaryStore
    searcher: Searcher
    history: History
    privacy: PrivacyStore
    compactor: Compactor
    context: MemoryContext
    vectors: VectorStore | None = None


def build_memory(
    settings: Settings, engine: AsyncEngine, store: ConversationStore, llm: LLM, client: AsyncOpenAI
) -> MemoryParts:
    core = settings.core
    context_tokens = core.context_tokens or DEFAULT_CONTEXT_TOKENS
    memories = MemoryStore(engine)
    summaries = SummaryStore(engine)
    vectors = None
    if core.embedding_model:
        # Embeddings are recorded and count against the person, like every model call.
        embed = openai_embedder(
            client, core.embedding_model, recorder=UsageStore(engine), quota=llm.quota
        )
        vectors = VectorStore(engine, embed, core.embedding_model, setting=SETTING)
    searcher = Searcher(engine, vectors)
    # Recall and the profile share the request with the history: each gets at
    # most an eighth of the context budget.
    limits = RecallLimits(
        tokens=min(core.recall_tokens, context_tokens // 8),
        profile_tokens=min(PROFILE_TOKENS, context_tokens // 8),
    )
    context = MemoryContext(searcher, memories, summaries, limits, vectors)
    compactor = Compactor(
        store,
        summaries,
        memories,
        make_summariser(llm),
        context.profile,
        # The agent gives it the conversation's share of each request: the system
        # message, tools, reply and recall note are already taken out (bot/agent/budget.py).
        context_tokens=context_tokens,
    )
    return MemoryParts(
        memories,
        summaries,
        searcher,
        History(engine, searcher),
        PrivacyStore(engine),
        compactor,
        context,
        vectors,
    )
