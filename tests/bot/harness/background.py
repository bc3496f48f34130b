"""Helpers for the background-work tests: apps with the scheduler running, polling."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from bot.app import App, build_app
from bot.background.when import Schedule
from memory.conversations import ConversationRecord, UserRecord
from tests.conftest import make_settings
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI, Reply, echo

T = TypeVar("T")

# Generous: the CI machine has two cores shared with other jobs.
TIMEOUT = 30.0


async def poll(
    check: Callable[[], Awaitable[T] | T], *, within: float = TIMEOUT, every: float = 0.05
) -> T:
    """Wait until `check()` returns something truthy; return it (fail after `within` seconds)."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if asyncio.iscoroutine(value) or isinstance(value, Awaitable):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(every)


@asynccontextmanager
async def running_app(
    fake_llm: FakeOpenAI, database_url: str, data_dir: Path, channel_name: str = "test", **core: Any
) -> AsyncIterator[tuple[App, RecordingChannel]]:
    """An app with a recording chat channel and its background services running."""
    settings = make_settings(
        fake_llm, database_url, data_dir, http_port=0, task_progress_seconds=0.2, **core
    )
    app = build_app(settings)
    await app.prepare_database()
    channel = RecordingChannel(channel_name)
    app.add_channel(channel)
    await app.start_services()
    try:
        yield app, channel
    finally:
        await app.close()


async def person(
    app: App, channel: str = "test", chat: str = "c1", sender: str = "u1"
) -> tuple[UserRecord, ConversationRecord]:
    user = await app.store.resolve_identity(channel, sender, sender.title())
    conversation = await app.store.open_conversation(
        channel, chat, "", is_direct=True, owner_id=user.id
    )
    return user, conversation


def once_at(at: datetime) -> Schedule:
    return Schedule({"at": at.astimezone(UTC).isoformat()}, "once (test)")


def every_seconds(seconds: int, first: datetime) -> Schedule:
    spec = {"every": seconds, "start": first.astimezone(UTC).isoformat()}
    return Schedule(spec, f"every {seconds} s (test)")


def soon(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


# -- reading the fake model's requests --------------------------------------------

_STEP = re.compile(r"Step (\d+) of at most")
_GOAL = re.compile(r"^Task #(\d+)\. Goal:\n(.*?)(?:\n\nSuccess check|\Z)", re.S)


def is_task_step(request: dict[str, Any]) -> bool:
    first = request["messages"][0]["content"]
    return "working on a background task" in first


def is_verification(request: dict[str, Any]) -> bool:
    return request["messages"][0]["content"].startswith("You check whether a result meets")


def step_of(request: dict[str, Any]) -> int:
    match = _STEP.search(request["messages"][-1]["content"])
    return int(match.group(1)) if match else 0


def goal_of(request: dict[str, Any]) -> tuple[int, str]:
    match = _GOAL.match(request["messages"][1]["content"])
    if match is None:
        raise AssertionError("not a task step request")
    return int(match.group(1)), match.group(2)


def state_of(request: dict[str, Any]) -> str:
    return str(request["messages"][-1]["content"])


def wants_text_only(request: dict[str, Any]) -> bool:
    return request.get("tool_choice") == "none"


def task_requests(fake_llm: FakeOpenAI, task_id: int) -> list[dict[str, Any]]:
    return [r for r in fake_llm.requests if is_task_step(r) and goal_of(r)[0] == task_id]


def call(name: str, **arguments: Any) -> Reply:
    return Reply(tool_calls=[(name, arguments)])


def counting_to(last: int, delay: float = 0.0) -> Callable[[dict[str, Any]], Reply]:
    """A task that saves a note per step and finishes at step `last` (other requests
    are echoed)."""

    def respond(request: dict[str, Any]) -> Reply:
        if not is_task_step(request):
            return echo(request)
        step = step_of(request)
        if step >= last:
            return Reply(tool_calls=[("finish", {"result": f"counted to {step}"})], delay=delay)
        return Reply(tool_calls=[("save_note", {"note": f"n{step}"})], delay=delay)

    return respond
