"""Help, usage and unknown-command answers as a Telegram user sees them: placeholders
such as `<id or text>` intact, commands as typed on Telegram, no model call."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import App
from memory.db.models import Message
from tests.adapters.telegram.conftest import OWNER, OWNER_USER, answered
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.fakes.telegram_server import FakeTelegram

USAGES = {
    "/forget": "Usage: /forget <id or text> (see /memory for ids).",
    "/task": "Usage: /task <goal> starts a background task; /task ID shows one.",
    "/answer": "Usage: /answer ID <your answer>",
    "/cancel_job": "Usage: /cancel_job ID (see /jobs)",
    "/skill_approve": (
        "Usage: /skill_approve NAME, or /skill_approve platform:id NAME (/skills lists drafts)"
    ),
}


async def test_help_lists_every_command_with_its_placeholders_intact(
    bot: App, telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    telegram.push_message(FakeTelegram.private(OWNER_USER), OWNER_USER, "/help")
    (shown,) = await answered(telegram, bot, OWNER)

    lines = shown.splitlines()
    assert lines[0] == "Commands:"
    assert lines[1:] == [f"/{c.name} — {c.description}" for c in bot.commands.commands]
    assert "/forget — forget a memory: /forget <id or text>" in lines
    assert "/task — start a background task: /task <goal>; /task ID shows one" in lines
    (sent,) = telegram.in_chat(OWNER)
    assert sent.entities == []  # nothing in the help was taken for formatting
    assert fake_llm.requests == []


async def test_usage_answers_arrive_as_written(
    bot: App, telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    chat = FakeTelegram.private(OWNER_USER)
    for command in USAGES:
        telegram.push_message(chat, OWNER_USER, command)
    texts = await answered(telegram, bot, OWNER, len(USAGES))
    assert sorted(texts) == sorted(USAGES.values())
    assert fake_llm.requests == []


async def test_an_unknown_command_is_answered_without_the_model_and_kept(
    bot: App, telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    chat = FakeTelegram.private(OWNER_USER)
    telegram.push_message(chat, OWNER_USER, "/frobnicate now")
    assert await answered(telegram, bot, OWNER) == ["unknown command — /help lists them"]
    assert fake_llm.requests == []

    # A path is not a command: it goes to the model, and the mistyped command does not.
    telegram.push_message(chat, OWNER_USER, "/etc/hosts is weird")
    texts = await answered(telegram, bot, OWNER, 2)
    assert texts[1] == "echo: /etc/hosts is weird"
    assert len(fake_llm.requests) == 1
    asked = [m.get("content") for m in fake_llm.requests[0]["messages"]]
    assert "/frobnicate now" not in asked

    async with bot.engine.connect() as connection:
        rows = (
            await connection.execute(
                select(Message.role, Message.content, Message.set_aside).order_by(Message.id)
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("user", "/frobnicate now", True),
        ("assistant", "unknown command — /help lists them", False),
        ("user", "/etc/hosts is weird", False),
        ("assistant", "echo: /etc/hosts is weird", False),
    ]


async def test_a_model_answer_with_tags_and_references_arrives_as_written(
    bot: App, telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    fake_llm.add(Reply(text="Use **x<y>z**: a <b> c &amp; d, then `<code> &lt;`."))
    telegram.push_message(FakeTelegram.private(OWNER_USER), OWNER_USER, "show me")
    assert await answered(telegram, bot, OWNER) == ["Use x<y>z: a <b> c &amp; d, then <code> &lt;."]
    (sent,) = telegram.in_chat(OWNER)
    text, entities = sent.current
    shown = {e["type"]: text[e["offset"] : e["offset"] + e["length"]] for e in entities}
    assert shown == {"bold": "x<y>z", "code": "<code> &lt;"}
