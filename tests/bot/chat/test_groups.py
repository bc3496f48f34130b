"""Which group messages the assistant answers: mentions, and threads it takes part in."""

from __future__ import annotations

from dataclasses import replace

from bot.app import App
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI


async def test_a_group_thread_is_answered_after_a_mention_there(
    app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    unknown_thread = channel.inbound("hm", chat="g1", thread="t9", direct=False, msg_id="2")
    mention = replace(
        channel.inbound("what is 2+2", chat="g1", thread="t1", direct=False, msg_id="3"),
        mentions_bot=True,
    )
    follow_up = channel.inbound("and 3+3?", chat="g1", thread="t1", direct=False, msg_id="4")

    assert await app.sessions.handle(unknown_thread) is False
    assert await app.sessions.handle(mention) is True
    await app.sessions.drain()
    assert await app.sessions.handle(follow_up) is True
    await app.sessions.drain()

    # In groups the model sees who said what.
    assert channel.texts() == ["echo: U1: what is 2+2", "echo: U1: and 3+3?"]
    assert len(fake_llm.requests) == 2


async def test_redelivered_message_is_not_taken_twice(
    app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    message = channel.inbound("once", msg_id="m1")
    assert await app.sessions.handle(message) is True
    assert await app.sessions.handle(message) is False
    await app.sessions.drain()
    assert channel.texts() == ["echo: once"]
