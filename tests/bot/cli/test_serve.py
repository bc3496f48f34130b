"""`clawling run` as a process (a full run with Telegram: tests/adapters/telegram/test_run_command.py)."""

from __future__ import annotations

import asyncio
import json
import socket

from tests.bot.cli.harness import CLAWLING, run
from tests.fakes.telegram_server import FakeTelegram


def test_run_without_channels_points_to_chat(env: dict[str, str]) -> None:
    result = run(["run"], env)
    assert result.returncode == 2
    assert "No chat app is configured" in result.stderr and "clawling chat" in result.stderr


def test_a_misspelt_setting_is_one_warning_line_at_start_up(env: dict[str, str]) -> None:
    result = run(["run"], {**env, "CLAWLING_MODLE": "x", "TELEGRAM_TOKEN": "y"})
    warnings = [line for line in result.stderr.splitlines() if "is not a setting" in line]
    assert len(warnings) == 1
    assert warnings[0].endswith(
        "WARNING bot.cli.launch: CLAWLING_MODLE is not a setting — did you mean CLAWLING_MODEL?; "
        "TELEGRAM_TOKEN is not a setting — did you mean TELEGRAM_BOT_TOKEN?"
    )


def test_json_logs_on_stderr_stay_one_object_a_line(env: dict[str, str]) -> None:
    result = run(["run"], {**env, "CLAWLING_MODLE": "x", "CLAWLING_LOG_FORMAT": "json"})
    [warning] = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert warning["level"] == "WARNING" and warning["logger"] == "bot.cli.launch"
    assert warning["message"] == "CLAWLING_MODLE is not a setting — did you mean CLAWLING_MODEL?"


async def test_a_port_in_use_is_one_line_naming_the_setting(env: dict[str, str]) -> None:
    telegram = await FakeTelegram().start()
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    settings = {
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_BASE_URL": telegram.url,
        "TELEGRAM_BASE_FILE_URL": telegram.file_url,
        "CLAWLING_HTTP_PORT": str(port),
        "CLAWLING_LOG_LEVEL": "ERROR",
    }
    try:
        process = await asyncio.create_subprocess_exec(
            CLAWLING, "run", env={**env, **settings},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
    finally:
        taken.close()
        await telegram.stop()
    assert process.returncode == 1
    assert stderr.decode().splitlines() == [
        f"Port {port} is already in use on 127.0.0.1 (CLAWLING_HTTP_PORT). Fix: stop the "
        "program using it, or set CLAWLING_HTTP_PORT to a free port."
    ]
