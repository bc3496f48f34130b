"""Files people share, and replies whose text starts over between tool steps."""

from __future__ import annotations

import base64
from typing import Any

from adapters.slack.events import SlackFile
from adapters.slack.files import FileFetcher
from tests.adapters.slack.harness import Harness, dm, mention
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.fakes.slack import FakeSlack

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def _user_content(request: dict[str, Any]) -> list[Any]:
    return [m["content"] for m in request["messages"] if m["role"] == "user"]


async def test_shared_text_files_and_images_reach_the_model(
    slack: Harness, fake_llm: FakeOpenAI
) -> None:
    files = [
        slack.fake.host_file("notes.md", b"# Plan\n- buy milk", "text/markdown"),
        slack.fake.host_file("dot.png", PNG, "image/png"),
        slack.fake.host_file("photos.zip", b"PK\x03\x04", "application/zip"),
    ]
    await slack.deliver(dm("what's in these?", subtype="file_share", files=files))
    await slack.settle()

    (content,) = _user_content(fake_llm.requests[0])
    text = " ".join(part.get("text", "") for part in content)
    assert "what's in these?" in text and "- buy milk" in text
    assert "photos.zip" in text and "only text files, documents and images can be read" in text
    images = [part for part in content if part["type"] == "image_url"]
    assert (
        images[0]["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(PNG).decode()
    )
    assert len(slack.fake.texts("DALICE")) == 1


async def test_without_a_valid_token_a_file_is_described_not_read(fake_slack: FakeSlack) -> None:
    fake_slack.host_file("secret.txt", b"top secret", "text/plain")
    item = SlackFile("F1", "secret.txt", "text/plain", 10, f"{fake_slack.url}/files/secret.txt")
    fetcher = FileFetcher("xoxb-wrong", api_url=fake_slack.api_url)
    try:
        (attachment,) = await fetcher.fetch([item])
    finally:
        await fetcher.close()
    assert attachment.data == b"" and attachment.note == "could not be downloaded"


async def test_a_reply_that_starts_over_after_a_tool_step_ends_with_only_the_final_text(
    slack: Harness, fake_llm: FakeOpenAI
) -> None:
    fake_llm.add(
        Reply(text="Let me look at the clock first.", tool_calls=[("current_time", {})]),
        Reply(text="It is **noon**."),
    )
    event = mention("what time is it?")
    await slack.deliver(event)
    await slack.settle()

    (reply,) = slack.fake.messages
    assert reply.thread_ts == event["ts"] and reply.streamed and not reply.streaming
    assert reply.text == "It is **noon**."
