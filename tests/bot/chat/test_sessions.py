"""The session manager end to end: real database, real openai client, fake model server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bot.agent.summarise import INSTRUCTIONS as SUMMARY_INSTRUCTIONS
from bot.app import App, build_app
from bot.chat.channels import Attachment
from bot.settings import Settings
from tests.conftest import make_settings
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI, Reply, canonical, user_texts


def contents(request: dict[str, Any], role: str = "user") -> list[Any]:
    if role == "user":
        return user_texts(request)
    return [m["content"] for m in request["messages"] if m["role"] == role]


async def conversation_id(app: App, chat: str = "c1") -> int:
    record = await app.store.open_conversation("test", chat, "", is_direct=True, owner_id=None)
    return record.id


async def test_message_gets_a_reply_and_everything_is_stored(
    app: App, channel: RecordingChannel
) -> None:
    await app.sessions.handle(channel.inbound("hello there"))
    await app.sessions.drain()

    assert channel.texts() == ["echo: hello there"]
    context = await app.store.load_context(await conversation_id(app))
    assert [(m.role, m.content) for m in context.messages] == [
        ("user", "hello there"),
        ("assistant", "echo: hello there"),
    ]
    assert await app.store.unanswered(await conversation_id(app)) == 0


async def test_messages_during_a_turn_are_answered_together_next(
    app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    fake_llm.add(Reply(text="first answer", delay=0.5))
    await app.sessions.handle(channel.inbound("one"))
    while not fake_llm.requests:
        await asyncio.sleep(0.01)
    await app.sessions.handle(channel.inbound("two"))
    await app.sessions.handle(channel.inbound("three"))
    await app.sessions.drain()

    assert len(fake_llm.requests) == 2
    assert contents(fake_llm.requests[1]) == ["one", "two", "three"]
    assert contents(fake_llm.requests[1], "assistant") == ["first answer"]
    assert channel.texts() == ["first answer", "echo: three"]
    # The stored order is the order the model saw, not the order of arrival.
    stored = (await app.store.load_context(await conversation_id(app))).messages
    assert [m.content for m in stored] == ["one", "first answer", "two", "three", "echo: three"]


async def test_different_conversations_are_answered_concurrently(
    app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    # Each answer is held until both requests are open: serial handling would stall.
    fake_llm.responder = lambda request: Reply(text="together", hold_until_in_flight=2)
    await app.sessions.handle(channel.inbound("a", chat="alice", sender="alice"))
    await app.sessions.handle(channel.inbound("b", chat="bob", sender="bob"))
    await app.sessions.drain()
    assert fake_llm.max_in_flight == 2
    assert sorted(channel.texts()) == ["together", "together"]


async def test_concurrent_turns_respect_the_global_limit(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(fake_llm, database_url, tmp_path, max_concurrent_turns=1)
    fake_llm.responder = lambda request: Reply(text="ok", delay=0.1)
    app = build_app(settings)
    await app.prepare_database()
    channel = RecordingChannel()
    app.add_channel(channel)
    try:
        for name in ("a", "b", "c"):
            await app.sessions.handle(channel.inbound("hi", chat=name, sender=name))
        await app.sessions.drain()
    finally:
        await app.close()
    assert fake_llm.max_in_flight == 1
    assert channel.texts() == ["ok", "ok", "ok"]


async def test_model_outage_keeps_the_message_and_the_next_one_answers_both(
    app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    fake_llm.add(Reply(status=503))
    await app.sessions.handle(channel.inbound("remember the milk"))
    await app.sessions.drain()
    [apology] = channel.texts()
    assert "The model service had an internal error (HTTP 503)" in apology
    assert "Your message is saved" in apology
    assert await app.store.unanswered(await conversation_id(app)) == 1

    await app.sessions.handle(channel.inbound("are you back?"))
    await app.sessions.drain()
    assert contents(fake_llm.requests[-1]) == ["remember the milk", "are you back?"]
    assert channel.texts()[-1] == "echo: are you back?"
    assert await app.store.unanswered(await conversation_id(app)) == 0


async def test_an_internal_failure_gives_a_plain_message_not_a_traceback(
    app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    # The usage table disappears under the running app: recording the model call fails.
    async with app.engine.begin() as connection:
        await connection.execute(text("DROP TABLE llm_calls"))
    await app.sessions.handle(channel.inbound("hi"))
    await app.sessions.drain()
    [reply] = channel.texts()
    assert reply.startswith("Sorry, something went wrong on my side")
    assert "llm_calls" not in reply
    assert await app.store.unanswered(await conversation_id(app)) == 1


async def test_new_starts_a_fresh_context_but_keeps_history(
    app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    await app.sessions.handle(channel.inbound("my name is Ana"))
    await app.sessions.handle(channel.inbound("/new"))
    await app.sessions.handle(channel.inbound("what is my name?"))
    await app.sessions.drain()
    assert channel.texts()[1].startswith("Started a fresh conversation")
    assert contents(fake_llm.requests[-1]) == ["what is my name?"]
    async with app.store.session() as session:
        from sqlalchemy import func, select

        from memory.db.models import Message

        assert (await session.execute(select(func.count()).select_from(Message))).scalar() == 4


async def test_stop_cancels_the_running_turn(
    app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    fake_llm.add(Reply(text="a very slow answer", delay=5))
    await app.sessions.handle(channel.inbound("take your time"))
    while not fake_llm.requests:
        await asyncio.sleep(0.01)
    await app.sessions.handle(channel.inbound("/stop"))
    await app.sessions.drain()
    assert channel.texts() == ["Stopped."]
    assert await app.store.unanswered(await conversation_id(app)) == 0

    await app.sessions.handle(channel.inbound("/stop"))
    await app.sessions.handle(channel.inbound("quick one"))
    await app.sessions.drain()
    assert channel.texts()[1:] == ["Nothing is running.", "echo: quick one"]


async def test_history_survives_a_restart_byte_for_byte(
    settings: Settings, fake_llm: FakeOpenAI
) -> None:
    fake_llm.add(Reply(tool_calls=[("current_time", {})]))
    for message in ("first", "second"):
        app = build_app(settings)
        await app.prepare_database()
        channel = RecordingChannel()
        app.add_channel(channel)
        await app.sessions.handle(channel.inbound(message))
        await app.sessions.drain()
        await app.close()

    before, after = canonical(fake_llm.requests[1]), canonical(fake_llm.requests[2])
    without_note = before[: before.rindex("\\n\\n<clawling_note>")]
    assert after.startswith(without_note)
    assert contents(fake_llm.requests[2]) == ["first", "second"]


async def test_a_repeated_platform_message_is_answered_once(
    app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    for _ in range(3):
        await app.sessions.handle(channel.inbound("hi", msg_id="42"))
    await app.sessions.drain()
    assert channel.texts() == ["echo: hi"]
    assert len(fake_llm.requests) == 1


async def test_reply_that_cannot_be_delivered_stays_stored(
    app: App, channel: RecordingChannel
) -> None:
    channel.fail_sends = 5
    await app.sessions.handle(channel.inbound("hello"))
    await app.sessions.drain()
    assert channel.texts() == []
    stored = (await app.store.load_context(await conversation_id(app))).messages
    assert [m.content for m in stored] == ["hello", "echo: hello"]


async def test_commands_answer_without_the_model(
    app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    await app.sessions.handle(channel.inbound("hi"))
    await app.sessions.drain()
    await app.sessions.handle(channel.inbound("/usage@clawling_bot"))
    await app.sessions.handle(channel.inbound("/help"))
    await app.sessions.drain()
    usage, help_text = channel.texts()[1:]
    assert usage.startswith("Today (UTC): 1 model calls,")
    assert "/new — start a fresh conversation" in help_text
    assert len(fake_llm.requests) == 1


async def test_group_messages_carry_the_speaker_name(
    app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    await app.sessions.handle(channel.inbound("hi all", chat="g", sender="ana", direct=False))
    await app.sessions.drain()
    await app.sessions.handle(channel.inbound("hello", chat="g", sender="bo", direct=False))
    await app.sessions.drain()
    assert contents(fake_llm.requests[-1]) == ["Ana: hi all", "Bo: hello"]


async def test_files_are_read_or_described(
    app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    files = (
        Attachment("text", "notes.txt", "text/plain", b"buy oat milk"),
        Attachment("text", "big.txt", "text/plain", b"x" * 200_000),
        Attachment("image", "cat.png", "image/png", png),
        Attachment("audio", "voice.ogg", "audio/ogg", b"OggS"),
        Attachment("document", "report.pdf", "application/pdf", b"%PDF-1.7"),
        Attachment("file", "photos.zip", "application/zip", b"PK"),
    )
    inbound = channel.inbound("see attached")
    await app.sessions.handle(type(inbound)(**{**inbound.__dict__, "attachments": files}))
    await app.sessions.drain()
    [parts] = contents(fake_llm.requests[0])
    text = parts[0]["text"]
    # A file's content is outside content: marked as data (and the message with it).
    assert '[File notes.txt]\n<untrusted_data source="file notes.txt">\nbuy oat milk\n' in text
    assert '<untrusted_data source="image cat.png">\n[Image cat.png]\n' in text
    assert "[File big.txt: it has 200,000 characters; only its first 100,000 were read" in text
    assert "x" * 100_000 + "\n</untrusted_data>" in text and "x" * 100_001 not in text
    assert "speech transcription is not configured" in text
    assert "[File report.pdf: it could not be read: it looks damaged or is not" in text
    assert "photos.zip (application/zip" in text
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,iVBORw0KGgo")


async def test_the_context_window_jumps_instead_of_sliding(
    fake_llm: FakeOpenAI, sqlite_url: str, tmp_path: Path
) -> None:
    settings = make_settings(fake_llm, sqlite_url, tmp_path, context_tokens=4_000)
    app = build_app(settings)
    await app.prepare_database()
    channel = RecordingChannel()
    app.add_channel(channel)
    try:
        for turn in range(40):
            await app.sessions.handle(channel.inbound(f"message {turn}: " + "words " * 40))
            await app.sessions.drain()
    finally:
        await app.close()
    # Turn requests only: compaction asks the model separately to summarise.
    turns = [r for r in fake_llm.requests if r["messages"][0]["content"] != SUMMARY_INSTRUCTIONS]
    firsts = [contents(r)[0][:11] for r in turns]
    # The oldest message the model sees changes rarely (a jump), not on every turn.
    jumps = sum(1 for a, b in zip(firsts, firsts[1:], strict=False) if a != b)
    assert 2 <= jumps <= 10
    assert firsts[-1] != "message 0: "
    for request in turns:
        # Everything after the fixed system prompt (its size depends on tools and skills).
        history = request["messages"][1:]
        assert sum(len(str(m["content"])) for m in history) // 4 < 2_000 + 400
    assert len(turns) == 40
    assert len(channel.texts()) == 40
