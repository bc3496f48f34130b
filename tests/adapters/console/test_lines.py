"""Reading typed lines on the event loop: from a pipe (as a terminal delivers them,
in pieces), from a file, and a read that is called off (Ctrl-C at the prompt)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from adapters.console.lines import LineReader


async def test_lines_arriving_in_pieces_are_read_whole_until_the_end() -> None:
    read_end, write_end = os.pipe()
    try:
        reader = LineReader(read_end)
        first = asyncio.ensure_future(reader.read())
        for piece in (b"hel", b"lo\nw\xc3", b"\xa9rld\nlast without newline"):
            os.write(write_end, piece)
            await asyncio.sleep(0.01)
        assert await first == "hello"
        os.close(write_end)
        write_end = -1
        assert await reader.read() == "wérld"
        assert await reader.read() == "last without newline"
        assert await reader.read() is None
    finally:
        os.close(read_end)
        if write_end != -1:
            os.close(write_end)


async def test_a_cancelled_read_leaves_the_reader_usable() -> None:
    read_end, write_end = os.pipe()
    try:
        reader = LineReader(read_end)
        waiting = asyncio.ensure_future(reader.read())
        await asyncio.sleep(0.01)
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        assert waiting.cancelled()
        os.write(write_end, b"typed later\n")
        assert await asyncio.wait_for(reader.read(), 5) == "typed later"
    finally:
        os.close(read_end)
        os.close(write_end)


async def test_a_file_given_as_input_is_read_to_its_end(tmp_path: Path) -> None:
    script = tmp_path / "script.txt"
    script.write_bytes(b"one\ntwo\n")
    fd = os.open(script, os.O_RDONLY)  # the event loop cannot watch a regular file
    try:
        reader = LineReader(fd)
        assert [await reader.read(), await reader.read(), await reader.read()] == [
            "one",
            "two",
            None,
        ]
    finally:
        os.close(fd)
