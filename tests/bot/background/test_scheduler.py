"""Reminders and recurring jobs with the real APScheduler on real databases."""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text

from bot.app import App
from bot.background.scheduler import Background
from tests.bot.harness.background import (
    call,
    every_seconds,
    is_task_step,
    once_at,
    person,
    poll,
    running_app,
    soon,
)
from tests.fakes.openai_server import FakeOpenAI, without_note


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


async def test_reminder_set_in_chinese_fires_on_time_in_the_persons_zone(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    async with running_app(fake_llm, database_url, tmp_path / "data") as (app, channel):
        user, conversation = await person(app)
        await app.store.set_timezone(user.id, "Asia/Shanghai")
        user = await app.store.get_user(user.id) or user
        tomorrow = await app.jobs.schedule(user, conversation, "reminder", "交房租", "明天上午十点")
        due = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=1)).replace(
            hour=10, minute=0, second=0, microsecond=0
        )
        assert tomorrow.next_run_at == due
        asked = datetime.now(UTC)
        await app.jobs.schedule(user, conversation, "reminder", "给妈妈打电话", "3秒后")
        await poll(lambda: channel.texts())
        fired = datetime.now(UTC)
        assert channel.texts() == ["⏰ Reminder: 给妈妈打电话"]
        assert timedelta(seconds=3) <= fired - asked < timedelta(seconds=15)


async def test_reminder_set_before_a_restart_fires_after_it(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    async with running_app(fake_llm, database_url, tmp_path / "data") as (app, _):
        user, conversation = await person(app)
        # Due only after this app has surely closed, even on a loaded machine.
        job = await app.jobs.add(user.id, conversation.id, "reminder", "stretch", once_at(soon(3)))
    async with running_app(fake_llm, database_url, tmp_path / "data") as (app, channel):
        await poll(lambda: channel.texts())
        assert channel.texts() == ["⏰ Reminder: stretch"]
        stored = await app.jobs.store.get(job.id)
        assert stored is not None and stored.status == "done" and stored.runs == 1


async def test_timer_stored_by_an_older_release_under_another_module_path_still_fires(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    """APScheduler stores its job function by module path; releases before the code moved
    into folders stored "bot.scheduler:fire_job". Such a timer cannot be loaded any more:
    APScheduler drops it, and the job is timed again from our own table."""
    async with running_app(fake_llm, database_url, tmp_path / "data") as (app, _):
        user, conversation = await person(app)
        job = await app.jobs.add(user.id, conversation.id, "reminder", "water", once_at(soon(3)))
        async with app.engine.begin() as connection:
            row = (
                await connection.execute(text("SELECT id, job_state FROM apscheduler_jobs"))
            ).one()
            state = pickle.loads(row.job_state)
            assert state["func"] == "bot.background.scheduler:fire_job"
            state["func"] = "bot.scheduler:fire_job"
            await connection.execute(
                text("UPDATE apscheduler_jobs SET job_state = :state WHERE id = :id"),
                {"state": pickle.dumps(state), "id": row.id},
            )
    async with running_app(fake_llm, database_url, tmp_path / "data") as (app, channel):
        await poll(lambda: channel.texts())
        await asyncio.sleep(0.5)
        assert channel.texts() == ["⏰ Reminder: water"]
        stored = await app.jobs.store.get(job.id)
        assert stored is not None and stored.status == "done" and stored.runs == 1


async def test_job_missed_within_the_grace_window_runs_once_and_says_it_is_late(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    async with running_app(fake_llm, database_url, tmp_path / "data") as (app, _):
        user, conversation = await person(app)
        due = soon(2.5)  # after this app has surely closed
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
        due = soon(2.5)  # after this app has surely closed
        job = await app.jobs.add(user.id, conversation.id, "reminder", "pay rent", once_at(due))
    await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 2.5)
    async with running_app(fake_llm, database_url, tmp_path / "data", job_grace_seconds=1) as (
        app,
        channel,
    ):
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


async def test_heartbeat_makes_no_model_call_until_an_instruction_is_due(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    async with running_app(fake_llm, database_url, tmp_path / "data") as (app, channel):
        user, conversation = await person(app)
        beat = await app.jobs.add(
            user.id, conversation.id, "heartbeat", "", every_seconds(1, soon(0.2))
        )

        async def beats() -> int:
            job = await app.jobs.store.get(beat.id)
            return job.runs if job else 0

        await poll(lambda: _at_least(beats(), 3))
        assert fake_llm.requests == []  # three heartbeats, nothing due: no model call at all
        await app.jobs.add(
            user.id, conversation.id, "instruction", "check the mail", once_at(soon(0.3))
        )
        await poll(lambda: any(t.startswith("🫀 Heartbeat") for t in channel.texts()))
        ticks = await beats()
        await poll(lambda: _at_least(beats(), ticks + 2))
        steps = [r for r in fake_llm.requests if is_task_step(r)]
        assert len(steps) == 1 and "1. check the mail" in steps[0]["messages"][1]["content"]
        assert channel.texts()[0].startswith("🫀 Heartbeat: 1 standing instruction due\n\n")


async def test_scheduled_prompt_runs_the_agent_and_posts_the_result(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    fake_llm.responder = lambda request: call("finish", result="3 meetings today")
    async with running_app(fake_llm, database_url, tmp_path / "data") as (app, channel):
        user, conversation = await person(app)
        await app.jobs.add(
            user.id, conversation.id, "prompt", "summarise my day", once_at(soon(0.5))
        )
        await poll(lambda: channel.texts())
        assert channel.texts() == ["🔁 Scheduled: summarise my day\n\n3 meetings today"]
        assert "summarise my day" in fake_llm.requests[0]["messages"][1]["content"]


async def _at_least(value: Awaitable[int], n: int) -> bool:
    return await value >= n


async def test_message_for_an_unconnected_chat_waits_for_a_process_that_serves_it(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    # Like a terminal reminder fired by `clawling run`: shown when `clawling chat` opens.
    async with running_app(fake_llm, database_url, tmp_path / "data") as (app, channel):
        user, conversation = await person(app, channel="console", chat="ana")
        job = await app.jobs.add(user.id, conversation.id, "reminder", "tea", once_at(soon(0.3)))

        async def fired() -> bool:
            stored = await app.jobs.store.get(job.id)
            return stored is not None and stored.status == "done"

        await poll(fired)
        assert channel.texts() == []
    async with running_app(fake_llm, database_url, tmp_path / "data", channel_name="console") as (
        _,
        console,
    ):
        await poll(lambda: console.texts("ana"))
        assert console.texts("ana") == ["⏰ Reminder: tea"]


async def test_reminder_survives_a_platform_refusing_it_once(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    async with running_app(fake_llm, database_url, tmp_path / "data") as (app, channel):
        user, conversation = await person(app)
        channel.fail_sends = 1
        await app.jobs.add(user.id, conversation.id, "reminder", "breathe", once_at(soon(0.3)))
        await poll(lambda: channel.texts())
        await asyncio.sleep(0.5)
        assert channel.texts() == ["⏰ Reminder: breathe"] and channel.fail_sends == 0


async def test_what_was_sent_in_the_background_is_part_of_the_conversation(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    async with running_app(fake_llm, database_url, tmp_path / "data") as (app, channel):
        user, conversation = await person(app)
        await app.sessions.handle(channel.inbound("remind me to call Ana in a second"))
        await app.sessions.drain()
        await app.jobs.add(user.id, conversation.id, "reminder", "call Ana", once_at(soon(1)))
        await poll(lambda: "⏰ Reminder: call Ana" in channel.texts())
        await app.sessions.handle(channel.inbound("done, what was that reminder about?"))
        await app.sessions.drain()
    said = [(m["role"], without_note(m["content"])) for m in fake_llm.requests[-1]["messages"][1:]]
    assert said[-3:] == [
        ("assistant", "echo: remind me to call Ana in a second"),
        ("assistant", "⏰ Reminder: call Ana"),
        ("user", "done, what was that reminder about?"),
    ]
