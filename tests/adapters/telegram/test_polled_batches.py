"""Polled updates are confirmed to Telegram only once stored (adapters/telegram/client.py):
the real python-telegram-bot `Updater` polls the fake Bot API with our bot, whose keeper
first fails (the database is down) and then works."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram.ext import Updater

from adapters.telegram.client import make_bot
from tests.adapters.telegram.conftest import OWNER_USER
from tests.fakes.telegram_server import FakeTelegram


async def test_a_batch_that_cannot_be_stored_stays_with_telegram_until_it_can(
    telegram: FakeTelegram,
) -> None:
    bot = make_bot(telegram.token, telegram.url, telegram.file_url, 10.0)
    kept: list[dict[str, Any]] = []
    down = True

    async def keep(batch: list[dict[str, Any]]) -> None:
        if down:
            raise RuntimeError("the database is down")
        kept.extend(batch)

    bot.keep_updates_in(keep)
    handed_to_ptb: asyncio.Queue[object] = asyncio.Queue()
    updater = Updater(bot, handed_to_ptb)
    async with updater:
        await updater.start_polling(poll_interval=0, timeout=1)
        first = telegram.push_message(FakeTelegram.private(OWNER_USER), OWNER_USER, "hello")
        polls = len(telegram.polled_at)
        await telegram.wait_for(lambda: len(telegram.polled_at) >= polls + 2, 10)
        assert telegram.unconfirmed != []  # polled, not stored: Telegram still has it
        assert bot.polling_works is False
        assert kept == []

        down = False  # PTB polls again after its pause (1 s)
        await telegram.wait_for(lambda: telegram.unconfirmed == [], 10)
        assert [raw["message"]["message_id"] for raw in kept] == [first]
        assert bot.polling_works is True

        # One Telegram cannot read is confirmed and skipped, never stored; the next is kept.
        chat = FakeTelegram.private(OWNER_USER)
        sender_unknown = {"message_id": 90, "date": 1, "chat": chat, "from": {"id": 7}}
        telegram.push_update({"message": sender_unknown})
        second = telegram.push_message(FakeTelegram.private(OWNER_USER), OWNER_USER, "again")
        await telegram.wait_for(lambda: len(kept) == 2 and telegram.unconfirmed == [], 10)
        assert kept[1]["message"]["message_id"] == second
        await updater.stop()
    assert handed_to_ptb.empty()  # the inbox hands updates on, not PTB's queue
