"""Scheduling through the model's tools and the chat commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.bot.harness.background import is_task_step, poll, running_app, state_of
from tests.fakes.openai_server import FakeOpenAI, Reply, echo, note_of


def tool_results(fake_llm: FakeOpenAI) -> list[str]:
    return [m["content"] for m in fake_llm.requests[-1]["messages"] if m["role"] == "tool"]


async def test_model_schedules_lists_and_cancels_a_reminder(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    async with running_app(fake_llm, database_url, tmp_path / "data") as (app, channel):
        fake_llm.add(
            Reply(
                tool_calls=[("schedule_reminder", {"message": "call Ana", "when": "tomorrow at 9"})]
            ),
            Reply(text="Done."),
        )
        await app.sessions.handle(channel.inbound("remind me tomorrow at 9 to call Ana"))
        await app.sessions.drain()
        assert tool_results(fake_llm)[-1].startswith("Scheduled reminder #1: once, ")
        await app.sessions.handle(channel.inbound("/jobs"))
        await app.sessions.drain()
        assert "#1 reminder" in channel.texts()[-1] and "call Ana" in channel.texts()[-1]
        await app.sessions.handle(channel.inbound("/cancel_job 1"))
        await app.sessions.drain()
        assert channel.texts()[-1] == "Cancelled reminder #1."
        assert (await app.jobs.store.get(1)).status == "cancelled"  # type: ignore[union-attr]


async def test_bad_times_come_back_to_the_model_as_errors(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    async with running_app(fake_llm, database_url, tmp_path / "data") as (app, channel):
        fake_llm.add(
            Reply(
                tool_calls=[
                    ("schedule_reminder", {"message": "x", "when": "yesterday at 9:00"}),
                    ("schedule_prompt", {"prompt": "y", "when": "0 0 30 2 *"}),
                    ("set_timezone", {"timezone": "Mars/Olympus"}),
                ]
            ),
            Reply(text="Sorry."),
        )
        await app.sessions.handle(channel.inbound("do impossible things"))
        await app.sessions.drain()
        past, never, zone = tool_results(fake_llm)
        assert past.startswith("Error: 'yesterday at 9:00' is in the past")
        assert "never fires" in never
        assert "unknown time zone 'Mars/Olympus'" in zone
        assert await app.jobs.store.find() == []


async def test_timezone_command_changes_the_time_in_the_prompt(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    async with running_app(fake_llm, database_url, tmp_path / "data") as (app, channel):
        await app.sessions.handle(channel.inbound("/timezone Mars/Olympus"))
        await app.sessions.drain()
        assert channel.texts()[-1].startswith("Not changed: unknown time zone 'Mars/Olympus'")
        await app.sessions.handle(channel.inbound("/timezone Asia/Tokyo"))
        await app.sessions.drain()
        assert channel.texts()[-1].startswith("Your time zone is now Asia/Tokyo")
        await app.sessions.handle(channel.inbound("what time is it?"))
        await app.sessions.drain()
        assert "(Asia/Tokyo)" in fake_llm.requests[-1]["messages"][-1]["content"]


async def test_waiting_task_is_answered_through_the_conversation(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    def respond(request: dict[str, Any]) -> Reply:
        if is_task_step(request):
            if "A: Lisbon" in state_of(request):
                return Reply(tool_calls=[("finish", {"result": "Trip to Lisbon planned"})])
            return Reply(tool_calls=[("ask_user", {"question": "Which city?"})])
        if request["messages"][-1]["role"] == "tool":
            return Reply(text="Passed it on.")
        note = note_of(request)
        if "Task #1 waits for the person's answer to: Which city?" in note:
            return Reply(tool_calls=[("answer_task", {"task_id": 1, "answer": "Lisbon"})])
        return echo(request)

    fake_llm.responder = respond
    async with running_app(fake_llm, database_url, tmp_path / "data") as (app, channel):
        await app.sessions.handle(channel.inbound("/task plan a trip"))
        await poll(lambda: any("needs your answer" in t for t in channel.texts()))
        await app.sessions.handle(channel.inbound("Lisbon, please"))
        await app.sessions.drain()
        assert "Passed it on." in channel.texts()
        await poll(lambda: any("Trip to Lisbon planned" in t for t in channel.texts()))


async def test_heartbeat_command_turns_it_on_and_off(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    async with running_app(fake_llm, database_url, tmp_path / "data") as (app, channel):
        for line in ("/heartbeat", "/heartbeat on 1", "/heartbeat on 15", "/heartbeat", "/jobs"):
            await app.sessions.handle(channel.inbound(line))
            await app.sessions.drain()
        off, refused, on, status, jobs = channel.texts()
        assert off.startswith("Heartbeat is off.")
        assert refused == "The heartbeat interval is a number of minutes from 5 to 1440."
        assert on.startswith("Heartbeat is on: every 15 minutes")
        assert status.startswith("Heartbeat is on (every 15 min)")
        assert "heartbeat · every 15 min" in jobs
        await app.sessions.handle(channel.inbound("/heartbeat off"))
        await app.sessions.drain()
        assert channel.texts()[-1] == "Heartbeat is off."
        assert await app.jobs.store.find(kinds=("heartbeat",)) == []
