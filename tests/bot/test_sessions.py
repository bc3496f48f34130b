"""The session manager end to end: real database, real openai client, fake model server."""

from __future__ import annotations

from bot.app import App
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI


async def test_message_gets_a_reply_and_everything_is_stored(
    app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    await app.sessions.handle(channel.inbound("hello there"))
    await app.sessions.drain()

    assert channel.texts() == ["echo: hello there"]
    conversation = await app.store.open_conversation(
        "test", "c1", "", is_direct=True, owner_id=None
    )
    context = await app.store.load_context(conversation.id)
    assert [(m.role, m.content) for m in context.messages] == [
        ("user", "hello there"),
        ("assistant", "echo: hello there"),
    ]
    assert await app.store.unanswered(conversation.id) == 0
