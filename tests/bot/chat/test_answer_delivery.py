"""An answer that is stored is delivered, exactly once: when the platform refuses it
(flood control, an outage) and when the process dies between storing and sending."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from bot.app import App
from bot.chat.channels import MessageRef
from memory.db.models import Delivery
from memory.db.sqltypes import utcnow
from tests.bot.conftest import AppMaker
from tests.bot.harness.background import poll
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI


class Stalled(RecordingChannel):
    """A platform that shows the streamed preview but never answers the final edit (the
    process dies meanwhile)."""

    async def edit(self, ref: MessageRef, text: str) -> None:
        await asyncio.Event().wait()


async def statuses(app: App) -> list[str]:
    async with app.store.session() as session:
        return list((await session.execute(select(Delivery.status))).scalars())


async def test_an_answer_the_platform_refused_is_sent_later_once(
    make_app: AppMaker, fake_llm: FakeOpenAI
) -> None:
    app, channel = await make_app()
    await app.start_services()
    channel.fail_sends = 2  # the streamed preview and the final message are both refused
    await app.sessions.handle(channel.inbound("hello there"))
    await app.sessions.drain()
    await poll(lambda: channel.texts() == ["echo: hello there"], within=15)
    await asyncio.sleep(0.3)
    assert channel.texts() == ["echo: hello there"]
    assert await statuses(app) == ["sent"]


async def test_an_answer_stored_before_a_crash_is_sent_after_the_restart(
    make_app: AppMaker, fake_llm: FakeOpenAI, tmp_path: Path
) -> None:
    first, _ = await make_app()
    stalled = Stalled("test2")
    first.add_channel(stalled)
    await first.sessions.handle(stalled.inbound("are you there?"))
    await poll(lambda: _claimed(first), within=10)
    await first.close()  # the process stops while the platform still holds the answer
    assert await statuses(first) == ["sending"]

    second, _ = await make_app()
    channel = RecordingChannel("test2")
    second.add_channel(channel)
    # Time passes: the dead process's claim is stale.
    async with second.engine.begin() as connection:
        await connection.execute(update(Delivery).values(claimed_at=utcnow() - timedelta(hours=1)))
    await second.start()
    await poll(lambda: channel.texts() == ["echo: are you there?"], within=15)
    await second.sessions.drain()
    await asyncio.sleep(0.3)
    assert channel.texts() == ["echo: are you there?"]  # answered once, not again
    assert await statuses(second) == ["sent"]


async def _claimed(app: App) -> bool:
    return await statuses(app) == ["sending"]
