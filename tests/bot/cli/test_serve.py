"""`clawling run` as a process (a full run with Telegram: tests/adapters/telegram/test_run_command.py)."""

from __future__ import annotations

from tests.bot.cli.harness import run


def test_run_without_channels_points_to_chat(env: dict[str, str]) -> None:
    result = run(["run"], env)
    assert result.returncode == 2
    assert "No chat app is configured" in result.stderr and "clawling chat" in result.stderr
