"""What every command shares: bad settings and an unreachable database end in one line."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from bot.cli.launch import LOG_FILE_BYTES
from tests.bot.cli.harness import run
from tests.fakes.openai_server import FakeOpenAI, Reply


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


def test_version_is_the_package_version() -> None:
    result = run(["--version"], dict(os.environ))
    assert result.returncode == 0
    assert result.stdout == f"clawling {metadata.version('clawling')}\n"


def test_empty_values_copied_from_the_example_count_as_not_set(
    env: dict[str, str], tmp_path: Path
) -> None:
    # The subprocess runs where the tests run (tmp_path), so this is its .env.
    (tmp_path / ".env").write_text(
        "CLAWLING_MAX_TOOL_STEPS=\nTELEGRAM_BOT_TOKEN=\nCLAWLING_TIMEZONE=\nCLAWLING_OWNERS=\n"
    )
    result = run(["chat", "-m", "hi"], {**env, "CLAWLING_HTTP_PORT": "", "SLACK_BOT_TOKEN": ""})
    assert result.returncode == 0, result.stderr
    assert "echo: hi" in result.stdout
    assert result.stderr == ""


def test_chat_warns_once_about_a_misspelt_setting_and_still_answers(env: dict[str, str]) -> None:
    result = run(["chat", "-m", "hi"], {**env, "CLAWLING_LOG_LEVLE": "DEBUG"})
    assert result.returncode == 0
    assert result.stderr.splitlines() == [
        "Warning: CLAWLING_LOG_LEVLE is not a setting — did you mean CLAWLING_LOG_LEVEL?"
    ]


def test_json_logs_carry_the_turn_and_no_secret(
    env: dict[str, str], fake_llm: FakeOpenAI, tmp_path: Path
) -> None:
    key = "proxy-key-0123456789"
    fake_llm.responder = lambda _request: Reply(status=401, error_message=f"bad key {key}")
    settings = {"CLAWLING_LOG_FORMAT": "json", "OPENAI_API_KEY": key}
    result = run(["chat", "-m", "hi", "--as", "ana"], {**env, **settings})
    assert result.returncode == 1
    assert "rejected our API key (HTTP 401)" in result.stdout
    text = (tmp_path / "data" / "clawling.log").read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    [failure] = [line for line in lines if line["logger"] == "bot.llm.client"]
    assert failure["level"] == "WARNING"
    assert failure["message"].startswith("model fake-model failed (key rejected): HTTP 401")
    assert isinstance(failure["user_id"], int) and isinstance(failure["conversation_id"], int)
    assert key not in text and "bad key <redacted>" in text


def test_text_logs_name_the_turn(env: dict[str, str], fake_llm: FakeOpenAI, tmp_path: Path) -> None:
    fake_llm.responder = lambda _request: Reply(status=500)
    assert run(["chat", "-m", "hi"], env).returncode == 1
    log = (tmp_path / "data" / "clawling.log").read_text()
    [line] = [line for line in log.splitlines() if "bot.llm.client" in line]
    assert re.search(
        r"WARNING bot\.llm\.client \[user \d+ conversation \d+\]: model fake-model", line
    )


def test_the_chat_log_rotates(env: dict[str, str], tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    old = "old line\n" * (LOG_FILE_BYTES // 9 + 1)
    (data / "clawling.log").write_text(old)
    result = run(["chat", "-m", "hi"], {**env, "CLAWLING_LOG_LEVEL": "DEBUG"})
    assert result.returncode == 0, result.stderr
    assert (data / "clawling.log.1").read_text() == old
    assert 0 < (data / "clawling.log").stat().st_size < LOG_FILE_BYTES


def test_an_unexpected_error_is_one_line_and_a_logged_traceback(
    env: dict[str, str], tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    broken = {**env, "CLAWLING_DATABASE_URL": f"sqlite:///{blocker}/clawling.db"}
    result = run(["chat", "-m", "hi"], broken)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    log_file = tmp_path / "data" / "clawling.log"
    assert line.startswith("Stopped on an unexpected error: ")
    assert line.endswith(f"The traceback is in the log (in {log_file}).")
    assert "Traceback (most recent call last)" in log_file.read_text()


def test_an_unwritable_data_dir_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    result = run(["chat", "-m", "hi"], {**env, "CLAWLING_DATA_DIR": str(blocker)})
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"Cannot write the log file {blocker}/clawling.log (")
    assert line.endswith("Fix: point CLAWLING_DATA_DIR at a folder this user can write.")


def test_chat_says_which_way_the_model_endpoint_failed(
    env: dict[str, str], fake_llm: FakeOpenAI, tmp_path: Path
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    result = run(["chat", "-m", "hi"], {**env, "OPENAI_BASE_URL": url})
    assert result.returncode == 1
    assert (
        f"I can't reach the model service at {url} (connection refused). Is the model server "
        "(Ollama, vLLM…) running? Your message is saved" in result.stdout
    )
    assert "took" not in result.stdout and result.stderr == ""
    log = (tmp_path / "data" / "clawling.log").read_text()
    assert f"failed (unreachable): can't reach {url}: connection refused" in log

    fake_llm.responder = lambda _request: Reply(status=404)
    result = run(["chat", "-m", "hi"], {**env, "CLAWLING_MODEL": "lama3"})
    assert result.returncode == 1
    assert (
        f"The model service at {fake_llm.url} has no model named 'lama3'. It offers: fake-model."
        in result.stdout
    )
