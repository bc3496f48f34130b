"""Delivery under trouble: flood control, server errors, refused requests, streaming."""

from __future__ import annotations

import logging
import time
from typing import Any

import aiohttp
import pytest

from bot.app import App
from bot.chat.channels import ChatRef
from tests.adapters.telegram.conftest import FAST, GROUP, OWNER, OWNER_USER, answered, running
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.fakes.telegram_server import FakeTelegram


async def test_a_429_storm_loses_no_message(
    settings_for: Any, telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    people = [FakeTelegram.user(200 + i, f"P{i}") for i in range(6)]
    telegram.fail("sendMessage", code=429, retry_after=1, times=8)
    telegram.fail("sendChatAction", code=429, retry_after=1, times=3)
    async with running(settings_for(allowed_users=[str(p["id"]) for p in people])) as app:
        for person in people:
            telegram.push_message(
                FakeTelegram.private(person), person, f"hi {person['first_name']}"
            )
        for person in people:
            assert await answered(telegram, app, person["id"]) == [
                f"echo: hi {person['first_name']}"
            ]
    assert len(telegram.messages) == len(people)  # each answer exactly once


async def test_server_errors_are_retried(bot: App, telegram: FakeTelegram) -> None:
    telegram.fail("sendMessage", code=500, description="Internal Server Error", times=2)
    telegram.push_message(FakeTelegram.private(OWNER_USER), OWNER_USER, "still there?")

    assert await answered(telegram, bot, OWNER) == ["echo: still there?"]


async def test_a_refused_reply_is_logged_stored_and_sent_later(
    bot: App, telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    telegram.fail("sendMessage", code=400, description="Bad Request: chat not found", times=1)
    telegram.push_message(FakeTelegram.private(OWNER_USER), OWNER_USER, "hello?")
    await telegram.wait_for(lambda: telegram.calls.count("sendMessage") >= 1)
    await telegram.wait_for(lambda: "could not deliver" in caplog.text)
    await bot.sessions.drain()
    assert "chat not found" in caplog.text.lower()

    # The answer was released to the deliverer, which sends it again: shown once, later.
    await telegram.wait_for(lambda: len(telegram.messages) >= 1)
    conversation = await bot.store.open_conversation(
        "telegram", str(OWNER), "", is_direct=True, owner_id=None
    )
    context = await bot.store.load_context(conversation.id)
    assert [m.role for m in context.messages] == ["user", "assistant"]
    await bot.sessions.drain()
    assert [m.text for m in telegram.messages] == ["echo: hello?"]  # once


async def test_rejected_formatting_falls_back_to_plain_text(
    bot: App, telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    fake_llm.add(Reply(text="some **bold** words"))
    telegram.fail(
        "sendMessage", code=400, description="Bad Request: can't parse entities: odd", times=1
    )
    telegram.push_message(FakeTelegram.private(OWNER_USER), OWNER_USER, "format")

    assert await answered(telegram, bot, OWNER) == ["some bold words"]
    assert telegram.messages[0].entities == []


async def test_long_reply_is_split_with_formatting_intact(
    bot: App, telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    paragraphs = [
        f"Paragraph {i} has **bold {i}** and `code {i}`. " + "word " * 60 for i in range(40)
    ]
    code = "```python\n" + "\n".join(f"value_{i} = {i}" for i in range(300)) + "\n```"
    fake_llm.add(
        Reply(
            text="\n\n".join(paragraphs[:20])
            + "\n\n"
            + code
            + "\n\n"
            + "\n\n".join(paragraphs[20:])
        )
    )
    telegram.push_message(FakeTelegram.private(OWNER_USER), OWNER_USER, "write a lot")
    await telegram.wait_for(lambda: any("Paragraph 39" in t for t in telegram.texts(OWNER)))
    await bot.sessions.drain()

    sent = telegram.in_chat(OWNER)
    assert len(sent) >= 4
    # The fake server refuses texts over 4096 UTF-16 units and entities outside the
    # text, so each part arriving means each part was valid.
    whole = "\n".join(m.final_text for m in sent)
    for i in range(40):
        assert f"Paragraph {i} has bold {i}" in whole
    assert "**" not in whole and "```" not in whole
    for message in sent:
        text, entities = message.current
        covered = {(e["type"], text[e["offset"] : e["offset"] + e["length"]]) for e in entities}
        for i in range(40):
            if f"Paragraph {i} " in text:
                assert ("bold", f"bold {i}") in covered and ("code", f"code {i}") in covered
        # Parts start at a paragraph or a line, never mid-word.
        assert text[0].isupper() or text.startswith("value_")
        pre = [e for e in entities if e["type"] == "pre"]
        if "value_" in text:
            assert pre and all(e.get("language") == "python" for e in pre)


async def test_streamed_group_reply_is_one_message_edited_in_place(
    bot: App, telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    answer = "Here is a long considered answer. " * 6
    fake_llm.add(Reply(text=answer, chunk_chars=20, chunk_delay=0.1))
    started = time.monotonic()
    telegram.push_message(FakeTelegram.group(GROUP), OWNER_USER, "@clawling_test_bot think")
    await telegram.wait_for(lambda: bool(telegram.in_chat(GROUP)))
    await bot.sessions.drain()
    elapsed = time.monotonic() - started

    sent = telegram.in_chat(GROUP)
    assert len(sent) == 1
    assert sent[0].final_text == answer.strip()
    assert sent[0].edits, "the reply was not shown while being written"
    assert all(text.endswith("▍") for text, _ in sent[0].edits[:-1])
    # At most one change per interval (plus the final one).
    assert len(sent[0].edits) <= elapsed / FAST.stream.interval + 2


async def test_streamed_private_reply_uses_drafts_then_one_message(
    bot: App, telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    answer = "A private answer that takes a while to write. " * 5
    fake_llm.add(Reply(text=answer, chunk_chars=20, chunk_delay=0.1))
    telegram.push_message(FakeTelegram.private(OWNER_USER), OWNER_USER, "think")
    await answered(telegram, bot, OWNER)

    assert telegram.drafts and all(d["chat_id"] == OWNER for d in telegram.drafts)
    assert len({d["draft_id"] for d in telegram.drafts}) == 1
    assert telegram.texts(OWNER) == [answer.strip()]
    assert telegram.in_chat(OWNER)[0].edits == []


async def test_without_drafts_private_replies_are_edited_in_place(
    bot: App, telegram: FakeTelegram, fake_llm: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    telegram.fail("sendMessageDraft", code=404, description="Not Found", times=100)
    for question in ("first", "second"):
        fake_llm.add(Reply(text=f"{question} answer " * 15, chunk_chars=20, chunk_delay=0.1))
        telegram.push_message(FakeTelegram.private(OWNER_USER), OWNER_USER, question)
        await telegram.wait_for(
            lambda q=question: any(t.startswith(q) for t in telegram.texts(OWNER))
        )
        await bot.sessions.drain()

    sent = telegram.in_chat(OWNER)
    assert [m.final_text for m in sent] == [
        ("first answer " * 15).strip(),
        ("second answer " * 15).strip(),
    ]
    assert all(m.edits for m in sent)
    assert telegram.calls.count("sendMessageDraft") == 1  # learned once, not asked again


async def test_other_features_can_send_and_edit_a_message(bot: App, telegram: FakeTelegram) -> None:
    chat = ChatRef("telegram", str(OWNER))
    ref = await bot.outbox.send(chat, "Working on it…")
    adapter = bot.outbox.adapter("telegram")
    await adapter.edit(ref, "Done: **3 files**")
    await adapter.edit(ref, "Done: **3 files**")  # unchanged: not an error
    await adapter.edit(ref, "x" * 5000)

    (sent,) = telegram.in_chat(OWNER)
    assert sent.text == "Working on it…"
    assert sent.edits[0] == ("Done: 3 files", [{"type": "bold", "offset": 6, "length": 7}])
    assert len(sent.edits) == 2 and sent.edits[1][0].endswith("…")


async def test_stop_ends_a_streaming_answer_in_one_message(
    bot: App, telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    fake_llm.add(Reply(text="A very long story begins. " * 40, chunk_chars=10, chunk_delay=0.1))
    group = FakeTelegram.group(GROUP)
    telegram.push_message(group, OWNER_USER, "@clawling_test_bot tell me a story")
    await telegram.wait_for(lambda: bool(telegram.in_chat(GROUP)))  # the preview is showing
    telegram.push_message(group, OWNER_USER, "/stop")
    await telegram.wait_for(lambda: len(telegram.in_chat(GROUP)) == 2)
    await bot.sessions.drain()

    story, stopped = telegram.in_chat(GROUP)
    assert story.final_text.startswith("A very long story begins.")
    assert story.final_text.endswith("…(stopped)") and "▍" not in story.final_text
    assert stopped.final_text == "Stopped."
    assert len(telegram.in_chat(GROUP)) == 2


async def test_readiness_follows_the_connection_to_telegram(
    bot: App, telegram: FakeTelegram
) -> None:
    url = f"http://127.0.0.1:{bot.http.port}/readyz"

    async def ready() -> tuple[int, str]:
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            return response.status, await response.text()

    assert (await ready())[0] == 200
    telegram.fail("getUpdates", code=502, description="Bad Gateway", times=2)
    telegram.push_message(FakeTelegram.private(OWNER_USER), OWNER_USER, "wake the long poll")
    await telegram.wait_for(lambda: telegram.calls.count("getUpdates") >= 3)
    status, body = await ready()
    assert status == 503 and "telegram is not connected" in body
    # Polling recovers by itself, and nothing sent meanwhile is lost.
    telegram.push_message(FakeTelegram.private(OWNER_USER), OWNER_USER, "are you back?")
    await answered(telegram, bot, OWNER, 2)
    assert (await ready())[0] == 200
