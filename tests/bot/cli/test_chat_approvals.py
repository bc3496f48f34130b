"""Confirmations in the terminal chat: answered at the next prompt; in one-message
mode (nobody to ask) they count as no."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bot.cli.harness import environment, run
from tests.fakes.openai_server import FakeOpenAI, Reply


@pytest.fixture
def env(fake_llm: FakeOpenAI, sqlite_url: str, tmp_path: Path) -> dict[str, str]:
    return {**environment(fake_llm, sqlite_url, tmp_path), "CLAWLING_SHELL": "true"}


def test_a_confirmation_is_answered_at_the_prompt(
    env: dict[str, str], fake_llm: FakeOpenAI, tmp_path: Path
) -> None:
    fake_llm.add(Reply(tool_calls=[("shell", {"command": "echo hi > made.txt"})]))
    result = run(["chat", "--as", "ana"], env, stdin="make a file\nyes\n")
    assert result.returncode == 0, result.stderr
    # The terminal renders Markdown, so the backticks are gone.
    assert "Confirmation needed (#1): run the shell command echo hi > made.txt" in result.stdout
    assert "Approved #1" in result.stdout
    [made] = (tmp_path / "data" / "shell").glob("*/made.txt")  # in ana's own folder
    assert made.read_text() == "hi\n"


def test_one_message_mode_refuses_what_needs_a_confirmation(
    env: dict[str, str], fake_llm: FakeOpenAI, tmp_path: Path
) -> None:
    fake_llm.add(Reply(tool_calls=[("shell", {"command": "echo hi > made.txt"})]))
    result = run(["chat", "-m", "make a file", "--as", "ana"], env)
    assert result.returncode == 0, result.stderr
    assert "tool said: Not done: the person said no" in result.stdout
    assert not list((tmp_path / "data" / "shell").glob("**/made.txt"))
