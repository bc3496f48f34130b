"""Start-up and shutdown: nothing in flight is lost."""

from __future__ import annotations

import asyncio

import aiohttp

from bot.app import App, build_app
from bot.settings import Settings
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI, Reply


async def started(settings: Settings) -> tuple[App, RecordingChannel]:
    app = build_app(settings)
    await app.prepare_database()
    channel = RecordingChannel()
    app.add_channel(channel)
    await app.start()
    return app, channel


async def test_messages_left_unanswered_are_answered_after_a_restart(
    settings: Settings, fake_llm: FakeOpenAI
) -> None:
    # The previous process stored the message and died before answering it.
    app, channel = await started(settings)
    user = await app.store.resolve_identity("test", "u1", "U1")
    conversation = await app.store.open_conversation(
        "test", "c1", "", is_direct=True, owner_id=user.id
    )
    await app.store.add_user_message(
        conversation.id, user.id, "are you there?", platform_message_id="9"
    )
    await app.close()

    app, channel = await started(settings)
    await app.sessions.drain()
    await app.close()
    assert channel.texts() == ["echo: are you there?"]
    assert len(fake_llm.requests) == 1


async def test_shutdown_lets_a_running_turn_finish(
    settings: Settings, fake_llm: FakeOpenAI
) -> None:
    app, channel = await started(settings)
    fake_llm.add(Reply(text="worth the wait", delay=0.5))
    await app.sessions.handle(channel.inbound("slow question"))
    while not fake_llm.requests:
        await asyncio.sleep(0.01)
    shutting = asyncio.create_task(app.shutdown())
    await asyncio.sleep(0.1)
    await app.sessions.handle(channel.inbound("sent while stopping", chat="c2", sender="u2"))
    await shutting
    assert channel.texts() == ["worth the wait"]
    assert len(fake_llm.requests) == 1

    app, channel = await started(settings)  # the next start answers what arrived meanwhile
    await app.sessions.drain()
    await app.close()
    assert channel.texts() == ["echo: sent while stopping"]


async def test_a_turn_that_outlasts_the_grace_period_resumes_after_restart(
    fake_llm: FakeOpenAI, database_url: str, tmp_path
) -> None:
    from tests.conftest import make_settings

    settings = make_settings(fake_llm, database_url, tmp_path, shutdown_timeout=0.2)
    app, channel = await started(settings)
    fake_llm.add(Reply(text="too late", delay=3))
    await app.sessions.handle(channel.inbound("long question"))
    while not fake_llm.requests:
        await asyncio.sleep(0.01)
    await app.shutdown()
    assert channel.texts() == []

    app, channel = await started(settings)
    await app.sessions.drain()
    await app.close()
    assert channel.texts() == ["echo: long question"]


async def get(app: App, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{app.http.port}{path}") as response:
            return response.status, await response.text()


class Disconnected(RecordingChannel):
    def is_connected(self) -> bool:
        return False
