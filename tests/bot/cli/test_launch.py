"""What every command shares: bad settings and an unreachable database end in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.bot.cli.harness import run


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        (
            "CLAWLING_MAX_CONCURRENT_TURNS",
            "lots",
            "Setting CLAWLING_MAX_CONCURRENT_TURNS is invalid",
        ),
        ("CLAWLING_MAX_CONCURRENT_TURNS", "0", "greater than or equal to 1"),
        ("CLAWLING_TIMEZONE", "Mars/Olympus", "Fix: use an IANA name such as Europe/Berlin"),
        ("CLAWLING_DATABASE_URL", "mysql://x", "Setting CLAWLING_DATABASE_URL is invalid"),
        ("OPENAI_BASE_URL", "api.deepseek.com", "Setting OPENAI_BASE_URL is invalid"),
        ("CLAWLING_OWNERS", "12345", "entries must look like telegram:12345"),
    ],
)
def test_bad_settings_stop_start_up_with_one_line(
    env: dict[str, str], variable: str, value: str, expected: str
) -> None:
    result = run(["chat", "-m", "hi"], {**env, variable: value})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "Fix:" in lines[0]


def test_unreachable_database_is_one_clear_line(env: dict[str, str]) -> None:
    broken = {**env, "CLAWLING_DATABASE_URL": "postgresql://nobody:secret@127.0.0.1:1/none"}
    result = run(["chat", "-m", "hi"], broken)
    assert result.returncode == 3
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Database unreachable: postgresql+asyncpg://nobody:***@127.0.0.1:1/none")
    assert "secret" not in line and "Fix: start the database" in line


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://app:pw-hunter2@db:notaport/app",
        "postgresql+asyncpg:/app:pw-hunter2@db/app",
        "sqlite:////",
    ],
)
def test_a_malformed_database_url_is_one_line_without_its_password(
    env: dict[str, str], url: str
) -> None:
    result = run(["chat", "-m", "hi"], {**env, "CLAWLING_DATABASE_URL": url})
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Setting CLAWLING_DATABASE_URL is invalid: ") and "Fix:" in line
    assert "hunter2" not in line


# Valid, but too short for the token pattern: only knowing the setting can hide it.
SHORT_TOKEN = "8123456:Short-But-Valid-Tok-25c"


def test_the_chat_log_file_is_redacted(env: dict[str, str], tmp_path: Path) -> None:
    settings = {"TELEGRAM_BOT_TOKEN": SHORT_TOKEN, "CLAWLING_LOG_LEVEL": "DEBUG"}
    result = run(["chat", "-m", "hi"], {**env, **settings})
    assert result.returncode == 0, result.stderr
    log = (tmp_path / "data" / "clawling.log").read_text()
    # Building the Telegram adapter logs its API URL, token included, at DEBUG.
    assert "Set Bot API URL: https://api.telegram.org/bot<redacted>" in log
    assert "Short-But-Valid" not in log + result.stdout + result.stderr


CRASH = f"""
import threading
from bot.cli.launch import load

def fail() -> None:
    raise ValueError("thread {SHORT_TOKEN}")

load()
thread = threading.Thread(target=fail)
thread.start()
thread.join()
raise RuntimeError("POST https://api.telegram.org/bot{SHORT_TOKEN}/getMe failed")
"""


def test_an_uncaught_traceback_is_redacted(env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CRASH],
        env={**env, "TELEGRAM_BOT_TOKEN": SHORT_TOKEN},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "Short-But-Valid" not in result.stderr
    assert "ValueError: thread <redacted>" in result.stderr
    assert "RuntimeError: POST https://api.telegram.org/bot<redacted>/getMe failed" in (
        result.stderr
    )
