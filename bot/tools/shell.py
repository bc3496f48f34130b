"""The shell tool (off unless CLAWLING_SHELL=true): runs a command in the person's own
work folder (DATA_DIR/shell/<user id>), with a time limit and an output cap.

Every command needs the person's yes in chat unless bot/tools/shell_rules.py
finds it plain, allowlisted and confined to that folder. Commands get a minimal
environment, never the assistant's own (its keys and tokens), with HOME in the
person's folder. This is not a sandbox: a command the person approves can do
anything the assistant's user can, so turn it on only where the people allowed
to talk to the assistant may run commands on this machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

from pydantic import BaseModel, Field

from bot.errors import ToolError
from bot.safety.gate import taint_reason
from bot.tools import Tool, ToolContext, tool
from bot.tools.shell_rules import Allowlist, Folder, needs_yes, only_reads

DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"


class ShellArgs(BaseModel):
    command: str = Field(description="One shell command line, run with /bin/sh in the work folder.")


class ShellRunner:
    def __init__(
        self, root: Path, allowlist: list[str], *, timeout: float, output_bytes: int
    ) -> None:
        self.root = root
        self._allowlist = Allowlist(allowlist)
        self._timeout = timeout
        self._output_bytes = output_bytes

    def workdir(self, user_id: int) -> Path:
        """This person's work folder (made on first use)."""
        return self.root / str(user_id)

    def approval(self, ctx: ToolContext, args: ShellArgs) -> str | None:
        """Why this call needs the person's yes, or None (see shell_rules): the shell judges
        its calls itself, so it also applies the gate's rule to commands that change files."""
        reason = needs_yes(args.command, self._allowlist, Folder(self.workdir(ctx.user.id)))
        if reason is None and not only_reads(args.command):
            return taint_reason(ctx.turn)
        return reason

    def environment(self, workdir: Path) -> dict[str, str]:
        """What a command sees: no secrets, HOME in the person's folder, and a PATH of
        absolute folders only, so a program planted in a work folder never shadows one."""
        folders = os.environ.get("PATH", DEFAULT_PATH).split(os.pathsep)
        kept = [
            f
            for f in folders
            if os.path.isabs(f) and not Path(f).resolve().is_relative_to(self.root.resolve())
        ]
        return {
            "PATH": os.pathsep.join(dict.fromkeys(kept)) or DEFAULT_PATH,
            "HOME": str(workdir),
            "LANG": "C.UTF-8",
            "TERM": "dumb",
        }

    async def run(self, command: str, user_id: int) -> str:
        if not command.strip():
            raise ToolError("the command is empty")
        workdir = self.workdir(user_id)
        # Owner-only: other local users of this machine have no business there.
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        workdir.mkdir(mode=0o700, exist_ok=True)
        process = await asyncio.create_subprocess_exec(
            "/bin/sh",
            "-c",
            command,
            cwd=workdir,
            env=self.environment(workdir),
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
        """Run a shell command in the person's own work folder on the assistant's machine and
        return its output. The person is asked to confirm commands that are not pre-approved
        or that reach outside that folder."""
        return await runner.run(args.command, ctx.user.id)

    return shell
