"""One assistant process per SQLite database: a second `clawling run` or `clawling chat`
is refused in one line, read-only commands keep working, and a killed holder leaves no
lock behind (memory/db/sole.py)."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from memory.db.sole import hold, lock_path
from tests.bot.cli.harness import CLAWLING, run


@pytest.fixture
def running_chat(env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """An interactive `clawling chat` holding the database until the test ends it."""
    process = subprocess.Popen(
        [CLAWLING, "chat", "--as", "first"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    path = lock_path(env["CLAWLING_DATABASE_URL"])
    assert path is not None
    deadline = time.monotonic() + 60
    while f"pid {process.pid}" not in (path.read_text() if path.exists() else ""):
        assert process.poll() is None, "the first chat ended early"
        assert time.monotonic() < deadline, "the first chat never took the database"
        time.sleep(0.05)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(30)


def test_a_second_process_is_refused_in_one_line(
    env: dict[str, str], running_chat: subprocess.Popen[str]
) -> None:
    for args in (["run"], ["chat", "-m", "hello", "--as", "second"]):
        result = run(args, env)
        assert result.returncode == 1
        [line] = result.stderr.strip().splitlines()
        assert line.startswith(
            f"Clawling is already running on this database (clawling chat, pid {running_chat.pid}"
        )
        assert "running several processes needs PostgreSQL (CLAWLING_DATABASE_URL)" in line
        assert result.stdout == ""


def test_reading_and_administering_work_while_it_runs(
    env: dict[str, str], running_chat: subprocess.Popen[str]
) -> None:
    listed = run(["users", "list"], env)
    assert listed.returncode == 0, listed.stderr
    audit = run(["audit"], env)
    assert audit.returncode == 0, audit.stderr


def test_a_restore_is_refused_while_it_runs(
    env: dict[str, str], running_chat: subprocess.Popen[str], tmp_path: Path
) -> None:
    backup = tmp_path / "copy.db"
    made = run(["backup", str(backup)], env)  # a backup works while it runs
    assert made.returncode == 0, made.stderr
    refused = run(["restore", str(backup), "--yes"], env)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "Restore refused: Clawling is running on this database "
        f"(clawling chat, pid {running_chat.pid}). Fix: stop it first, then restore."
    )


def test_the_lock_does_not_survive_a_killed_process(
    env: dict[str, str], running_chat: subprocess.Popen[str]
) -> None:
    running_chat.send_signal(signal.SIGKILL)
    running_chat.wait(30)
    path = lock_path(env["CLAWLING_DATABASE_URL"])
    assert path is not None and path.exists()  # the file stays; its lock went with the process
    result = run(["chat", "-m", "hello again", "--as", "second"], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "echo: hello again"


def test_a_process_that_ends_lets_the_next_one_in(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'clawling.db'}"
    first = hold(url, "clawling run")
    first.release()
    second = hold(url, "clawling chat")
    second.release()


def test_postgresql_and_memory_need_no_lock(tmp_path: Path) -> None:
    assert lock_path("postgresql://localhost/clawling") is None
    assert lock_path("sqlite:///:memory:") is None
    # Any number of holds on PostgreSQL: replicas coordinate through the database.
    hold("postgresql://localhost/clawling", "clawling run").release()
    hold("postgresql://localhost/clawling", "clawling run").release()
