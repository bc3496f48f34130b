"""The generic streamed reply: one message, edited at most once a second, finished once."""

from __future__ import annotations

from bot.chat.channels import ChatRef
from bot.chat.outbox import CURSOR, EditStream
from tests.fakes.chat import RecordingChannel

CHAT = ChatRef("test", "c1")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_updates_are_throttled_and_the_final_text_replaces_the_draft() -> None:
    channel, clock = RecordingChannel(), Clock()
    stream = EditStream(channel, CHAT, min_interval=1.0, clock=clock)
    await stream.update("Hel")
    await stream.update("Hello")  # within the second: not shown
    clock.now += 1.5
    await stream.update("Hello wor")
    refs = await stream.finish("Hello world")
    [sent] = channel.sent
    assert sent.text == "Hel" + CURSOR
    assert sent.edits == ["Hello wor" + CURSOR, "Hello world"]
    assert [r.message_id for r in refs] == [sent.message_id]


async def test_a_short_answer_is_one_message_without_edits() -> None:
    channel = RecordingChannel()
    stream = EditStream(channel, CHAT, clock=Clock())
    await stream.finish("Done.")
    assert [(s.text, s.edits) for s in channel.sent] == [("Done.", [])]


async def test_a_failing_edit_falls_back_to_a_new_message() -> None:
    channel, clock = RecordingChannel(), Clock()
    stream = EditStream(channel, CHAT, clock=clock)
    await stream.update("draft")
    channel.sent.clear()  # the platform lost the message: edits now fail
    await stream.finish("final")
    assert [s.text for s in channel.sent] == ["final"]


async def test_when_streaming_breaks_the_final_text_is_still_delivered() -> None:
    channel = RecordingChannel()
    channel.fail_sends = 1
    stream = EditStream(channel, CHAT, clock=Clock())
    await stream.update("partial")
    await stream.update("partial more")
    await stream.finish("complete")
    assert channel.texts() == ["complete"]
