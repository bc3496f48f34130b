"""`clawling doctor` checks each chat app's credentials without starting it."""

from __future__ import annotations

from pathlib import Path

from bot.app import build_app
from bot.cli.doctor import run_checks
from tests.conftest import make_settings
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack import APP_TOKEN, BOT_TOKEN, FakeSlack
from tests.fakes.telegram_server import FakeTelegram


async def test_doctor_checks_both_chat_apps(
    fake_llm: FakeOpenAI, sqlite_url: str, tmp_path: Path
) -> None:
    telegram = await FakeTelegram().start()
    slack = await FakeSlack().start()
    try:
        settings = make_settings(fake_llm, sqlite_url, tmp_path)
        settings.telegram = settings.telegram.model_validate(
            {
                "bot_token": "999:WrongTokenAbcdefghijklmnopqrstuvwxyz",
                "base_url": telegram.url,
                "base_file_url": telegram.file_url,
            }
        )
        settings.slack = settings.slack.model_validate(
            {"bot_token": BOT_TOKEN, "app_token": APP_TOKEN, "api_url": slack.api_url}
        )
        app = build_app(settings)
        await app.prepare_database()
        try:
            results = {check.name: check for check in await run_checks(app)}
        finally:
            await app.close()
    finally:
        await slack.stop()
        await telegram.stop()
    assert results["slack"].ok and "Socket Mode" in results["slack"].detail
    assert not results["telegram"].ok
    assert results["telegram"].detail.startswith("Telegram refused TELEGRAM_BOT_TOKEN")
    assert results["telegram"].fix.startswith("copy the token from @BotFather")
    assert results["model endpoint"].ok and results["migrations"].ok
