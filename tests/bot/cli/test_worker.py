"""`clawling worker` refusing what it cannot do, in one line (its work:
tests/bot/background/test_worker_processes.py)."""

from __future__ import annotations

import socket

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


def test_a_worker_whose_port_is_taken_says_which_option_frees_it(
    env_postgres: dict[str, str],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {
            **env_postgres,
            "CLAWLING_QUEUE_URL": env_postgres["CLAWLING_DATABASE_URL"],
            "CLAWLING_HTTP_PORT": str(port),
        }
        result = run(["worker"], env)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"Port {port} is already in use on 127.0.0.1 (CLAWLING_HTTP_PORT).")
    assert line.endswith("give each its own with `clawling worker --http-port N`.")
