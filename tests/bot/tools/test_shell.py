"""The shell tool: off by default; asks before every command unless allowlisted; runs in
its work folder with a clean environment, a time limit and an output cap."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.tools.shell import ShellRunner
from tests.bot.conftest import AppMaker, wait_for_message
from tests.fakes.openai_server import FakeOpenAI, Reply


def runner(tmp_path: Path, **kwargs: object) -> ShellRunner:
    return ShellRunner(
        tmp_path / "work",
        list(kwargs.pop("allowlist", [])),  # type: ignore[call-overload]
        timeout=float(kwargs.pop("timeout", 5)),  # type: ignore[arg-type]
        output_bytes=int(kwargs.pop("output_bytes", 10_000)),  # type: ignore[call-overload]
    )


async def test_shell_is_off_by_default(make_app: AppMaker) -> None:
    app, _ = await make_app()
    assert "shell" not in app.tools.names


async def test_a_command_runs_in_the_work_folder_without_our_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    shell = runner(tmp_path)
    out = await shell.run("pwd; echo key=${OPENAI_API_KEY:-none}; echo oops >&2; exit 3")
    assert (
        out
        == f"$ pwd; echo key=${{OPENAI_API_KEY:-none}}; echo oops >&2; exit 3\n{tmp_path / 'work'}\nkey=none\noops\n\n[exit code 3]"
    )


async def test_time_limit_and_output_cap(tmp_path: Path) -> None:
    slow = await runner(tmp_path, timeout=0.5).run("echo started; sleep 30; echo never")
    assert slow == "$ echo started; sleep 30; echo never\nstarted\n\n[stopped after 0.5 s]"
    loud = await runner(tmp_path, output_bytes=1_000).run("yes | head -c 1000000")
    assert "[output cut at 1,000 bytes; the command was stopped]" in loud
    assert len(loud) < 1_200


@pytest.mark.parametrize(
    ("command", "allowed"),
    [
        ("ls", True),
        ("ls -la notes", True),
        ("git status", True),
        ("git push", False),
        ("lsblk", False),
        ("ls; rm -rf x", False),
        ("ls && curl x", False),
        ("ls | sh", False),
        ("ls $(rm x)", False),
        ("ls `rm x`", False),
        ("ls > out.txt", False),
    ],
)
def test_the_allowlist_takes_plain_commands_only(
    tmp_path: Path, command: str, allowed: bool
) -> None:
    assert runner(tmp_path, allowlist=["ls", "git status"]).allowlisted(command) is allowed


async def test_commands_off_the_allowlist_need_a_yes(
    make_app: AppMaker, fake_llm: FakeOpenAI, tmp_path: Path
) -> None:
    app, channel = await make_app(shell=True, shell_allowlist=["ls"])
    fake_llm.add(Reply(tool_calls=[("shell", {"command": "echo hi > made.txt"})]))
    await app.sessions.handle(channel.inbound("make a file"))
    question = await wait_for_message(channel, "Confirmation needed")
    assert "run the shell command `echo hi > made.txt`" in question
    assert "unless they are on CLAWLING_SHELL_ALLOWLIST" in question
    await app.sessions.handle(channel.inbound("/deny"))
    await app.sessions.drain()
    assert not (tmp_path / "data" / "shell" / "made.txt").exists()

    fake_llm.add(Reply(tool_calls=[("shell", {"command": "echo hi > made.txt"})]))
    await app.sessions.handle(channel.inbound("please, really"))
    question = await wait_for_message(channel, "Confirmation needed (#2)")
    await app.sessions.handle(channel.inbound("/approve 2"))
    await app.sessions.drain()
    assert (tmp_path / "data" / "shell" / "made.txt").read_text() == "hi\n"
