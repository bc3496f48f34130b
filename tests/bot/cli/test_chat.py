"""The `clawling` command as a user runs it: a subprocess against the fake model server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from memory import db
from tests.fakes.openai_server import FakeOpenAI, Reply

CLAWLING = str(Path(sys.executable).parent / "clawling")


def run(
    args: list[str], env: dict[str, str], stdin: str = "", timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLAWLING, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def environment(fake_llm: FakeOpenAI, database_url: str, tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CLAWLING_", "OPENAI_"))}
    return {
        **base,
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": fake_llm.url,
        "CLAWLING_MODEL": "fake-model",
        "CLAWLING_DATABASE_URL": database_url,
        "CLAWLING_DATA_DIR": str(tmp_path / "data"),
        "CLAWLING_LLM_MAX_RETRIES": "0",
        "COLUMNS": "200",
    }


@pytest.fixture
def env(fake_llm: FakeOpenAI, sqlite_url: str, tmp_path: Path) -> dict[str, str]:
    """Settings for a run on SQLite."""
    return environment(fake_llm, sqlite_url, tmp_path)


@pytest.fixture
def env_any_db(fake_llm: FakeOpenAI, database_url: str, tmp_path: Path) -> dict[str, str]:
    """Settings for a run on SQLite and on PostgreSQL."""
    return environment(fake_llm, database_url, tmp_path)


def test_one_message_prints_the_reply(env_any_db: dict[str, str]) -> None:
    result = run(["chat", "-m", "hello from a script", "--as", "ci"], env_any_db)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "echo: hello from a script"


def test_history_persists_across_runs(env_any_db: dict[str, str], fake_llm: FakeOpenAI) -> None:
    env = env_any_db
    assert run(["chat", "-m", "my cat is Miso", "--as", "ana"], env).returncode == 0
    assert run(["chat", "-m", "something else", "--as", "bo"], env).returncode == 0
    result = run(["chat", "-m", "what is my cat called?", "--as", "ana"], env)
    assert result.returncode == 0
    users = [m["content"] for m in fake_llm.requests[-1]["messages"] if m["role"] == "user"]
    assert users == ["my cat is Miso", "what is my cat called?"]


def test_model_down_prints_a_plain_message_and_exits_non_zero(
    env: dict[str, str], fake_llm: FakeOpenAI
) -> None:
    fake_llm.responder = lambda _request: Reply(status=502)
    result = run(["chat", "-m", "anyone there?"], env)
    assert result.returncode == 1
    assert "The model service returned an error. Your message is saved" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_interactive_chat_reads_lines_until_end_of_input(
    env: dict[str, str], fake_llm: FakeOpenAI
) -> None:
    result = run(["chat", "--as", "terminal-user"], env, stdin="hi there\n/help\n")
    assert result.returncode == 0, result.stderr
    assert "chatting as terminal-user" in result.stdout
    assert "echo: hi there" in result.stdout
    assert "/new — start a fresh conversation" in result.stdout


def test_without_a_model_it_says_what_to_set(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAWLING_", "OPENAI_"))}
    result = run(["chat", "-m", "hi"], env)
    assert result.returncode == 2
    assert result.stderr.startswith("No model is configured. Set OPENAI_API_KEY")
    assert len(result.stderr.strip().splitlines()) == 1


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


def test_run_without_channels_points_to_chat(env: dict[str, str]) -> None:
    result = run(["run"], env)
    assert result.returncode == 2
    assert "No chat app is configured" in result.stderr and "clawling chat" in result.stderr


def test_db_commands_move_the_schema(env_any_db: dict[str, str]) -> None:
    head = db.head_revision()
    assert run(["db", "upgrade"], env_any_db).stdout == f"database at {head}\n"
    assert run(["db", "current"], env_any_db).stdout == f"{head} (newest: {head})\n"
    assert run(["db", "downgrade", "base"], env_any_db).stdout == "database at empty\n"
