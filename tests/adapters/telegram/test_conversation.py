"""Private chats end to end: real PTB ⇄ fake Bot API, real openai ⇄ fake model, real SQL."""

from __future__ import annotations

from typing import Any

from bot.app import App
from bot.commands.registry import Command, CommandContext
from tests.adapters.telegram.conftest import OWNER, OWNER_USER, answered, running
from tests.fakes.openai_server import FakeOpenAI, Reply, last_user_text
from tests.fakes.telegram_server import FakeTelegram


async def test_message_in_reply_out(bot: App, telegram: FakeTelegram, fake_llm: FakeOpenAI) -> None:
    telegram.push_message(FakeTelegram.private(OWNER_USER), OWNER_USER, "hello there")

    assert await answered(telegram, bot, OWNER) == ["echo: hello there"]
    assert len(fake_llm.requests) == 1
    assert (OWNER, "typing", None) in telegram.actions
    conversation = await bot.store.open_conversation(
        "telegram", str(OWNER), "", is_direct=True, owner_id=None
    )
    context = await bot.store.load_context(conversation.id)
    assert [(m.role, m.content) for m in context.messages] == [
        ("user", "hello there"),
        ("assistant", "echo: hello there"),
    ]


async def test_markdown_arrives_as_entities(
    bot: App, telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    fake_llm.add(Reply(text="Use **bold** and `code`:\n\n```python\nprint(1)\n```"))
    telegram.push_message(FakeTelegram.private(OWNER_USER), OWNER_USER, "format please")

    await answered(telegram, bot, OWNER)
    text, entities = telegram.in_chat(OWNER)[0].current
    assert "**" not in text and "```" not in text
    covered = {(e["type"], text[e["offset"] : e["offset"] + e["length"]]) for e in entities}
    assert {("bold", "bold"), ("code", "code"), ("pre", "print(1)")} <= covered


async def test_unknown_user_is_refused_without_a_model_call(
    settings_for: Any, telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    # With pairing on (the default) they would get a pairing code (tests/bot/people).
    stranger = FakeTelegram.user(999, "Eve", "eve")
    async with running(settings_for({"pairing": "off"})) as bot:
        telegram.push_message(FakeTelegram.private(stranger), stranger, "let me in")
        texts = await answered(telegram, bot, 999)
    assert len(texts) == 1 and "telegram:999" in texts[0]
    assert fake_llm.requests == []


async def test_allowlist_admits_by_id_and_username(
    settings_for: Any, telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    bob = FakeTelegram.user(222, "Bob", "Bob_The_User")
    cid = FakeTelegram.user(333, "Cid")
    async with running(settings_for(allowed_users=["@bob_the_user", "333"])) as app:
        telegram.push_message(FakeTelegram.private(bob), bob, "hi from bob")
        telegram.push_message(FakeTelegram.private(cid), cid, "hi from cid")
        assert await answered(telegram, app, 222) == ["echo: hi from bob"]
        assert await answered(telegram, app, 333) == ["echo: hi from cid"]


async def test_commands_are_registered_and_answered(
    settings_for: Any, telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    from bot.app import build_app
    from tests.adapters.telegram.conftest import FAST

    app = build_app(settings_for(), telegram_tuning=FAST)

    async def ping(ctx: CommandContext) -> str:
        return "pong"

    # Another part of the app adds a command after the adapter was built.
    app.commands.add(Command("ping", "answer pong", ping, immediate=True))
    await app.prepare_database()
    await app.start()
    try:
        listed = [c["command"] for c in telegram.commands]
        # Everything in the registry, in order, including what was added late.
        assert listed == [c.name for c in app.commands.commands]
        assert listed[:5] == ["start", "help", "new", "stop", "usage"]
        assert listed[-1] == "ping"
        chat = FakeTelegram.private(OWNER_USER)
        telegram.push_message(chat, OWNER_USER, "/ping")
        assert await answered(telegram, app, OWNER) == ["pong"]
        telegram.push_message(chat, OWNER_USER, "/help")
        texts = await answered(telegram, app, OWNER, 2)
        assert "/usage" in texts[1] and "/ping" in texts[1]
        assert fake_llm.requests == []
    finally:
        await app.close()


async def test_restart_keeps_history_and_ignores_redelivered_updates(
    settings_for: Any, telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    chat = FakeTelegram.private(OWNER_USER)
    settings = settings_for()
    async with running(settings) as app:
        telegram.push_message(chat, OWNER_USER, "my name is Ann", message_id=41)
        await answered(telegram, app, OWNER)
    first_update = {"message": telegram._by_id[(OWNER, 41)]}

    async with running(settings) as app:
        # Telegram delivers the same message again (as after a crash before confirming it).
        telegram.redeliver(first_update)
        telegram.push_message(chat, OWNER_USER, "what is my name?")
        await answered(telegram, app, OWNER, 2)

    assert telegram.texts(OWNER) == ["echo: my name is Ann", "echo: what is my name?"]
    assert len(fake_llm.requests) == 2
    seen = [m.get("content") for m in fake_llm.requests[1]["messages"]]
    assert "my name is Ann" in seen and "echo: my name is Ann" in seen


async def test_two_chats_at_once_while_one_turn_is_slow(
    settings_for: Any, telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    def slow_for_some(request: dict[str, Any]) -> Reply:
        text = last_user_text(request)
        return Reply(text=f"echo: {text}", delay=2.0 if "slow" in text else 0.0)

    fake_llm.responder = slow_for_some
    ann, bob = OWNER_USER, FakeTelegram.user(222, "Bob")
    async with running(settings_for(allowed_users=["222"])) as app:
        telegram.push_message(FakeTelegram.private(ann), ann, "slow question")
        await telegram.wait_for(lambda: len(fake_llm.requests) == 1)
        telegram.push_message(FakeTelegram.private(bob), bob, "quick one")

        await telegram.wait_for(lambda: telegram.texts(222) == ["echo: quick one"])
        assert telegram.texts(OWNER) == []  # Ann's answer is still being written
        assert await answered(telegram, app, OWNER) == ["echo: slow question"]


async def test_messages_of_one_chat_keep_their_order(bot: App, telegram: FakeTelegram) -> None:
    chat = FakeTelegram.private(OWNER_USER)
    for word in ("one", "two", "three", "four"):
        telegram.push_message(chat, OWNER_USER, word)
    await telegram.wait_for(lambda: "four" in " ".join(telegram.texts(OWNER)))
    await bot.sessions.drain()

    conversation = await bot.store.open_conversation(
        "telegram", str(OWNER), "", is_direct=True, owner_id=None
    )
    context = await bot.store.load_context(conversation.id)
    asked = [m.content for m in context.messages if m.role == "user"]
    assert asked == ["one", "two", "three", "four"]
