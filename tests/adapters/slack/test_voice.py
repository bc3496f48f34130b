"""Audio files shared in Slack, transcribed through the fake transcription server."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from memory.voice import VoicePreferences
from tests.adapters.slack.conftest import Launch
from tests.adapters.slack.harness import dm
from tests.fakes.openai_server import FakeOpenAI, Reply

M4A = b"\x00\x00\x00\x18ftypM4A " + bytes(64)


def _user_text(request: dict[str, Any]) -> str:
    return str([m for m in request["messages"] if m["role"] == "user"][-1]["content"])


async def test_shared_audio_is_transcribed_stored_and_searchable(
    launch: Launch, database_url: str, fake_llm: FakeOpenAI
) -> None:
    fake_llm.audio.transcripts.append("the quarterly numbers are due on the ninth")
    slack = await launch("socket", database_url, {"transcription_model": "whisper-1"})
    clip = slack.fake.host_file("audio_message.m4a", M4A, "audio/mp4")
    await slack.deliver(dm("", subtype="file_share", files=[clip]))
    await slack.settle()

    (sent,) = fake_llm.audio.requests
    assert sent.data == M4A and sent.file_name == "audio_message.m4a"
    assert sent.content_type == "audio/mp4"
    seen = _user_text(fake_llm.requests[0])
    assert "[voice message, transcribed]" in seen and "due on the ninth" in seen
    async with slack.app.engine.connect() as connection:
        rows = (
            await connection.execute(
                text("SELECT content, untrusted FROM messages WHERE role = 'user'")
            )
        ).all()
    # A shared audio file is outside content, as a shared text file is.
    assert len(rows) == 1 and "due on the ninth" in rows[0][0] and rows[0][1]

    # Later, the model looks it up with its search tool, as it would for typed text.
    fake_llm.add(Reply(tool_calls=[("search_history", {"query": "quarterly numbers"})]))
    fake_llm.add(Reply(text="On the ninth."))
    await slack.deliver(dm("when are the numbers due?"))
    await slack.settle()
    results = [m for m in fake_llm.requests[-1]["messages"] if m["role"] == "tool"]
    assert "due on the ninth" in str(results[-1]["content"])


async def test_audio_over_the_size_standing_in_for_length_is_refused(
    launch: Launch, sqlite_url: str, fake_llm: FakeOpenAI
) -> None:
    # 10 s allowed at 32 kB a second: 320 kB; Slack says no length, so size decides.
    core = {"transcription_model": "whisper-1", "max_audio_seconds": 10}
    slack = await launch("socket", sqlite_url, core)
    big = slack.fake.host_file("long.mp3", b"ID3" + bytes(400_000), "audio/mpeg")
    await slack.deliver(dm("listen", subtype="file_share", files=[big]))
    await slack.settle()

    assert fake_llm.audio.requests == []
    seen = _user_text(fake_llm.requests[0])
    assert "long.mp3" in seen and "the limit is 10 seconds" in seen


async def test_spoken_replies_arrive_as_an_audio_file_after_the_text(
    launch: Launch, database_url: str, fake_llm: FakeOpenAI
) -> None:
    slack = await launch("socket", database_url, {"speech_model": "tts-1"})
    await slack.deliver(dm("hello"))  # Alice becomes a person
    await slack.settle()
    alice = await slack.app.people.by_account("slack", "UALICE")
    assert alice is not None
    await VoicePreferences(slack.app.engine).set_voice(alice.id, True)

    fake_llm.add(Reply(text="Meeting at noon."))
    await slack.deliver(dm("when is the meeting?"))
    await slack.settle()

    assert slack.fake.texts("DALICE")[-1] == "Meeting at noon."
    (upload,) = slack.fake.uploads.values()
    assert upload.filename == "reply.ogg" and upload.channel == "DALICE"
    assert b"Meeting at noon." in upload.data
