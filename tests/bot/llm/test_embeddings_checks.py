"""Embeddings from servers not built for them: vectors of the wrong shape are refused
(nothing stored, one log line with the fix), the query is embedded once per search,
and a failing endpoint is skipped for the breaker's pause while full text answers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import App, build_app
from bot.llm.embeddings import SETTING, openai_embedder
from memory.db.models import Embedding
from memory.retrieval.embeddings import VectorStore
from memory.retrieval.scopes import Scope
from memory.retrieval.search import Searcher
from tests.bot.harness.memory import say
from tests.conftest import make_settings
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI

LOGGER = "memory.retrieval.embeddings"


def _settings_for(fake_llm: FakeOpenAI, database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    return make_settings(fake_llm, database_url, tmp_path / "data", embedding_model="toy")


@pytest.fixture
async def hybrid(fake_llm: FakeOpenAI, database_url: str, tmp_path: Path) -> AsyncIterator[App]:
    app = build_app(_settings_for(fake_llm, database_url, tmp_path))
    await app.prepare_database()
    try:
        yield app
    finally:
        await app.close()


async def _stored(app: App) -> int:
    async with app.engine.connect() as connection:
        return (await connection.execute(select(func.count()).select_from(Embedding))).scalar_one()


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelname == "WARNING"]


async def test_one_vector_per_token_is_refused_and_said_once(
    hybrid: App, fake_llm: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    fake_llm.embeddings_per_token = True
    channel = RecordingChannel()
    hybrid.add_channel(channel)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert await say(hybrid, channel, "the balcony faces south") == (
            "echo: the balcony faces south"
        )
        await say(hybrid, channel, "and the kitchen is small")
    assert await _stored(hybrid) == 0
    assert _warnings(caplog) == [
        "embeddings off for 60 s, searching full text only: CLAWLING_EMBEDDING_MODEL=toy: "
        "the endpoint returned one vector per token (4 for a text), not one per text; fix: "
        "serve a model that gives one vector per text (llama.cpp: start it with --pooling "
        "mean), or unset CLAWLING_EMBEDDING_MODEL for full-text search only"
    ]
    alice = await hybrid.memory.history.find_user("test:alice")
    assert alice is not None
    hits = await hybrid.memory.searcher.search_messages(Scope(alice.id), "balcony")
    assert [h.text for h in hits][:1] == ["the balcony faces south"]


async def test_more_vectors_than_texts_are_refused(hybrid: App, fake_llm: FakeOpenAI) -> None:
    fake_llm.embedder = lambda text: [1.0, 0.0]
    vectors = hybrid.memory.vectors
    assert vectors is not None
    # A server that flattens its per-token vectors into `data`: counted, not stored.
    alice = await hybrid.memory.history.ensure_user("test:alice")
    await hybrid.memory.memories.remember(alice.id, "Likes green tea")
    fake_llm.embeddings_per_token = True
    assert await vectors.index_pending(alice.id) == 0
    assert await _stored(hybrid) == 0


async def test_a_new_dimension_under_the_same_name_is_refused_after_a_restart(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings_for(fake_llm, database_url, tmp_path)
    channel = RecordingChannel()
    first = build_app(settings)
    await first.prepare_database()
    try:
        first.add_channel(channel)
        await say(first, channel, "the lease ends in May")
        stored = await _stored(first)
        assert stored >= 1
    finally:
        await first.close()

    fake_llm.embedding_dimension = 32  # another model behind the name "toy"
    second = build_app(settings)
    try:
        second.add_channel(channel)
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            assert await say(second, channel, "we renew the lease") == "echo: we renew the lease"
        assert await _stored(second) == stored
    finally:
        await second.close()
    assert _warnings(caplog) == [
        "embeddings off for 60 s, searching full text only: CLAWLING_EMBEDDING_MODEL=toy: "
        "the endpoint now returns vectors of 32 numbers, but the stored vectors of this model "
        "have 64; fix: point CLAWLING_EMBEDDING_MODEL back at the model that made the stored "
        "vectors (64 numbers each), or give the new model a new name (vectors are stored per "
        "name)"
    ]


async def test_a_turn_and_a_search_each_make_one_embedding_request(
    hybrid: App, fake_llm: FakeOpenAI
) -> None:
    channel = RecordingChannel()
    hybrid.add_channel(channel)
    await say(hybrid, channel, "The flat has a balcony", chat="other")
    alice = await hybrid.memory.history.find_user("test:alice")
    assert alice is not None
    await hybrid.memory.memories.remember(alice.id, "Lives in a flat in Leeds")

    before = len(fake_llm.embedding_requests)
    await say(hybrid, channel, "tell me about my flat")
    turn = fake_llm.embedding_requests[before:]
    # The new message, the new memory and the query travel in one request.
    assert len(turn) == 1
    assert turn[0]["input"].count("tell me about my flat") == 1
    assert "Lives in a flat in Leeds" in turn[0]["input"]
    assert "The flat has a balcony" in fake_llm.requests[-1]["messages"][-1]["content"]

    before = len(fake_llm.embedding_requests)
    found = await hybrid.memory.history.search(alice, "balcony", limit=5)
    assert "The flat has a balcony" in [f["text"] for f in found]
    assert [r["input"] for r in fake_llm.embedding_requests[before:]] == [["balcony"]]


async def test_a_failing_endpoint_is_asked_once_per_pause(
    hybrid: App, fake_llm: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    channel = RecordingChannel()
    hybrid.add_channel(channel)
    await say(hybrid, channel, "the flat has a balcony")
    alice = await hybrid.memory.history.find_user("test:alice")
    assert alice is not None
    now = [1000.0]
    store = VectorStore(
        hybrid.engine,
        openai_embedder(hybrid.client, "toy"),
        "toy",
        setting=SETTING,
        pause=60,
        clock=lambda: now[0],
    )
    searcher = Searcher(hybrid.engine, store)

    async def search() -> list[str]:
        return [h.text for h in await searcher.search_messages(Scope(alice.id), "balcony")]

    fake_llm.embedding_status = 503
    before = len(fake_llm.embedding_requests)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        for _ in range(3):
            assert (await search())[:1] == ["the flat has a balcony"]
        assert len(fake_llm.embedding_requests) - before == 1
        now[0] += 59
        await search()
        assert len(fake_llm.embedding_requests) - before == 1
        now[0] += 2  # the pause is over: one trial, which fails and reopens
        await search()
        await search()
        assert len(fake_llm.embedding_requests) - before == 2
        fake_llm.embedding_status = 200
        now[0] += 61
        await search()
        await search()
        assert len(fake_llm.embedding_requests) - before == 4
    messages = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    failed = (
        "embeddings off for 60 s, searching full text only: CLAWLING_EMBEDDING_MODEL=toy: "
        f"the embedding endpoint failed (HTTP 503 from {fake_llm.url}: embeddings down); "
        "fix: start the embedding server, or correct CLAWLING_EMBEDDING_MODEL (or unset it)"
    )
    assert messages == [failed, failed, "embeddings back (CLAWLING_EMBEDDING_MODEL=toy)"]
