"""Automatic recall: relevant memories and earlier messages reach the model each turn,
in the volatile note, without disturbing the cached prompt prefix."""

from __future__ import annotations

from typing import Any

from bot.app import App
from tests.bot.harness.memory import say
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI, note_of, without_note


def _note(request: dict[str, Any]) -> str:
    note = note_of(request)
    assert note, "every request carries the volatile note"
    return note


async def _user_id(app: App, name: str) -> int:
    user = await app.memory.history.find_user(f"test:{name}")
    assert user is not None
    return user.id


async def test_relevant_memories_and_old_messages_are_recalled(
    app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    await say(app, channel, "My dentist is Dr Okafor on Elm Street", chat="old-chat")
    await say(app, channel, "hello")
    alice = await _user_id(app, "alice")
    await app.memory.memories.remember(alice, "Allergic to shellfish", kind="fact")

    await say(app, channel, "Any dinner ideas with shellfish? And when is my dentist?")
    note = _note(fake_llm.requests[-1])
    assert "Allergic to shellfish" in note
    assert "Dr Okafor on Elm Street" in note
    # What the model already sees in this conversation is not repeated.
    assert "hello" not in note


async def test_background_stays_byte_identical_across_turns(
    app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    await say(app, channel, "hi")
    alice = await _user_id(app, "alice")
    await app.memory.memories.remember(alice, "Prefers short answers", kind="preference")
    await say(app, channel, "/new")
    await say(app, channel, "first question")
    # A memory saved mid-conversation shows up in recall, not in the background.
    await app.memory.memories.remember(alice, "Plays the cello", kind="fact")
    await say(app, channel, "second question about the cello")
    first, second = fake_llm.requests[-2]["messages"], fake_llm.requests[-1]["messages"]
    # The background ends the one system message.
    assert "Prefers short answers" in first[0]["content"]
    assert first[0] == second[0]
    *stable, asked = first
    assert second[: len(stable)] == stable  # the whole prefix is reused...
    question = second[len(stable)]["content"]
    assert question.startswith(without_note(asked["content"]))  # ...up to the note
    assert "Plays the cello" in _note(fake_llm.requests[-1])
    assert "Plays the cello" not in second[0]["content"]


async def test_group_recall_uses_only_the_speaker_and_the_group(
    app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    await say(app, channel, "private note: the safe code is 7312", sender="alice")
    await say(app, channel, "private note: my safe is at home", sender="bob")
    alice, bob = await _user_id(app, "alice"), await _user_id(app, "bob")
    await app.memory.memories.remember(alice, "Alice keeps a safe in the attic")
    await app.memory.memories.remember(bob, "Bob's safe is a blue one")
    group = {"chat": "room", "direct": False}
    await say(app, channel, "we talked about a safe for the office", sender="carol", **group)
    await say(app, channel, "ok", sender="carol", **group)

    await say(app, channel, "what do you know about my safe?", sender="bob", **group)
    request = fake_llm.requests[-1]["messages"]
    note = _note(fake_llm.requests[-1])
    everything = " ".join(str(m.get("content")) for m in request)
    assert "Bob's safe is a blue one" in note
    assert "Alice keeps a safe" not in everything
    assert "7312" not in everything and "private note" not in everything
    assert "we talked about a safe for the office" in everything
    # Groups get no profile snapshot: the system message is the fixed text alone.
    assert request[0]["content"] == app.agent._prompt.system_message["content"]
    assert [m["role"] for m in request].count("system") == 1
