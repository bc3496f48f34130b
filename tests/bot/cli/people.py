"""For the tests of `clawling users` and `clawling audit`: the settings in the
environment (the typer app runs in process), and people who talk to the assistant
through the fake model, so their usage is real `llm_calls` rows."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import App, build_app
from bot.settings import load_settings
from memory.db.models import LLMCall
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI


def set_environment(
    monkeypatch: pytest.MonkeyPatch, fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    for name, value in {
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": fake_llm.url,
        "CLAWLING_MODEL": "fake-model",
        "CLAWLING_LLM_MAX_RETRIES": "0",
        "CLAWLING_DATABASE_URL": database_url,
        "CLAWLING_DATA_DIR": str(tmp_path / "data"),
        "CLAWLING_OWNERS": "telegram:1",
        # The people the tests chat as are let in (strangers would get a pairing code).
        "TELEGRAM_ALLOWED_USERS": "7",
        "CLAWLING_DAILY_TOKENS": "5000",
        "CLAWLING_WEB_ALLOWED_NETWORKS": "127.0.0.1/32",
    }.items():
        monkeypatch.setenv(name, value)


async def _open() -> tuple[App, RecordingChannel]:
    app = build_app(load_settings())
    await app.prepare_database()
    channel = RecordingChannel("telegram")
    app.add_channel(channel)
    return app, channel


def chat(sender: str, name: str, *texts: str) -> list[str]:
    """`sender` (a telegram id) says each text in their private chat; the replies."""

    async def talk() -> list[str]:
        app, channel = await _open()
        try:
            for text in texts:
                inbound = channel.inbound(text, sender=sender, chat=sender)
                await app.sessions.handle(replace(inbound, sender_name=name))
                await app.sessions.drain()
        finally:
            await app.close()
        return channel.texts()

    return asyncio.run(talk())


def tokens_of(account: str) -> int:
    """Prompt + completion tokens of every `llm_calls` row of the person with `account`."""

    async def count() -> int:
        app, _ = await _open()
        try:
            platform, _, external = account.partition(":")
            person = await app.people.by_account(platform, external)
            if person is None:
                return 0
            async with app.engine.connect() as connection:
                rows = await connection.execute(
                    select(LLMCall.prompt_tokens, LLMCall.completion_tokens).where(
                        LLMCall.user_id == person.id
                    )
                )
                return sum(p + c for p, c in rows)
        finally:
            await app.close()

    return asyncio.run(count())
