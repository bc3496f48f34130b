"""One person, five conversations and two background tasks at once, against a small
budget: every call reserves before it is sent, so the budget is overrun by at most one
call's worth — without the reservation, the calls in flight when it runs out would all
pass (seven at a time here)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from memory.db.models import LLMCall, TokenHold
from tests.bot.harness.background import is_task_step, person, poll, running_app, step_of
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI, Reply

LIMIT = 30_000
DELAY = 0.3  # every answer takes this long, so calls of the person overlap


def busy(request: dict[str, Any]) -> Reply:
    """Tasks never finish; turns answer in one step."""
    if is_task_step(request):
        note = f"n{step_of(request)}"
        return Reply(tool_calls=[("save_note", {"note": note})], delay=DELAY)
    return Reply(text="noted " * 40, delay=DELAY)


async def _chatter(app: Any, channel: RecordingChannel, chat: str, messages: int) -> None:
    for n in range(messages):
        before = len(channel.texts(chat))
        await app.sessions.handle(channel.inbound(f"{chat} message {n}", chat=chat))
        await poll(lambda b=before: len(channel.texts(chat)) > b)


async def test_five_conversations_and_two_tasks_overrun_a_budget_by_at_most_one_call(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    fake_llm.responder = busy
    async with running_app(
        fake_llm, database_url, tmp_path / "data", daily_tokens=LIMIT, max_concurrent_turns=8
    ) as (app, channel):
        user, conversation = await person(app)
        tasks = [await app.tasks.start(user, conversation, f"task {n}") for n in range(2)]
        await asyncio.gather(*(_chatter(app, channel, f"c{n}", 8) for n in range(1, 6)))

        async def both_paused() -> bool:
            found = [await app.tasks.store.get(t.id) for t in tasks]
            return all(t is not None and t.status == "paused" for t in found)

        await poll(both_paused, within=60)
        await app.sessions.drain()
        async with app.engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(
                        LLMCall.prompt_tokens + LLMCall.completion_tokens, LLMCall.purpose
                    ).where(LLMCall.user_id == user.id)
                )
            ).all()
            holds = (await connection.execute(select(func.count()).select_from(TokenHold))).scalar()
    spent = sum(r[0] for r in rows)
    biggest = max(r[0] for r in rows)
    assert {r[1] for r in rows} == {"turn", "task"}, "both kinds of work ran at once"
    assert spent <= LIMIT + biggest, f"{spent:,} spent of {LIMIT:,}; one call is {biggest:,}"
    assert spent > LIMIT // 2
    assert holds == 0, "every hold was replaced by its call's row"
    refused = [t for t in channel.texts() if "token budget" in t and "is used up" in t]
    assert refused, "the conversations were refused once the budget was spent"
    assert fake_llm.max_in_flight >= 4, "calls of the person really overlapped"
