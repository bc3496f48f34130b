"""`clawling chat` in a real terminal (a pseudo-terminal driven by pexpect): replies
keep their line breaks, a status line says what runs, Ctrl-C stops an answer and
then leaves, Ctrl-D leaves, and confirmations are still answered at the prompt."""

from __future__ import annotations

import re
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pexpect
import pytest

from tests.bot.cli.harness import CLAWLING, environment
from tests.fakes.openai_server import FakeOpenAI, Reply, user_texts

PROMPT = "you ›"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """`clawling chat` running in a pseudo-terminal, with everything it drew kept."""

    def __init__(self, env: dict[str, str]) -> None:
        self.drawn = StringIO()
        self.child = pexpect.spawn(
            CLAWLING,
            ["chat", "--as", "ana"],
            env={**env, "TERM": "xterm", "COLUMNS": "100", "LINES": "30"},
            encoding="utf-8",
            timeout=60,
            dimensions=(30, 100),
        )
        self.child.logfile_read = self.drawn
        self.prompt()

    def prompt(self) -> str:
        """Wait for the next prompt; return what was drawn since the last one."""
        self.child.expect(PROMPT)
        return str(self.child.before)

    def say(self, line: str) -> str:
        """Type a line and wait for the prompt to come back."""
        self.child.sendline(line)
        return self.prompt()

    def exit_code(self) -> int | None:
        self.child.expect(pexpect.EOF)
        self.child.close()
        return self.child.exitstatus


def lines(drawn: str) -> list[str]:
    """What a person reads: the lines drawn, without colours, cursor moves or padding."""
    return [ANSI.sub("", line).split("\r")[-1].rstrip() for line in drawn.split("\r\n")]


@pytest.fixture
def terminal(env: dict[str, str]) -> Iterator[Terminal]:
    term = Terminal(env)
    yield term
    if term.child.isalive():
        term.child.terminate(force=True)


def test_help_and_replies_keep_their_line_breaks(terminal: Terminal, fake_llm: FakeOpenAI) -> None:
    shown = lines(terminal.say("/help"))
    assert "Commands:" in shown
    assert "/new — start a fresh conversation (history is kept)" in shown
    assert "/usage — tokens used by your requests" in shown

    fake_llm.add(Reply(text="**Plan**\nfirst line\nsecond line\n\n- one\n- two"))
    shown = lines(terminal.say("plan my day"))
    # Markdown still formats (no stars left, a bulleted list) but no line is joined.
    assert any(shown[i : i + 3] == ["Plan", "first line", "second line"] for i in range(len(shown)))
    assert not any("first line second line" in line for line in shown)
    assert " • one" in shown
    assert " • two" in shown


def test_a_status_line_names_the_tool_that_runs_and_is_gone_after_the_answer(
    terminal: Terminal, fake_llm: FakeOpenAI
) -> None:
    fake_llm.add(
        Reply(tool_calls=[("current_time", {})], delay=0.5),
        Reply(text="It is late.", delay=0.5),
    )
    drawn = terminal.say("what time is it?")
    assert "thinking…" in drawn
    assert "running current_time…" in drawn
    answer = drawn.rindex("It is late.")
    assert "running" not in drawn[answer:]
    assert "thinking" not in drawn[answer:]


def test_ctrl_c_stops_the_answer_then_the_chat_goes_on_and_ctrl_c_leaves(
    terminal: Terminal, fake_llm: FakeOpenAI
) -> None:
    fake_llm.add(Reply(text="word " * 200, chunk_chars=5, chunk_delay=0.2))
    terminal.child.sendline("tell me a long story")
    terminal.child.expect("word word")  # the answer streams in
    terminal.child.sendintr()
    shown = lines(terminal.prompt())
    assert "Stopped." in shown
    assert any(line.endswith("…(stopped)") for line in shown)

    fake_llm.add(Reply(text="still here"))
    assert "still here" in lines(terminal.say("are you there?"))
    # The stopped message stays in the history; the new one is what gets answered.
    assert user_texts(fake_llm.requests[-1]) == ["tell me a long story", "are you there?"]

    terminal.child.sendintr()  # at the empty prompt: leave
    assert terminal.exit_code() == 0


def test_ctrl_d_at_the_prompt_leaves(terminal: Terminal) -> None:
    terminal.child.sendeof()
    assert terminal.exit_code() == 0


@pytest.fixture
def shell_env(fake_llm: FakeOpenAI, sqlite_url: str, tmp_path: Path) -> dict[str, str]:
    return {**environment(fake_llm, sqlite_url, tmp_path), "CLAWLING_SHELL": "true"}


def test_a_confirmation_is_answered_at_the_prompt_or_stopped(
    shell_env: dict[str, str], fake_llm: FakeOpenAI, tmp_path: Path
) -> None:
    term = Terminal(shell_env)
    try:
        fake_llm.add(Reply(tool_calls=[("shell", {"command": "echo hi > made.txt"})]))
        shown = "\n".join(lines(term.say("make a file")))
        assert "Confirmation needed (#1): run the shell command echo hi > made.txt" in shown
        assert "Approved #1" in "\n".join(lines(term.say("yes")))
        [made] = (tmp_path / "data" / "shell").glob("*/made.txt")
        assert made.read_text() == "hi\n"

        # /stop typed at the prompt stops the turn that still waits for a yes.
        fake_llm.add(Reply(tool_calls=[("shell", {"command": "echo no > other.txt"})]))
        assert "Confirmation needed (#2)" in "\n".join(lines(term.say("another file")))
        shown = lines(term.say("/stop"))
        assert "Stopped." in shown
        fake_llm.add(Reply(text="ok"))
        assert "ok" in lines(term.say("never mind"))
        assert not list((tmp_path / "data" / "shell").glob("*/other.txt"))
    finally:
        term.child.terminate(force=True)
