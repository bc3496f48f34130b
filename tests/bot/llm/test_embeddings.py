"""Hybrid search: vectors from the fake /v1/embeddings endpoint fused with full text,
and a clean fall back to full text when the endpoint fails."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import App, build_app
from memory.retrieval.scopes import Scope
from tests.bot.harness.memory import say
from tests.conftest import make_settings
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI

# A toy meaning space: words with one meaning share a dimension.
CONCEPTS = {"flat": 0, "apartment": 0, "lease": 0, "cat": 1, "kitten": 1, "weather": 2}


def concept_vector(text: str) -> list[float]:
    vector = [0.0, 0.0, 0.0, 0.01]
    for word in text.lower().replace("?", " ").replace(".", " ").split():
        if word in CONCEPTS:
            vector[CONCEPTS[word]] += 1.0
    return vector


@pytest.fixture
async def hybrid(fake_llm: FakeOpenAI, database_url: str, tmp_path: Path) -> AsyncIterator[App]:
    fake_llm.embedder = concept_vector
    settings = make_settings(fake_llm, database_url, tmp_path / "data", embedding_model="toy")
    app = build_app(settings)
    await app.prepare_database()
    try:
        yield app
    finally:
        await app.close()


async def test_meaning_matches_what_words_miss(hybrid: App, fake_llm: FakeOpenAI) -> None:
    channel = RecordingChannel()
    hybrid.add_channel(channel)
    await say(hybrid, channel, "We signed the lease on the apartment")
    await say(hybrid, channel, "The weather is grey")
    alice = await hybrid.memory.history.find_user("test:alice")
    assert alice is not None and hybrid.memory.vectors is not None
    await hybrid.memory.memories.remember(alice.id, "Has a kitten named Miso")
    await hybrid.memory.vectors.index_pending(alice.id)
    assert fake_llm.embedding_requests[-1]["model"] == "toy"

    hits = await hybrid.memory.searcher.search_messages(Scope(alice.id), "our flat")
    assert hits[0].text == "We signed the lease on the apartment"
    memories = await hybrid.memory.searcher.search_memories(alice.id, "cat")
    assert [m.memory.content for m in memories] == ["Has a kitten named Miso"]
    # Nothing is embedded twice.
    assert await hybrid.memory.vectors.index_pending(alice.id) == 0


async def test_recall_embeds_new_messages_each_turn(hybrid: App, fake_llm: FakeOpenAI) -> None:
    channel = RecordingChannel()
    hybrid.add_channel(channel)
    await say(hybrid, channel, "The apartment has two rooms", chat="other")
    await say(hybrid, channel, "tell me about my flat")
    note = fake_llm.requests[-1]["messages"][-1]["content"]
    assert "The apartment has two rooms" in note


async def test_failing_endpoint_falls_back_to_full_text(hybrid: App, fake_llm: FakeOpenAI) -> None:
    channel = RecordingChannel()
    hybrid.add_channel(channel)
    fake_llm.embedding_status = 503
    assert await say(hybrid, channel, "the flat has a balcony") == "echo: the flat has a balcony"
    alice = await hybrid.memory.history.find_user("test:alice")
    assert alice is not None
    hits = await hybrid.memory.searcher.search_messages(Scope(alice.id), "balcony")
    assert hits[0].text == "the flat has a balcony"
    assert await hybrid.memory.searcher.search_messages(Scope(alice.id), "apartment") == []
