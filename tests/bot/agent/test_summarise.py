"""Compaction through the app: old turns become a stored summary, durable facts become
memories, the history stays searchable, and /compact forces it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.agent.summarise import INSTRUCTIONS, parse_reply
from bot.app import App, build_app
from memory.retrieval.scopes import Scope
from tests.bot.harness.memory import say
from tests.conftest import make_settings
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI, Reply, echo

LONG = "word " * 1_400  # about 1,750 tokens by the 4-characters estimate


def summariser(request: dict[str, Any]) -> Reply:
    """Echo for turns; for compaction, a JSON summary naming what it was given."""
    messages = request["messages"]
    if messages[0]["content"] != INSTRUCTIONS:
        return echo(request)
    given = messages[1]["content"]
    summary = "Alice is planning a trip." + (
        " Earlier: had a summary." if "none yet" not in given else ""
    )
    facts = [{"kind": "plan", "key": "trip", "text": "Travels to Oslo in June", "person": "Alice"}]
    return Reply(text="```json\n" + json.dumps({"summary": summary, "facts": facts}) + "\n```")


@pytest.fixture
async def small_app(fake_llm: FakeOpenAI, database_url: str, tmp_path: Path) -> AsyncIterator[App]:
    fake_llm.responder = summariser
    app = build_app(make_settings(fake_llm, database_url, tmp_path / "data", context_tokens=6_000))
    await app.prepare_database()
    try:
        yield app
    finally:
        await app.close()


def _turn_requests(fake: FakeOpenAI) -> list[list[dict[str, Any]]]:
    return [r["messages"] for r in fake.requests if r["messages"][0]["content"] != INSTRUCTIONS]


async def test_over_budget_old_turns_are_summarised_and_facts_kept(
    small_app: App, fake_llm: FakeOpenAI
) -> None:
    channel = RecordingChannel()
    small_app.add_channel(channel)
    await say(small_app, channel, "remember: I travel to Oslo in June. " + LONG)
    await say(small_app, channel, "second " + LONG)
    assert await say(small_app, channel, "third, short") == "echo: third, short"

    compactions = [r for r in fake_llm.requests if r["messages"][0]["content"] == INSTRUCTIONS]
    assert (
        compactions
        and "remember: I travel to Oslo in June." in compactions[0]["messages"][1]["content"]
    )
    last = _turn_requests(fake_llm)[-1]
    assert last[0]["role"] == "system" and "You are" in last[0]["content"]  # system prompt kept
    assert "Alice is planning a trip." in last[0]["content"]  # summary in the background
    shown = " ".join(str(m["content"]) for m in last[1:])
    assert "remember: I travel to Oslo" not in shown
    assert last[1]["role"] == "user"  # the window starts at a turn

    alice = await small_app.memory.history.find_user("test:alice")
    assert alice is not None
    [fact] = await small_app.memory.memories.current(alice.id)
    assert (fact.kind, fact.key, fact.content) == ("plan", "trip", "Travels to Oslo in June")
    hits = await small_app.memory.searcher.search_messages(Scope(alice.id), "travel Oslo June")
    assert "remember: I travel to Oslo in June." in hits[0].text  # history stays searchable


async def test_compact_command_forces_it(small_app: App, fake_llm: FakeOpenAI) -> None:
    channel = RecordingChannel()
    small_app.add_channel(channel)
    assert await say(small_app, channel, "/compact") == "Nothing to compact yet."
    await say(small_app, channel, "let's plan the trip")
    await say(small_app, channel, "with a tool", sender="alice")
    answer = await say(small_app, channel, "/compact")
    assert answer.startswith("Compacted 4 messages") and "saved 1 facts" in answer
    await say(small_app, channel, "what next?")
    last = _turn_requests(fake_llm)[-1]
    assert "Alice is planning a trip." in last[0]["content"]
    assert [m["role"] for m in last] == ["system", "user"]
    # A second compaction rolls the earlier summary in.
    await say(small_app, channel, "/compact")
    compactions = [r for r in fake_llm.requests if r["messages"][0]["content"] == INSTRUCTIONS]
    assert "Alice is planning a trip." in compactions[-1]["messages"][1]["content"]


async def test_a_failing_summariser_changes_nothing(small_app: App, fake_llm: FakeOpenAI) -> None:
    channel = RecordingChannel()
    small_app.add_channel(channel)
    await say(small_app, channel, "one " + LONG[:2_400])
    fake_llm.responder = lambda r: (
        Reply(status=500) if r["messages"][0]["content"] == INSTRUCTIONS else echo(r)
    )
    assert (await say(small_app, channel, "two " + LONG[:2_400])).startswith("echo: two")
    last = _turn_requests(fake_llm)[-1]
    assert any(str(m["content"]).startswith("one ") for m in last)  # nothing was dropped
    assert "couldn't summarise" in await say(small_app, channel, "/compact")


def test_summary_replies_are_read_leniently() -> None:
    assert parse_reply("just prose").summary == "just prose"
    result = parse_reply('{"summary": "s", "facts": [{"text": "t"}, {"text": ""}, 3]}')
    assert result.summary == "s" and [f.text for f in result.facts] == ["t"]


async def test_group_facts_go_to_the_person_they_are_about(
    small_app: App, fake_llm: FakeOpenAI
) -> None:
    channel = RecordingChannel()
    small_app.add_channel(channel)
    facts = [
        {"text": "Bob is vegetarian", "person": "Bob"},
        {"text": "Zed likes jazz", "person": "Zed"},  # not a speaker here: not saved
    ]
    reply = json.dumps({"summary": "Dinner planning.", "facts": facts})
    fake_llm.responder = lambda r: (
        Reply(text=reply) if r["messages"][0]["content"] == INSTRUCTIONS else echo(r)
    )
    room = {"chat": "room", "direct": False}
    await say(small_app, channel, "I don't eat meat", sender="bob", **room)
    await say(small_app, channel, "noted", sender="alice", **room)
    assert "saved 1 facts" in await say(small_app, channel, "/compact", sender="alice", **room)
    bob = await small_app.memory.history.find_user("test:bob")
    alice = await small_app.memory.history.find_user("test:alice")
    assert bob is not None and alice is not None
    assert [m.content for m in await small_app.memory.memories.current(bob.id)] == [
        "Bob is vegetarian"
    ]
    assert await small_app.memory.memories.current(alice.id) == []
