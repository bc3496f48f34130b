"""The shell tool (off unless CLAWLING_SHELL=true): runs a command in a work folder
under the data dir, with a time limit and an output cap.

Every command needs the person's yes in chat unless it is a plain command (no
shell syntax) starting with an entry of CLAWLING_SHELL_ALLOWLIST. Commands get
a minimal environment, never the assistant's own (its keys and tokens). This is
not a sandbox: turn it on only where the people allowed to talk to the
assistant may run commands on this machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
from pathlib import Path

from pydantic import BaseModel, Field

from bot.errors import ToolError
from bot.tools import Tool, ToolContext, tool

SHELL_SYNTAX = set(";&|`$<>(){}[]*?~!#\\\n\r'\"")


class ShellArgs(BaseModel):
    command: str = Field(description="One shell command line, run with /bin/sh in the work folder.")


class ShellRunner:
    def __init__(
        self, workdir: Path, allowlist: list[str], *, timeout: float, output_bytes: int
    ) -> None:
        self.workdir = workdir
        self._allowlist = [shlex.split(entry) for entry in allowlist if entry.strip()]
        self._timeout = timeout
        self._output_bytes = output_bytes

    def allowlisted(self, command: str) -> bool:
        """A plain command whose words start with an allowlist entry."""
        if any(char in SHELL_SYNTAX for char in command):
            return False
        words = command.split()
        return any(words[: len(entry)] == entry for entry in self._allowlist if entry)

    def approval(self, args: ShellArgs) -> str | None:
        if self.allowlisted(args.command):
            return None
        return "shell commands need your yes unless they are on CLAWLING_SHELL_ALLOWLIST"

    async def run(self, command: str) -> str:
        if not command.strip():
            raise ToolError("the command is empty")
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "HOME": str(self.workdir),
            "LANG": "C.UTF-8",
            "TERM": "dumb",
        }
        process = await asyncio.create_subprocess_exec(
            "/bin/sh",
            "-c",
            command,
            cwd=self.workdir,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # its own process group, so all of it can be stopped
        )
        try:
            output, cut, timed_out = await self._collect(process)
        finally:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
            # Drain what is left and wait: no pipe stays open after the call.
            await process.communicate()
        text = output.decode("utf-8", errors="replace")
        notes = []
        if cut:
            notes.append(f"[output cut at {self._output_bytes:,} bytes; the command was stopped]")
        if timed_out:
            notes.append(f"[stopped after {self._timeout:g} s]")
        else:
            notes.append(f"[exit code {process.returncode}]")
        return f"$ {command}\n{text}\n" + "\n".join(notes)

    async def _collect(self, process: asyncio.subprocess.Process) -> tuple[bytes, bool, bool]:
        if process.stdout is None:
            raise RuntimeError("the shell's output is not piped")
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self._timeout):
                while chunk := await process.stdout.read(65_536):
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > self._output_bytes:
                        return b"".join(chunks)[: self._output_bytes], True, False
                await process.wait()
        except TimeoutError:
            return b"".join(chunks), False, True
        return b"".join(chunks), False, False


def shell_tool(runner: ShellRunner) -> Tool:
    """The shell tool over this runner."""

    @tool(
        side_effects=True,
        untrusted_output=True,
        approval=runner.approval,
        summary=lambda args: f"run the shell command `{args.command[:300]}`",
    )
    async def shell(ctx: ToolContext, args: ShellArgs) -> str:
        """Run a shell command in your work folder on the assistant's machine and return its
        output. The person is asked to confirm commands that are not pre-approved."""
        return await runner.run(args.command)

    return shell
