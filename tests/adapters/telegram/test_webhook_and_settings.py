"""Webhook mode on the app's HTTP server, start-up failures, and the TELEGRAM_* settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.telegram import SECRET_HEADER, WEBHOOK_PATH
from bot.app import build_app
from bot.errors import ConfigError
from bot.settings import load_settings
from tests.adapters.telegram.conftest import FAST, OWNER, OWNER_USER, answered, running
from tests.fakes.openai_server import FakeOpenAI, last_user_text
from tests.fakes.telegram_server import FakeTelegram

SECRET = "s3cret-Token_value"


def _update(text: str, message_id: int) -> dict[str, Any]:
    chat = FakeTelegram.private(OWNER_USER)
    message = {"message_id": message_id, "date": 1, "chat": chat, "from": OWNER_USER, "text": text}
    return {"update_id": message_id, "message": message}


async def test_webhook_takes_updates_with_the_secret_and_refuses_the_rest(
    settings_for: Any, telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    settings = settings_for(
        {"public_url": "https://bot.example.org/"}, mode="webhook", webhook_secret=SECRET
    )
    async with running(settings) as app:
        assert telegram.webhook is not None
        assert telegram.webhook["url"] == f"https://bot.example.org{WEBHOOK_PATH}"
        assert telegram.webhook["secret_token"] == SECRET
        url = f"http://127.0.0.1:{app.http.port}{WEBHOOK_PATH}"
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: SECRET + "x"}):
                async with http.post(url, json=_update("sneaky", 1), headers=headers) as response:
                    assert response.status == 403
            good = {SECRET_HEADER: SECRET}
            async with http.post(url, data="{not json", headers=good) as response:
                assert response.status == 400
            broken = {"update_id": 2, "message": {"message_id": 2}}  # required fields missing
            async with http.post(url, json=broken, headers=good) as response:
                assert response.status == 200  # an error would make Telegram resend it forever
            async with http.post(
                url, data=json.dumps(_update("via webhook", 3)), headers=good
            ) as response:
                assert response.status == 200

        assert await answered(telegram, app, OWNER) == ["echo: via webhook"]
    assert "getUpdates" not in telegram.calls
    assert [last_user_text(r) for r in fake_llm.requests] == ["via webhook"]


async def test_webhook_mode_needs_a_public_url_and_a_secret(settings_for: Any) -> None:
    with pytest.raises(ConfigError, match="CLAWLING_PUBLIC_URL"):
        build_app(settings_for(mode="webhook", webhook_secret=SECRET))
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET"):
        build_app(settings_for({"public_url": "https://bot.example.org"}, mode="webhook"))


async def test_a_token_telegram_refuses_stops_start_up_with_the_fix(
    settings_for: Any, telegram: FakeTelegram
) -> None:
    app = build_app(
        settings_for(bot_token="999:REVOKED-token-abcdefghijklmnop"), telegram_tuning=FAST
    )
    try:
        with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN.*BotFather"):
            await app.start()
    finally:
        await app.close()


async def test_unreachable_bot_api_stops_start_up_with_the_fix(
    settings_for: Any, telegram: FakeTelegram
) -> None:
    dead = "http://127.0.0.1:9/bot"  # the discard port: nothing listens
    app = build_app(settings_for(base_url=dead), telegram_tuning=FAST)
    try:
        with pytest.raises(ConfigError, match="TELEGRAM_BASE_URL"):
            await app.start()
    finally:
        await app.close()


def test_no_token_means_no_telegram_channel(sqlite_url: str, tmp_path: Path) -> None:
    settings = load_settings(clawling={"database_url": sqlite_url, "data_dir": str(tmp_path)})
    assert build_app(settings).outbox.adapters == []


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("TELEGRAM_BOT_TOKEN", "not-a-token", "TELEGRAM_BOT_TOKEN"),
        ("TELEGRAM_ALLOWED_USERS", "123,bob", "TELEGRAM_ALLOWED_USERS"),
        ("TELEGRAM_MODE", "carrier-pigeon", "TELEGRAM_MODE"),
        ("TELEGRAM_WEBHOOK_SECRET", "has spaces!", "TELEGRAM_WEBHOOK_SECRET"),
        ("TELEGRAM_BASE_URL", "localhost:8081/bot", "TELEGRAM_BASE_URL"),
        ("CLAWLING_PUBLIC_URL", "bot.example.org", "CLAWLING_PUBLIC_URL"),
    ],
)
def test_bad_telegram_settings_name_the_variable_and_the_fix(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    lines = str(caught.value).splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"Setting {named} is invalid") and "Fix:" in lines[0]
    if "TOKEN" in variable or "SECRET" in variable:
        assert value not in lines[0]


def test_telegram_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:ABCdefGHIjklMNOpqrSTUvwx")
    monkeypatch.setenv("TELEGRAM_ALLOWED_USERS", "42, @Ann")
    monkeypatch.setenv("TELEGRAM_MODE", "Webhook")
    monkeypatch.setenv("TELEGRAM_BASE_FILE_URL", "http://localhost:8081/file/bot")
    monkeypatch.setenv("CLAWLING_PUBLIC_URL", "https://bot.example.org/")

    settings = load_settings()
    telegram = settings.telegram
    assert telegram.bot_token is not None
    assert telegram.bot_token.get_secret_value() == "123456:ABCdefGHIjklMNOpqrSTUvwx"
    assert telegram.allowed_users == ["42", "@Ann"]
    assert telegram.mode == "webhook"
    assert telegram.base_file_url == "http://localhost:8081/file/bot"
    assert telegram.base_url == "https://api.telegram.org/bot"
    assert settings.core.public_url == "https://bot.example.org"
