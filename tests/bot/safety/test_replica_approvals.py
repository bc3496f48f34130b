"""A replica starting beside another never expires the other's waiting questions: the
person's "yes" still runs the call, and the record says approved (memory/replicas.py)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.app import App
from memory.db.models import Approval
from tests.bot.conftest import AppMaker, wait_for_message
from tests.fakes.openai_server import FakeOpenAI, Reply


async def statuses(app: App) -> list[str]:
    async with app.store.session() as session:
        return list(
            (await session.execute(select(Approval.status).order_by(Approval.id))).scalars()
        )


async def test_a_second_replica_leaves_the_first_ones_question_waiting(
    make_app: AppMaker, fake_llm: FakeOpenAI, tmp_path: Path
) -> None:
    first, first_chat = await make_app(shell=True)
    await first.start_services()
    fake_llm.add(Reply(tool_calls=[("shell", {"command": "echo one > one.txt"})]))
    await first.sessions.handle(first_chat.inbound("make one", chat="c1"))
    await wait_for_message(first_chat, "Confirmation needed (#1)")

    # A second replica starts and asks a question of its own: its first question is
    # when it looks for questions left by processes that are gone.
    second, second_chat = await make_app(shell=True)
    await second.start_services()
    fake_llm.add(Reply(tool_calls=[("shell", {"command": "echo two > two.txt"})]))
    await second.sessions.handle(second_chat.inbound("make two", sender="u2", chat="c2"))
    await wait_for_message(second_chat, "Confirmation needed (#2)")
    assert await statuses(first) == ["waiting", "waiting"]

    await first.sessions.handle(first_chat.inbound("yes", chat="c1"))
    await second.sessions.handle(second_chat.inbound("no", sender="u2", chat="c2"))
    await first.sessions.drain()
    await second.sessions.drain()
    assert await statuses(first) == ["approved", "denied"]
    assert first_chat.texts()[1].startswith("Approved #1")
