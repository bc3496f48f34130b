"""Polling turned off and on again (SoleReceiver), as it is when the receivers' lock
moves between replicas; and the fake Telegram telling two pollers apart, as Telegram
does."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from telegram import Bot
from telegram.error import Conflict

from adapters.telegram import TelegramAdapter
from memory import db
from memory.db.leader import RECEIVERS_KEY, Leadership
from tests.adapters.telegram.conftest import OWNER, OWNER_USER, answered, running
from tests.fakes.telegram_server import FakeTelegram


async def test_polling_stops_and_starts_again_and_nothing_sent_meanwhile_is_lost(
    settings_for: Any, telegram: FakeTelegram
) -> None:
    chat = FakeTelegram.private(OWNER_USER)
    async with running(settings_for()) as app:
        assert app.receivers is not None and app.receivers.receiving
        adapter = cast(TelegramAdapter, app.receivers.adapters[0])
        telegram.push_message(chat, OWNER_USER, "hello")
        assert await answered(telegram, app, OWNER) == ["echo: hello"]

        await adapter.stop_receiving()
        polls = len(telegram.polled_at)
        telegram.push_message(chat, OWNER_USER, "while nobody polls")
        await asyncio.sleep(0.5)
        assert len(telegram.polled_at) == polls
        assert telegram.texts(OWNER) == ["echo: hello"]
        # Not polling is no reason to be taken out of the load balancer: it still sends.
        assert await app.observability.problems() == []

        await adapter.start_receiving()
        assert await answered(telegram, app, OWNER, 2) == [
            "echo: hello",
            "echo: while nobody polls",
        ]
        await asyncio.sleep(0.3)
        assert len(telegram.texts(OWNER)) == 2
    assert telegram.conflicts == 0


async def test_a_standby_connects_without_polling_and_polls_once_the_holder_stops(
    settings_for: Any, telegram: FakeTelegram, database_url: str
) -> None:
    engine = db.create_engine(database_url)
    holder = Leadership(engine, key=RECEIVERS_KEY, name="receivers")  # another replica
    assert await holder.try_acquire()
    try:
        async with running(settings_for()) as app:
            await asyncio.sleep(0.3)
            assert "getMe" in telegram.calls and not telegram.polled_at
            assert app.receivers is not None and not app.receivers.receiving
            assert await app.observability.problems() == []
            telegram.push_message(FakeTelegram.private(OWNER_USER), OWNER_USER, "anyone?")
            await holder.release()
            assert await answered(telegram, app, OWNER) == ["echo: anyone?"]
            assert app.receivers.receiving
    finally:
        await holder.release()
        await engine.dispose()


async def test_the_fake_telegram_answers_409_to_one_of_two_pollers(
    telegram: FakeTelegram,
) -> None:
    bots = [Bot(telegram.token, base_url=telegram.url) for _ in range(2)]
    async with bots[0], bots[1]:
        first = asyncio.create_task(bots[0].get_updates(timeout=3))
        await asyncio.sleep(0.3)
        second = asyncio.create_task(bots[1].get_updates(timeout=1))
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await first
        assert await second == ()
    assert telegram.conflicts == 1
