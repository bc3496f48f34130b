"""Groups: the bot answers only when addressed; forum topics are separate conversations."""

from __future__ import annotations

from bot.app import App
from tests.adapters.telegram.conftest import GROUP, OWNER_USER, answered
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.telegram_server import FakeTelegram

BOT = "@clawling_test_bot"


async def test_group_messages_reach_the_model_only_when_addressed(
    bot: App, telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    group = FakeTelegram.group(GROUP)
    other_bot = {"id": 555, "is_bot": True, "first_name": "Other", "username": "other_bot"}
    telegram.push_message(group, OWNER_USER, "just chatting with friends")
    telegram.push_message(group, OWNER_USER, "/help@other_bot")
    telegram.push_message(group, OWNER_USER, "hey @someone_else look")
    telegram.push_message(group, other_bot, f"{BOT} hello from a bot")
    asked = telegram.push_message(group, OWNER_USER, f"{BOT} what time is it?")

    texts = await answered(telegram, bot, GROUP)
    assert texts == ["echo: Ann: what time is it?"]
    assert telegram.in_chat(GROUP)[0].reply_to == asked
    assert len(fake_llm.requests) == 1

    # A reply to the bot's message is addressed to it, as is one of its commands.
    replied = telegram.in_chat(GROUP)[0].message_id
    telegram.push_message(group, OWNER_USER, "and tomorrow?", reply_to=replied)
    texts = await answered(telegram, bot, GROUP, 2)
    assert texts[1] == "echo: Ann: and tomorrow?"
    telegram.push_message(group, OWNER_USER, f"/help{BOT}")
    texts = await answered(telegram, bot, GROUP, 3)
    assert texts[2].startswith("Commands:")
    telegram.push_message(group, OWNER_USER, "/usage")
    texts = await answered(telegram, bot, GROUP, 4)
    assert "model calls" in texts[3]
    assert len(fake_llm.requests) == 2


async def test_unknown_user_in_a_group_is_refused_only_when_addressing_the_bot(
    bot: App, telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    group = FakeTelegram.group(GROUP)
    eve = FakeTelegram.user(999, "Eve")
    telegram.push_message(group, eve, "talking to people")
    telegram.push_message(group, eve, f"{BOT} do my homework")

    texts = await answered(telegram, bot, GROUP)
    assert len(texts) == 1 and "telegram:999" in texts[0]
    assert fake_llm.requests == []


async def test_each_forum_topic_is_its_own_conversation(
    bot: App, telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    forum = FakeTelegram.group(GROUP, "Forum", forum=True)
    telegram.push_message(forum, OWNER_USER, f"{BOT} topic five here", thread_id=5)
    await answered(telegram, bot, GROUP)
    telegram.push_message(forum, OWNER_USER, f"{BOT} topic seven here", thread_id=7)
    await answered(telegram, bot, GROUP, 2)

    sent = telegram.in_chat(GROUP)
    assert [(m.thread_id, m.final_text) for m in sent] == [
        (5, "echo: Ann: topic five here"),
        (7, "echo: Ann: topic seven here"),
    ]
    # The second topic's request carries none of the first topic's history.
    second = [m.get("content") for m in fake_llm.requests[1]["messages"]]
    assert not any("topic five" in str(c) for c in second)
    assert {(GROUP, "typing", 5), (GROUP, "typing", 7)} <= set(telegram.actions)


async def test_updates_that_are_not_messages_for_the_assistant_are_ignored_quietly(
    bot: App, telegram: FakeTelegram, fake_llm: FakeOpenAI, caplog: object
) -> None:
    group = FakeTelegram.group(GROUP)
    private = FakeTelegram.private(OWNER_USER)
    first = telegram.push_message(private, OWNER_USER, "original")
    await answered(telegram, bot, OWNER_USER["id"])
    edited = dict(telegram._by_id[(OWNER_USER["id"], first)], text="edited", edit_date=1)
    telegram.push_update({"edited_message": edited})
    channel = {"id": -100777, "type": "channel", "title": "News"}
    telegram.push_message(channel, None, "a channel post", kind="channel_post")
    telegram.push_message(group, OWNER_USER, None, new_chat_members=[OWNER_USER])
    telegram.push_message(
        group, OWNER_USER, None, pinned_message={"message_id": 1, "date": 0, "chat": group}
    )
    telegram.push_message(group, None, f"{BOT} anonymous admin", sender_chat=group)
    telegram.push_update({"poll": {"id": "p1", "question": "?", "options": []}})
    telegram.push_update({"some_future_update": {"x": 1}})
    telegram.push_message(private, OWNER_USER, None, sticker={
        "file_id": "s1", "file_unique_id": "s1", "type": "regular", "width": 512,
        "height": 512, "is_animated": False, "is_video": False, "emoji": "👍",
    })  # fmt: skip

    texts = await answered(telegram, bot, OWNER_USER["id"], 2)
    assert texts == ["echo: original", "echo: [Sticker 👍]"]
    assert telegram.in_chat(GROUP) == [] and telegram.in_chat(-100777) == []
    assert len(fake_llm.requests) == 2
    errors = [r for r in caplog.records if r.levelname in {"ERROR", "CRITICAL"}]  # type: ignore[attr-defined]
    assert errors == []
