"""Reading the lines the person types, on the event loop.

The obvious way, `asyncio.to_thread(input)`, leaves a read blocked in a thread
that nothing can call off: Ctrl-C at the prompt could not end the chat, and
leaving would wait for one more line before the process could exit. Here the
loop watches standard input and reads only what is there, so a read is cancelled
like any other await. The terminal still edits the line (its normal "cooked"
mode): a line arrives when Enter is pressed; Ctrl-D on an empty line ends input.
"""

from __future__ import annotations

import asyncio
import os

CHUNK = 65536


class LineReader:
    """Lines from a file descriptor (a terminal, a pipe, or a file), one at a time."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = b""
        self._ended = False

    async def read(self) -> str | None:
        """The next line without its newline; None at the end of input."""
        while b"\n" not in self._buffer and not self._ended:
            chunk = await self._chunk()
            self._ended = not chunk
            self._buffer += chunk
        if not self._buffer:
            return None
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode(errors="replace")

    async def _chunk(self) -> bytes:
        loop = asyncio.get_running_loop()
        while True:
            ready: asyncio.Future[None] = loop.create_future()
            try:
                loop.add_reader(self._fd, _wake, ready)
            except PermissionError:
                # A regular file cannot be watched, and reading it never blocks.
                return os.read(self._fd, CHUNK)
            try:
                await ready
            finally:
                loop.remove_reader(self._fd)
            try:
                return os.read(self._fd, CHUNK)
            except BlockingIOError:
                continue  # someone else read it first (stdin shared, set non-blocking)


def _wake(ready: asyncio.Future[None]) -> None:
    if not ready.done():
        ready.set_result(None)
