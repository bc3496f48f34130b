"""`clawling chat`: one message from a script, or an interactive terminal chat."""

from __future__ import annotations

import os
from pathlib import Path

from tests.bot.cli.harness import run
from tests.fakes.openai_server import FakeOpenAI, Reply, user_texts


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
    users = user_texts(fake_llm.requests[-1])
    assert users == ["my cat is Miso", "what is my cat called?"]


def test_model_down_prints_a_plain_message_and_exits_non_zero(
    env: dict[str, str], fake_llm: FakeOpenAI
) -> None:
    fake_llm.responder = lambda _request: Reply(status=502)
    result = run(["chat", "-m", "anyone there?"], env)
    assert result.returncode == 1
    assert "internal error (HTTP 502); try again in a while. Your message is saved" in (
        result.stdout
    )
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
