"""The shell tool: off by default; each person works in their own folder; commands run
unasked only when allowlisted and confined to that folder, otherwise the person is asked
(and the question names what failed); commands never see the assistant's secrets.

The attacks go through the whole app: the fake model asks for the command, the safety
hook asks the person in the chat, and the person's answer decides.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.app import App, build_app
from bot.tools.shell import ShellRunner
from tests.bot.conftest import AppMaker, wait_for_message
from tests.conftest import make_settings
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI, Reply

SAFE_LIST = ["ls", "cat", "head", "tail", "wc", "grep", "find", "git status", "env", "sort"]
SECRETS = {
    "OPENAI_API_KEY": "sk-secret-openai-7f3a",
    "TELEGRAM_BOT_TOKEN": "123456:secret-telegram-9b2c",
    "SLACK_BOT_TOKEN": "xoxb-secret-slack-4d1e",
    "SLACK_SIGNING_SECRET": "secret-signing-0c0c",
    "CLAWLING_DATABASE_URL": "postgresql+asyncpg://clawling:db-password-5e6f@db/clawling",
}
ENV_FILE_SECRET = "sk-from-dotenv-8a8a"


def runner(tmp_path: Path, **kwargs: object) -> ShellRunner:
    return ShellRunner(
        tmp_path / "work",
        list(kwargs.pop("allowlist", [])),  # type: ignore[call-overload]
        timeout=float(kwargs.pop("timeout", 5)),  # type: ignore[arg-type]
        output_bytes=int(kwargs.pop("output_bytes", 10_000)),  # type: ignore[call-overload]
    )


@dataclass
class Outcome:
    question: str | None  # the confirmation asked in the chat, if any
    result: str  # what the model got back


@dataclass
class ShellChat:
    """One app with the shell on; `run` has the model call the tool as a person."""

    app: App
    channel: RecordingChannel
    llm: FakeOpenAI
    data: Path

    async def folder(self, sender: str = "u1") -> Path:
        user = await self.app.store.resolve_identity(self.channel.name, sender, sender.title())
        return self.data / "shell" / str(user.id)

    async def run(self, command: str, *, answer: str = "/deny", sender: str = "u1") -> Outcome:
        asked = len(self._questions())
        self.llm.add(Reply(tool_calls=[("shell", {"command": command})]))
        await self.app.sessions.handle(
            self.channel.inbound(f"run {command}", chat=sender, sender=sender)
        )
        drained = asyncio.create_task(self.app.sessions.drain())
        question = None
        async with asyncio.timeout(10):
            while not drained.done():
                new = self._questions()[asked:]
                if new:
                    question = new[0]
                    await self.app.sessions.handle(
                        self.channel.inbound(answer, chat=sender, sender=sender)
                    )
                    break
                await asyncio.sleep(0.01)
            await drained
        tool_messages = [m for m in self.llm.requests[-1]["messages"] if m["role"] == "tool"]
        return Outcome(question, tool_messages[-1]["content"])

    def _questions(self) -> list[str]:
        return [t for t in self.channel.texts() if "Confirmation needed" in t]

    def everything_said(self) -> str:
        """All the model was sent and all the chat showed."""
        return repr(self.llm.requests) + "\n".join(self.channel.texts())


@pytest.fixture
async def shell_chat(
    fake_llm: FakeOpenAI, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[ShellChat]:
    """An app with the shell on and the safe example allowlist, with secrets in its
    environment, its settings and a .env file beside the data folder."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    (tmp_path / ".env").write_text(f"OPENAI_API_KEY={ENV_FILE_SECRET}\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / ".env").write_text(f"OPENAI_API_KEY={ENV_FILE_SECRET}\n")
    settings = make_settings(
        fake_llm, sqlite_url, tmp_path / "data", shell=True, shell_allowlist=SAFE_LIST
    )
    app = build_app(settings)
    await app.prepare_database()
    channel = RecordingChannel()
    app.add_channel(channel)
    yield ShellChat(app, channel, fake_llm, tmp_path / "data")
    await app.close()


async def test_shell_is_off_by_default(make_app: AppMaker) -> None:
    app, _ = await make_app()
    assert "shell" not in app.tools.names


async def test_a_command_runs_in_the_persons_folder_without_our_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    shell = runner(tmp_path)
    out = await shell.run("pwd; echo key=${OPENAI_API_KEY:-none}; echo oops >&2; exit 3", 7)
    assert (
        out
        == f"$ pwd; echo key=${{OPENAI_API_KEY:-none}}; echo oops >&2; exit 3\n{tmp_path / 'work' / '7'}\nkey=none\noops\n\n[exit code 3]"
    )
    assert (tmp_path / "work" / "7").stat().st_mode & 0o777 == 0o700


async def test_time_limit_and_output_cap(tmp_path: Path) -> None:
    slow = await runner(tmp_path, timeout=0.5).run("echo started; sleep 30; echo never", 1)
    assert slow == "$ echo started; sleep 30; echo never\nstarted\n\n[stopped after 0.5 s]"
    loud = await runner(tmp_path, output_bytes=1_000).run("yes | head -c 1000000", 1)
    assert "[output cut at 1,000 bytes; the command was stopped]" in loud
    assert len(loud) < 1_200


def test_the_path_holds_only_absolute_folders_outside_the_work_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shell = runner(tmp_path)
    inside = tmp_path / "work" / "7" / "bin"
    monkeypatch.setenv("PATH", f".:bin::{inside}:/usr/bin:/bin:/usr/bin")
    env = shell.environment(tmp_path / "work" / "7")
    assert env == {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path / "work" / "7"),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
    }
    monkeypatch.setenv("PATH", ".")
    assert shell.environment(tmp_path)["PATH"] == "/usr/local/bin:/usr/bin:/bin"
    monkeypatch.delenv("PATH")
    assert shell.environment(tmp_path)["PATH"] == "/usr/local/bin:/usr/bin:/bin"


async def test_commands_off_the_allowlist_need_a_yes(
    make_app: AppMaker, fake_llm: FakeOpenAI, tmp_path: Path
) -> None:
    app, channel = await make_app(shell=True, shell_allowlist=["ls"])
    user = await app.store.resolve_identity(channel.name, "u1", "U1")
    made = tmp_path / "data" / "shell" / str(user.id) / "made.txt"
    fake_llm.add(Reply(tool_calls=[("shell", {"command": "echo hi > made.txt"})]))
    await app.sessions.handle(channel.inbound("make a file"))
    question = await wait_for_message(channel, "Confirmation needed")
    assert "run the shell command `echo hi > made.txt`" in question
    assert "Why I ask: it uses shell syntax ('>'), which I do not check" in question
    await app.sessions.handle(channel.inbound("/deny"))
    await app.sessions.drain()
    assert not made.exists()

    fake_llm.add(Reply(tool_calls=[("shell", {"command": "echo hi > made.txt"})]))
    await app.sessions.handle(channel.inbound("please, really"))
    question = await wait_for_message(channel, "Confirmation needed (#2)")
    await app.sessions.handle(channel.inbound("/approve 2"))
    await app.sessions.drain()
    assert made.read_text() == "hi\n"


async def test_allowlisted_commands_inside_the_folder_run_unasked(shell_chat: ShellChat) -> None:
    folder = await shell_chat.folder()
    (folder / "notes").mkdir(parents=True)
    (folder / "notes.txt").write_text("buy milk\n")
    (folder / "notes" / "a.md").write_text("# plan\nmilk first\n")
    for command, shown in [
        ("cat notes.txt", "buy milk"),
        ("ls -la", "notes.txt"),
        ("grep -rn milk .", "./notes/a.md:2:milk first"),
        ("head -n 1 notes/a.md", "# plan"),
        ("wc -l *.txt", "1 notes.txt"),
        ("cat ~/notes.txt", "buy milk"),
        ("find . -name a.md", "./notes/a.md"),
        ("env", f"HOME={folder}"),
    ]:
        outcome = await shell_chat.run(command)
        assert outcome.question is None, (command, outcome.question)
        assert shown in outcome.result, (command, outcome.result)
        assert "[exit code 0]" in outcome.result


async def test_each_person_has_their_own_folder(shell_chat: ShellChat) -> None:
    alice, bob = await shell_chat.folder("u1"), await shell_chat.folder("u2")
    assert alice != bob and alice.parent == bob.parent
    assert not alice.exists()  # made on first use
    made = await shell_chat.run("pwd", answer="/approve", sender="u1")
    assert f"\n{alice}\n" in made.result and alice.is_dir()
    await shell_chat.run("echo dear diary > diary.txt", answer="/approve", sender="u1")
    assert (alice / "diary.txt").read_text() == "dear diary\n"
    (alice / "diary.txt").write_text("ALICE-PRIVATE-7c1\n")

    listed = await shell_chat.run("ls -la", sender="u2")
    assert listed.question is None and "diary" not in listed.result and bob.is_dir()
    for attempt in [
        f"cat ../{alice.name}/diary.txt",
        f"cat {alice}/diary.txt",
        "ls ..",
        "grep -r dear ..",
        f"cat ~/../{alice.name}/diary.txt",
    ]:
        outcome = await shell_chat.run(attempt, sender="u2")
        assert outcome.question is not None, attempt
        assert "reaches outside your work folder" in outcome.question, attempt
        assert outcome.result.startswith("Not done: the person said no"), attempt
    assert "ALICE-PRIVATE-7c1" not in shell_chat.everything_said()


async def _refused(shell_chat: ShellChat, attacks: list[tuple[str, str]]) -> None:
    """Each attack asks the person (naming what failed) and, denied, shows no secret."""
    for command, why in attacks:
        outcome = await shell_chat.run(command)
        assert outcome.question is not None, f"{command!r} ran unasked: {outcome.result}"
        assert why in outcome.question.split("Why I ask: ", 1)[1], (command, outcome.question)
        assert outcome.result.startswith("Not done: the person said no"), command
    said = shell_chat.everything_said()
    for secret in [*SECRETS.values(), ENV_FILE_SECRET, "root:x:0:0"]:
        assert secret not in said


async def test_path_traversal_is_asked_about(shell_chat: ShellChat) -> None:
    await shell_chat.run("ls")  # makes the folder
    await _refused(
        shell_chat,
        [
            ("cat ../../.env", "the argument `../../.env` reaches outside your work folder"),
            ("cat ../../../.env", "`../../../.env` reaches outside"),
            ("cat ./../../.env", "`./../../.env` reaches outside"),
            ("cat notes/../../../.env", "`notes/../../../.env` reaches outside"),
            ("cat /etc/passwd", "`/etc/passwd` reaches outside your work folder (to /etc/passwd)"),
            ("cat //etc//passwd", "`//etc//passwd` reaches outside"),
            ("head -n 5 /etc/passwd", "`/etc/passwd` reaches outside"),
            ("grep -r OPENAI ../..", "`../..` reaches outside"),
            ("grep -f../../.env x", "`-f../../.env` reaches outside"),
            ("grep --file=../../.env x", "`--file=../../.env` reaches outside"),
            ("tail -c+1 ~/../../.env", "`~/../../.env` reaches outside"),
            ("cat ~root/.profile", "uses `~` in a way I do not check"),
            ("cat ../*", "the pattern `../*` could climb out of your work folder"),
            ("cat .*", "the pattern `.*` could climb out"),
            ("grep -r OPENAI /", "`/` reaches outside"),
        ],
    )


async def test_proc_sys_and_dev_are_asked_about(shell_chat: ShellChat) -> None:
    await _refused(
        shell_chat,
        [
            ("cat /proc/self/environ", "`/proc/self/environ` reaches outside"),
            (f"cat /proc/{os.getpid()}/environ", f"(to /proc/{os.getpid()}/environ)"),
            ("cat /proc/1/environ", "(to /proc/1/environ)"),
            ("grep -a KEY /proc/thread-self/environ", "reaches outside"),
            ("cat ../../../../../../../../proc/self/environ", "(to /proc/"),
            ("cat /proc/self/cwd/../../../.env", "reaches outside"),
            ("cat /proc/*/environ", "the pattern `/proc/*/environ` starts outside"),
            ("wc --files0-from=/proc/self/environ", "(to /proc/"),
            ("head -c 64 /sys/kernel/notes", "(to /sys/kernel/notes)"),
            ("head -c 16 /dev/urandom", "(to /dev/urandom)"),
        ],
    )


async def test_symlinks_out_of_the_folder_are_asked_about(
    shell_chat: ShellChat, tmp_path: Path
) -> None:
    folder = await shell_chat.folder()
    (folder / "deep" / "er").mkdir(parents=True)
    (folder / "notes.txt").write_text("milk\n")
    (folder / "inner").symlink_to("notes.txt")  # inside: fine
    assert (await shell_chat.run("cat inner")).question is None
    for name, target in [
        ("dotenv", tmp_path / ".env"),
        ("etc", Path("/etc")),
        ("deep/er/up", Path("../../../../../.env")),
        ("proc", Path("/proc/self")),
        ("deep/root", Path("/")),
    ]:
        (folder / name).symlink_to(target)
        outcome = await shell_chat.run("grep -R OPENAI .")
        assert outcome.question is not None, name
        assert f"your work folder holds `{name}`, a link to outside it" in outcome.question
        outcome = await shell_chat.run(f"cat {name}")
        assert outcome.question is not None, name
        (folder / name).unlink()
    os.link(tmp_path / ".env", folder / "hard")
    outcome = await shell_chat.run("cat hard")
    assert outcome.question is not None and "`hard`, a hard link" in outcome.question
    assert ENV_FILE_SECRET not in shell_chat.everything_said()


async def test_option_smuggling_is_asked_about(shell_chat: ShellChat) -> None:
    folder = await shell_chat.folder()
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("milk\n")
    await _refused(
        shell_chat,
        [
            ("find . -delete", "the option `-delete` of find can run programs or write files"),
            ("find . -execdir id", "`-execdir` of find"),
            ("find . -fprint /tmp/list", "`-fprint` of find"),
            ("find . -fprintf out %p", "`-fprintf` of find"),
            ("sort --compress-prog=sh notes.txt", "(--compress-program)"),
            ("grep -f/etc/passwd notes.txt", "`-f/etc/passwd` reaches outside"),
            ("grep -rf../../.env .", "`-rf../../.env` reaches outside"),
            ("env sh -c id", "`env` can run other programs"),
            ("env cat ../../.env", "`env` can run other programs"),
        ],
    )
    (folder / "--files0-from=x").write_text("")
    outcome = await shell_chat.run("wc *")
    assert outcome.question is not None
    assert "the pattern `*` matches `--files0-from=x`, which wc would read as an option" in (
        outcome.question
    )
    assert (folder / "notes.txt").exists()  # find -delete did not run


async def test_prefix_tricks_are_asked_about(shell_chat: ShellChat) -> None:
    not_listed = "shell commands need your yes unless they are on CLAWLING_SHELL_ALLOWLIST"
    await _refused(
        shell_chat,
        [
            ("catx notes.txt", not_listed),
            ("git statusx", not_listed),
            ("git stash", not_listed),
            ("git status; cat ../../.env", "shell syntax (';')"),
            ("cat$IFS../../.env", "shell syntax ('$')"),
            ("/bin/cat ../../.env", not_listed),
            ("FOO=1 cat ../../.env", not_listed),
            ("c\\at ../../.env", "shell syntax ('\\\\')"),
            ("cat\x0b../../.env", "shell syntax ('\\x0b')"),
            ("ls\n cat ../../.env", "shell syntax ('\\n')"),
        ],
    )
    allowed = await shell_chat.run("git status --short")
    assert allowed.question is None  # the entry `git status` still works


async def test_commands_see_no_secrets(shell_chat: ShellChat) -> None:
    """Secrets in the process environment, the settings and .env never reach a command,
    and HOME is the person's folder."""
    folder = await shell_chat.folder()
    listed = await shell_chat.run("env")
    assert listed.question is None
    assert f"HOME={folder}" in listed.result
    approved = await shell_chat.run(
        "cat /proc/self/environ | tr '\\0' '\\n'; set; echo $OPENAI_API_KEY", answer="/approve"
    )
    assert approved.question is not None and f"HOME={folder}" in approved.result
    for outcome in (listed, approved):
        for name, secret in SECRETS.items():
            assert secret not in outcome.result
            assert f"{name}=" not in outcome.result.replace("echo $OPENAI_API_KEY", "")
        assert ENV_FILE_SECRET not in outcome.result


async def test_while_outside_content_is_in_view_readers_run_and_writers_ask(
    make_app: AppMaker, fake_llm: FakeOpenAI, tmp_path: Path
) -> None:
    """Command output is outside content and stays in the conversation: allowlisted
    commands that only read still run unasked; one that changes files needs a yes."""
    app, channel = await make_app(shell=True, shell_allowlist=["cat", "grep", "mkdir"])
    chat = ShellChat(app, channel, fake_llm, tmp_path / "data")
    folder = await chat.folder()
    assert (await chat.run("mkdir drafts")).question is None  # nothing untrusted in view yet
    (folder / "notes.txt").write_text("buy milk\n")
    first = await chat.run("cat notes.txt")
    assert first.question is None and "buy milk" in first.result
    again = await chat.run("grep milk notes.txt")
    assert again.question is None and "buy milk" in again.result
    made = await chat.run("mkdir more", answer="no")
    assert made.question is not None and "outside your own messages" in made.question
    assert not (folder / "more").exists() and (folder / "drafts").is_dir()
