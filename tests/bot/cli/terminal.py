"""Running `clawling` in a real pseudo-terminal (pexpect), and the async fake chat
servers on a loop of their own, so blocking tests (a terminal, a subprocess) can use them.
"""

from __future__ import annotations

import asyncio
import io
import os
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pexpect

from tests.bot.cli.harness import CLAWLING

Server = TypeVar("Server")


def plain_environment(**extra: str) -> dict[str, str]:
    """The test's environment (already free of Clawling settings) for a subprocess:
    no colours or cursor tricks, so the screen reads as plain lines."""
    # Rich takes a dumb terminal for 80x25 unless both COLUMNS and LINES say otherwise.
    size = {"COLUMNS": "250", "LINES": "60"}
    return {**os.environ, "TERM": "dumb", "NO_COLOR": "1", **size, **extra}


def spawn(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 30) -> pexpect.spawn:
    """`clawling ARGS` on a pseudo-terminal of 250 columns (no wrapped lines); all it
    shows is kept in `screen(child)`."""
    child = pexpect.spawn(
        CLAWLING,
        args,
        env=env,
        cwd=str(cwd),
        encoding="utf-8",
        timeout=timeout,
        dimensions=(60, 250),
    )
    child.logfile_read = io.StringIO()
    return child


def screen(child: pexpect.spawn) -> str:
    """Everything the program showed (and the terminal echoed) so far."""
    log = child.logfile_read
    return log.getvalue() if isinstance(log, io.StringIO) else ""


def answer(child: pexpect.spawn, prompt: str, reply: str) -> None:
    """Wait for the whole `prompt` (to the space the cursor waits after), then type
    `reply` and Enter.

    Typing earlier could be lost: a hidden prompt (getpass) flushes what was typed ahead."""
    if not prompt.endswith((": ", "› ")):
        raise ValueError(f"a whole prompt ends with ': ' (or '› '), not {prompt[-5:]!r}")
    child.expect_exact(prompt)
    child.sendline(reply)


def finish(child: pexpect.spawn) -> int:
    """Wait for the program to end; its exit code."""
    child.expect(pexpect.EOF)
    child.close()
    return int(child.exitstatus if child.exitstatus is not None else -1)


@contextmanager
def serving(start: Callable[[], Awaitable[Server]]) -> Iterator[Server]:
    """Run an async fake server (started by `start`, stopped by its `stop()`) on an
    event loop in a thread of its own, for as long as the block lasts."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server: Any = asyncio.run_coroutine_threadsafe(_call(start), loop).result(10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


async def _call(start: Callable[[], Awaitable[Server]]) -> Server:
    return await start()
