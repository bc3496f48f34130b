"""Long-horizon tasks end to end: real runner, real databases, the fake model server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.bot.harness.background import (
    call,
    counting_to,
    goal_of,
    is_task_step,
    is_verification,
    person,
    poll,
    running_app,
    state_of,
    step_of,
    task_requests,
    wants_text_only,
)
from tests.fakes.openai_server import FakeOpenAI, Reply, echo


async def test_a_50_step_task_posts_progress_and_exactly_one_result(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    fake_llm.responder = counting_to(50, delay=0.01)
    async with running_app(fake_llm, database_url, tmp_path / "data") as (app, channel):
        await app.sessions.handle(channel.inbound("/task count to fifty"))
        await poll(lambda: any("Started task #1" in t for t in channel.texts()))
        # The conversation stays usable while the task runs.
        await app.sessions.handle(channel.inbound("still there?"))
        await app.sessions.drain()
        assert "echo: still there?" in channel.texts()

        await poll(lambda: any("is done" in t for t in channel.texts()))
        task = await app.tasks.store.get(1)
        assert task is not None and task.status == "succeeded" and task.step == 50
        results = [t for t in channel.texts() if "Task #1 is done" in t]
        assert results == ["✅ Task #1 is done.\n\ncounted to 50"]
        status = [s for s in channel.sent if s.text.startswith("⏳ Task #1")]
        assert len(status) == 1, "one status message, edited in place"
        assert any("step " in edit for edit in status[0].edits)
        await poll(lambda: status[0].final.startswith("✅ Task #1 · step 50/"))
        events = await app.tasks.store.events(1, limit=100)
        assert sum(e.kind == "step" for e in events) == 50
        # Every step's prompt is bounded: it never carries the whole history.
        sizes = [len(state_of(r)) for r in task_requests(fake_llm, 1)]
        assert max(sizes[40:]) < 3 * max(sizes[5:10])


async def test_cancel_mid_task_stops_it_with_one_notice(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    fake_llm.responder = counting_to(10_000, delay=0.05)
    async with running_app(fake_llm, database_url, tmp_path / "data") as (app, channel):
        user, conversation = await person(app)
        task = await app.tasks.start(user, conversation, "never ends")
        await poll(lambda: len(task_requests(fake_llm, task.id)) >= 3)
        await app.sessions.handle(channel.inbound(f"/cancel {task.id}"))
        await poll(lambda: any("was cancelled" in t for t in channel.texts()))
        stopped = await app.tasks.store.get(task.id)
        assert stopped is not None and stopped.status == "cancelled"
        asked = len(task_requests(fake_llm, task.id))
        await asyncio.sleep(0.5)
        assert len(task_requests(fake_llm, task.id)) == asked
        messages = [s.final for s in channel.sent if not s.text.startswith("⏳")]
        notices = [t for t in messages if "cancelled" in t]
        assert notices == [f"🛑 Task #{task.id} was cancelled."]
        assert not any("is done" in t or "stopped." in t for t in channel.texts())


async def test_budget_exhaustion_ends_with_a_clear_message_and_a_partial_result(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    def respond(request: dict[str, Any]) -> Reply:
        if wants_text_only(request):
            return Reply(text="Partial: collected 5 of 12 sources.")
        return call("save_note", note=f"source {step_of(request)}")

    fake_llm.responder = respond
    async with running_app(fake_llm, database_url, tmp_path / "data", task_max_steps=5) as (
        app,
        channel,
    ):
        user, conversation = await person(app)
        task = await app.tasks.start(user, conversation, "collect 12 sources")
        await poll(lambda: any("stopped" in t for t in channel.texts()))
        final = [t for t in channel.texts() if t.startswith(f"⚠️ Task #{task.id} stopped.")]
        assert len(final) == 1
        assert "the step budget (5 steps) is used up" in final[0]
        assert "Partial: collected 5 of 12 sources." in final[0]
        stored = await app.tasks.store.get(task.id)
        assert stored is not None and stored.status == "failed" and stored.step == 5


async def test_subtask_fan_out_collects_every_result_and_refuses_a_storm(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    def respond(request: dict[str, Any]) -> Reply:
        task_id, goal = goal_of(request)
        if goal.startswith("part "):
            return call("finish", result=f"result of {goal}")
        state = state_of(request)
        if "## Sub-task results" in state:
            return call("finish", result="merged")
        if "refused" in state:
            return call("spawn_subtasks", goals=[f"part {n}" for n in range(1, 8)])
        return call("spawn_subtasks", goals=[f"storm {n}" for n in range(1000)])

    fake_llm.responder = respond
    async with running_app(fake_llm, database_url, tmp_path / "data", subtask_concurrency=3) as (
        app,
        channel,
    ):
        user, conversation = await person(app)
        parent = await app.tasks.start(user, conversation, "split the work")
        await poll(lambda: any("is done" in t for t in channel.texts()))
        steps = task_requests(fake_llm, parent.id)
        assert "refused: 1000 sub-tasks asked, but only 10 more are allowed" in state_of(steps[1])
        merged_prompt = state_of(steps[-1])
        for n in range(1, 8):
            assert f"result of part {n}" in merged_prompt
        children = await app.tasks.store.find(parent_id=parent.id)
        assert sorted(c.goal for c in children) == [f"part {n}" for n in range(1, 8)]
        assert all(c.status == "succeeded" for c in children)
        assert [t for t in channel.texts() if "is done" in t] == [
            f"✅ Task #{parent.id} is done.\n\nmerged"
        ]
        assert any("7 of 7 sub-tasks succeeded" in t for t in channel.texts())


async def test_task_asks_a_question_and_continues_with_the_answer(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    def respond(request: dict[str, Any]) -> Reply:
        if not is_task_step(request):
            return echo(request)
        state = state_of(request)
        if "A: blue" in state:
            return call("finish", result="painted it blue")
        return call("ask_user", question="Which colour?")

    fake_llm.responder = respond
    async with running_app(fake_llm, database_url, tmp_path / "data") as (app, channel):
        user, conversation = await person(app)
        task = await app.tasks.start(user, conversation, "paint the fence")
        await poll(lambda: any("needs your answer: Which colour?" in t for t in channel.texts()))
        waiting = await app.tasks.store.get(task.id)
        assert waiting is not None and waiting.status == "waiting_for_user"
        await app.sessions.handle(channel.inbound(f"/answer {task.id} blue"))
        await poll(lambda: any("is done" in t for t in channel.texts()))
        assert f"✅ Task #{task.id} is done.\n\npainted it blue" in channel.texts()


async def test_success_check_iterates_until_the_criterion_passes(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    def respond(request: dict[str, Any]) -> Reply:
        if is_verification(request):
            body = request["messages"][1]["content"]
            return Reply(text="PASS\nit has 42" if "answer 42" in body else "FAIL\nno 42 in it")
        if "Check after step" in state_of(request):
            return call("finish", result="answer 42", evidence="computed")
        return call("finish", result="answer 41")

    fake_llm.responder = respond
    async with running_app(fake_llm, database_url, tmp_path / "data") as (app, channel):
        user, conversation = await person(app)
        task = await app.tasks.start(
            user, conversation, "find the answer", success_check="the answer is 42"
        )
        await poll(lambda: any("is done" in t for t in channel.texts()))
        assert any("the check did not pass yet (no 42 in it)" in t for t in channel.texts())
        assert f"✅ Task #{task.id} is done.\n\nanswer 42" in channel.texts()
        assert sum(is_verification(r) for r in fake_llm.requests) == 2


async def test_pause_and_resume_continue_from_the_same_step(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    fake_llm.responder = counting_to(12, delay=0.05)
    async with running_app(fake_llm, database_url, tmp_path / "data") as (app, channel):
        user, conversation = await person(app)
        task = await app.tasks.start(user, conversation, "count")
        await poll(lambda: len(task_requests(fake_llm, task.id)) >= 3)
        assert "is paused" in await app.tasks.pause(user.id, task.id)
        paused = await app.tasks.store.get(task.id)
        assert paused is not None and paused.status == "paused"
        asked = len(task_requests(fake_llm, task.id))
        await asyncio.sleep(0.5)
        assert len(task_requests(fake_llm, task.id)) == asked
        assert "continues from step" in await app.tasks.resume(user.id, task.id)
        await poll(lambda: any("is done" in t for t in channel.texts()))
        steps = [step_of(r) for r in task_requests(fake_llm, task.id)]
        assert steps[-1] == 12 and steps == sorted(steps)


async def test_bad_task_input_is_refused_clearly(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    fake_llm.responder = counting_to(1)
    async with running_app(fake_llm, database_url, tmp_path / "data") as (app, channel):
        await app.sessions.handle(channel.inbound("/task " + "x" * 100_000))
        await app.sessions.handle(channel.inbound("/task 99"))
        await app.sessions.handle(channel.inbound("/cancel 99"))
        await app.sessions.drain()
        texts = channel.texts()
        assert texts[0].startswith("Not started: the goal is too long (100,000 characters")
        assert texts[1] == "There is no task #99 of yours."
        assert texts[2] == "There is no task #99 of yours."
        assert await app.tasks.store.find() == []


async def test_one_persons_tasks_do_not_stall_another_persons(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    def respond(request: dict[str, Any]) -> Reply:
        _, goal = goal_of(request)
        if goal == "quick":
            return call("finish", result="quick one done")
        return Reply(tool_calls=[("save_note", {"note": "still going"})], delay=0.05)

    fake_llm.responder = respond
    async with running_app(
        fake_llm, database_url, tmp_path / "data", tasks_per_user=1, task_concurrency=2
    ) as (app, channel):
        busy, busy_chat = await person(app, sender="busy", chat="c-busy")
        other, other_chat = await person(app, sender="other", chat="c-other")
        first = await app.tasks.start(busy, busy_chat, "long one")
        second = await app.tasks.start(busy, busy_chat, "long two")
        await poll(lambda: task_requests(fake_llm, first.id))
        quick = await app.tasks.start(other, other_chat, "quick")
        await poll(lambda: "✅ Task #3 is done.\n\nquick one done" in channel.texts("c-other"))
        waiting = await app.tasks.store.get(second.id)
        assert quick.id == 3 and waiting is not None and waiting.status == "queued"
        await app.tasks.cancel(busy.id, first.id)
        await poll(lambda: task_requests(fake_llm, second.id))
