"""Reminders and recurring jobs with the real APScheduler on real databases."""

from __future__ import annotations

from pathlib import Path

from tests.bot.background import every_seconds, once_at, person, poll, running_app, soon
from tests.fakes.openai_server import FakeOpenAI


async def test_reminder_fires_once_into_its_conversation(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    async with running_app(fake_llm, database_url, tmp_path / "data") as (app, channel):
        user, conversation = await person(app)
        await app.jobs.add(user.id, conversation.id, "reminder", "call Ana", once_at(soon(1)))
        await poll(lambda: channel.texts())
        assert channel.texts() == ["⏰ Reminder: call Ana"]
        assert channel.sent[0].chat.chat_id == "c1"
        assert fake_llm.requests == []
