"""`clawling worker` refusing what it cannot do, in one line (its work:
tests/bot/background/test_worker_processes.py)."""

from __future__ import annotations

from tests.bot.cli.harness import run


def test_a_worker_without_a_queue_says_so(env: dict[str, str]) -> None:
    result = run(["worker"], env)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("CLAWLING_QUEUE_URL is not set, so `clawling run` runs background")
    assert line.endswith("for `clawling run` and `clawling worker` alike.")


def test_a_worker_whose_queue_does_not_answer_says_so(env_postgres: dict[str, str]) -> None:
    queue = "postgresql://nobody:pw-hunter2@127.0.0.1:9/queue"
    result = run(["worker"], {**env_postgres, "CLAWLING_QUEUE_URL": queue})
    assert result.returncode == 3
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("The task queue (CLAWLING_QUEUE_URL) cannot be used: ")
    assert "hunter2" not in line
    assert line.endswith("Fix: start its PostgreSQL or correct CLAWLING_QUEUE_URL.")
