"""`clawling doctor`: each check, and each chat app's credentials checked without starting it."""

from __future__ import annotations

from pathlib import Path

from bot.app import build_app
from bot.cli.doctor import run_checks
from tests.bot.cli.harness import run
from tests.conftest import make_settings
from tests.fakes.openai_server import FakeOpenAI, Reply
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


def test_doctor_reports_each_check(env: dict[str, str], fake_llm: FakeOpenAI) -> None:
    result = run(["doctor"], {**env, "CLAWLING_MODLE": "typo"})
    assert result.returncode == 1
    out = result.stdout
    assert "FAIL settings: unknown variables: CLAWLING_MODLE" in out
    assert "ok   database: reachable" in out
    assert "FAIL migrations: database at empty" in out
    assert "ok   model endpoint" in out

    assert run(["db", "upgrade"], env).returncode == 0
    fake_llm.responder = lambda _request: Reply(status=404, error_message="model not found")
    result = run(["doctor"], env)
    assert "ok   migrations: at" in result.stdout
    assert "FAIL model endpoint" in result.stdout and "model not found" in result.stdout
    assert "fix: check OPENAI_BASE_URL, OPENAI_API_KEY and CLAWLING_MODEL" in result.stdout


def test_doctor_shows_no_credential_even_when_a_server_echoes_one(
    env: dict[str, str], fake_llm: FakeOpenAI
) -> None:
    key = "proxy-key-0123456789"  # no known shape: only the setting says it is secret
    fake_llm.responder = lambda _request: Reply(
        status=401, error_message=f"Incorrect API key provided: {key}"
    )
    result = run(["doctor"], {**env, "OPENAI_API_KEY": key})
    assert f"FAIL model endpoint: {fake_llm.url}: all models failed" in result.stdout
    assert "Incorrect API key provided: <redacted>" in result.stdout
    assert "Incorrect API key provided: <redacted>" in result.stderr  # the log's warning
    assert key not in result.stdout + result.stderr
