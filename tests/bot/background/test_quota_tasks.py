"""Tasks and token budgets: a task pauses with a message when the person's budget is
spent, and resumes by itself when an owner raises it, or after a restart once it
allows; a person's own /pause is never undone by the budget."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.bot.harness.background import (
    counting_to,
    person,
    poll,
    running_app,
    task_requests,
)
from tests.fakes.openai_server import FakeOpenAI


async def _status(app: Any, task_id: int) -> str:
    task = await app.tasks.store.get(task_id)
    return "" if task is None else str(task.status)


async def test_a_task_pauses_at_the_budget_and_resumes_when_an_owner_raises_it(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    fake_llm.responder = counting_to(4)
    async with running_app(
        fake_llm, database_url, tmp_path / "data", daily_tokens=1, owners="test:boss"
    ) as (app, channel):
        user, conversation = await person(app)
        task = await app.tasks.start(user, conversation, "count to four")
        # The first step is admitted (nothing spent yet); the second finds it spent.
        paused = await poll(lambda: [t for t in channel.texts() if "is paused" in t])
        assert paused[0].startswith(
            f"⏸ Task #{task.id} is paused: your daily token budget (1 tokens) is used up; "
            "it resets at 00:00 on "
        )
        assert await _status(app, task.id) == "paused"
        asked = len(task_requests(fake_llm, task.id))
        assert asked == 1
        await asyncio.sleep(0.5)
        assert len(task_requests(fake_llm, task.id)) == asked, "a paused task asks nothing"

        await app.sessions.handle(channel.inbound("/quota test:u1 --daily 0", sender="boss"))
        await app.sessions.drain()
        await poll(lambda: any("continues: your token budget allows" in t for t in channel.texts()))
        await poll(lambda: any(f"Task #{task.id} is done" in t for t in channel.texts()))
        kinds = [e.kind for e in await app.tasks.store.events(task.id, limit=50)]
        assert kinds.count("quota_paused") == 1 and "resumed" in kinds
        assert kinds[-1] == "succeeded"


async def test_a_task_paused_for_the_budget_resumes_after_a_restart(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    fake_llm.responder = counting_to(3)
    data = tmp_path / "data"
    async with running_app(fake_llm, database_url, data, daily_tokens=1) as (app, channel):
        user, conversation = await person(app)
        task = await app.tasks.start(user, conversation, "count to three")
        await poll(lambda: any("is paused" in t for t in channel.texts()))
    # Restarted with a larger default budget (as after a deploy, or on the next day).
    async with running_app(fake_llm, database_url, data, daily_tokens=10_000_000) as (app, channel):
        await poll(lambda: any(f"Task #{task.id} is done" in t for t in channel.texts()))


async def test_a_persons_own_pause_is_not_undone_by_the_budget(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    fake_llm.responder = counting_to(10_000, delay=0.05)
    async with running_app(fake_llm, database_url, tmp_path / "data") as (app, channel):
        user, conversation = await person(app)
        task = await app.tasks.start(user, conversation, "never ends")
        await poll(lambda: len(task_requests(fake_llm, task.id)) >= 2)
        await app.sessions.handle(channel.inbound(f"/pause {task.id}"))
        await app.sessions.drain()

        async def paused() -> bool:
            return await _status(app, task.id) == "paused"

        await poll(paused)
        app.tasks.budget_changed(user.id)  # as when an owner changes a budget
        await asyncio.sleep(1.0)
        assert await _status(app, task.id) == "paused"
