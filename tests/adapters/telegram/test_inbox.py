"""Webhook mode stores each update in the inbox before its 200 (adapters/telegram): a
redelivered update is stored and answered once, and one a dead replica claimed is
answered by the next process."""

from __future__ import annotations

from typing import Any

import aiohttp
from sqlalchemy import select

from adapters.telegram import SECRET_HEADER, WEBHOOK_PATH
from memory import db
from memory.db.models import Message
from tests.adapters.inbox_rows import claimed_by_a_dead_replica, inbox_rows
from tests.adapters.telegram.conftest import OWNER, OWNER_USER, answered, running
from tests.fakes.openai_server import FakeOpenAI, last_user_text
from tests.fakes.telegram_server import FakeTelegram

SECRET = "inbox-secret"


def update(text: str, update_id: int) -> dict[str, Any]:
    chat = FakeTelegram.private(OWNER_USER)
    message = {"message_id": update_id, "date": 1, "chat": chat, "from": OWNER_USER, "text": text}
    return {"update_id": update_id, "message": message}


async def user_messages(database_url: str) -> list[str]:
    engine = db.create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(Message.content).where(Message.role == "user").order_by(Message.id)
            )
            return [str(content) for (content,) in rows]
    finally:
        await engine.dispose()


def webhook_settings(settings_for: Any) -> Any:
    return settings_for(
        {"public_url": "https://bot.example.org"}, mode="webhook", webhook_secret=SECRET
    )


async def test_an_update_is_stored_before_its_200_and_a_redelivery_answered_once(
    settings_for: Any, telegram: FakeTelegram, fake_llm: FakeOpenAI, database_url: str
) -> None:
    async with running(webhook_settings(settings_for)) as app:
        url = f"http://127.0.0.1:{app.http.port}{WEBHOOK_PATH}"
        async with aiohttp.ClientSession() as http:
            async with http.post(
                url, json=update("kept safe", 41), headers={SECRET_HEADER: SECRET}
            ) as response:
                assert response.status == 200
            assert [event_id for event_id, _ in await inbox_rows(database_url, "telegram")] == [
                "41"
            ]
            # Telegram did not see the 200 (a timeout) and sends it again.
            async with http.post(
                url, json=update("kept safe", 41), headers={SECRET_HEADER: SECRET}
            ) as response:
                assert response.status == 200
        await app.inbox.drain()
        assert await answered(telegram, app, OWNER) == ["echo: kept safe"]
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{app.http.port}/metrics") as response,
        ):
            assert "clawling_inbox_waiting 0.0" in await response.text()
    assert [last_user_text(r) for r in fake_llm.requests] == ["kept safe"]
    assert await inbox_rows(database_url, "telegram") == [("41", True)]


async def test_one_chats_updates_are_handed_on_in_the_order_they_were_stored(
    settings_for: Any, telegram: FakeTelegram, fake_llm: FakeOpenAI, database_url: str
) -> None:
    async with running(webhook_settings(settings_for)) as app:
        url = f"http://127.0.0.1:{app.http.port}{WEBHOOK_PATH}"
        async with aiohttp.ClientSession() as http:
            for n in range(1, 6):
                async with http.post(
                    url, json=update(f"part {n}", 50 + n), headers={SECRET_HEADER: SECRET}
                ) as response:
                    assert response.status == 200
        await app.inbox.drain()
        await app.sessions.drain()
    # Stored as the person's messages in the order they came: ids follow arrival.
    assert await user_messages(database_url) == [f"part {n}" for n in range(1, 6)]


async def test_an_update_a_dead_replica_claimed_is_answered_by_the_next_process(
    settings_for: Any, telegram: FakeTelegram, database_url: str
) -> None:
    left = update("did you get this?", 77)
    await claimed_by_a_dead_replica(database_url, "telegram", "77", str(OWNER), left)
    async with running(webhook_settings(settings_for)) as app:
        await app.inbox.drain()
        assert await answered(telegram, app, OWNER) == ["echo: did you get this?"]
    assert await inbox_rows(database_url, "telegram") == [("77", True)]
