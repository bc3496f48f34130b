"""Reminders and recurring jobs with the real APScheduler on real databases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from bot.app import App
from bot.scheduler import Background

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


async def test_reminder_set_before_a_restart_fires_after_it(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    async with running_app(fake_llm, database_url, tmp_path / "data") as (app, _):
        user, conversation = await person(app)
        job = await app.jobs.add(user.id, conversation.id, "reminder", "stretch", once_at(soon(2)))
    async with running_app(fake_llm, database_url, tmp_path / "data") as (app, channel):
        await poll(lambda: channel.texts())
        assert channel.texts() == ["⏰ Reminder: stretch"]
        stored = await app.jobs.store.get(job.id)
        assert stored is not None and stored.status == "done" and stored.runs == 1


async def test_job_missed_within_the_grace_window_runs_once_and_says_it_is_late(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    async with running_app(fake_llm, database_url, tmp_path / "data") as (app, _):
        user, conversation = await person(app)
        due = soon(1)
        await app.jobs.add(user.id, conversation.id, "reminder", "water plants", once_at(due))
    await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 1.5)  # "down"
    async with running_app(
        fake_llm, database_url, tmp_path / "data", job_late_after_seconds=0.5
    ) as (app, channel):
        await poll(lambda: channel.texts())
        await app.sessions.drain()
        await asyncio.sleep(1.0)  # a second firing would have arrived by now
        assert len(channel.texts()) == 1
        text = channel.texts()[0]
        assert text.startswith("⏰ Reminder: water plants")
        assert "late: this was due at" in text


async def test_job_missed_beyond_the_grace_window_is_reported_not_dropped(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    async with running_app(fake_llm, database_url, tmp_path / "data") as (app, _):
        user, conversation = await person(app)
        due = soon(1)
        job = await app.jobs.add(user.id, conversation.id, "reminder", "pay rent", once_at(due))
    await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 2.5)
    async with running_app(
        fake_llm, database_url, tmp_path / "data", job_grace_seconds=1
    ) as (app, channel):
        await poll(lambda: channel.texts())
        assert len(channel.texts()) == 1
        assert channel.texts()[0].startswith("⏰ Missed reminder (it was due")
        assert channel.texts()[0].endswith(": pay rent")
        stored = await app.jobs.store.get(job.id)
        assert stored is not None and stored.status == "missed"


async def test_recurring_job_fires_repeatedly_until_cancelled(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    async with running_app(fake_llm, database_url, tmp_path / "data") as (app, channel):
        user, conversation = await person(app)
        job = await app.jobs.add(
            user.id, conversation.id, "reminder", "blink", every_seconds(1, soon(0.5))
        )
        await poll(lambda: len(channel.texts()) >= 3)
        assert set(channel.texts()) == {"⏰ Reminder: blink"}
        cancelled = await app.jobs.cancel(user.id, job.id)
        assert cancelled is not None
        count = len(channel.texts())
        await asyncio.sleep(2.0)
        assert len(channel.texts()) <= count + 1  # one firing may have been under way
        stored = await app.jobs.store.get(job.id)
        assert stored is not None and stored.status == "cancelled"


async def test_only_one_process_leads_the_scheduler_per_database(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    async with running_app(fake_llm, database_url, tmp_path / "data") as (first, _):
        async with running_app(fake_llm, database_url, tmp_path / "data") as (second, _):
            assert leading(first) and not leading(second)
    async with running_app(fake_llm, database_url, tmp_path / "data") as (third, _):
        assert leading(third)


def leading(app: App) -> bool:
    return any(isinstance(s, Background) and s.leading.is_set() for s in app.services)
