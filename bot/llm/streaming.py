"""Reading a streamed answer: text shown as it grows, a loop cut off, silence noticed.

Two kinds of silence are told apart from an answer, because the request is then asked
again without streaming (bot/llm/client.py) and the real answer or error comes back
through the plain path:

- an empty stream: it ended with no text, no tool call and no finish (llama.cpp
  answers a streamed request over its window so: 200 and nothing), or the connection
  closed before any data came (llama-cpp-python's server does that: 200, then it
  raises the overflow inside the stream and drops the connection);
- no data within the patience given: a server that cannot stream a tool choice sends
  only keep-alive comments (llama-cpp-python with `tool_choice: "auto"`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import httpx2
import openai

from bot.llm.completions import Completion, StreamAccumulator
from bot.llm.repetition import RepetitionWatch, cut

TextCallback = Callable[[str], Awaitable[None]]


class NoData(Exception):
    """The stream brought no answer; `waited` when it was the patience that ran out."""

    def __init__(self, message: str, *, waited: bool) -> None:
        super().__init__(message)
        self.waited = waited


async def read_stream(
    stream: Any, model: str, on_text: TextCallback, patience: float | None
) -> Completion:
    """The completion a stream of chunks (openai's AsyncStream) makes, with `on_text`
    called with the whole text so far as it grows. A first chunk must come within
    `patience` seconds when given. The stream is closed on return."""
    acc = StreamAccumulator()
    try:
        return await _read(acc, stream, model, on_text, patience)
    except _DROPPED as exc:
        if not acc.empty:
            raise
        raise NoData(f"the connection closed before any data ({exc})", waited=False) from exc


# A connection dropped mid-stream, as the HTTP stack reports it.
_DROPPED = (openai.APIConnectionError, httpx2.TransportError, aiohttp.ClientError)


async def _read(
    acc: StreamAccumulator,
    stream: Any,
    model: str,
    on_text: TextCallback,
    patience: float | None,
) -> Completion:
    watch = RepetitionWatch()
    async with stream:
        if patience is not None:
            try:
                async with asyncio.timeout(patience):
                    first = await stream.__anext__()
            except TimeoutError:
                raise NoData(f"no data within {patience:g} s", waited=True) from None
            except StopAsyncIteration:
                raise NoData("the stream ended without data", waited=False) from None
            if await _take(acc, watch, first, on_text):
                return acc.completion(model)
        async for chunk in stream:
            if await _take(acc, watch, chunk, on_text):
                break
    if acc.empty:
        raise NoData("the stream ended without data", waited=False)
    return acc.completion(model)


async def _take(
    acc: StreamAccumulator, watch: RepetitionWatch, chunk: Any, on_text: TextCallback
) -> bool:
    """Add one chunk; True when the answer was cut for repeating itself (stop reading)."""
    if not acc.add(chunk):
        return False
    text = "".join(acc.text)
    start = watch.check(text)
    if start is None:
        await on_text(text)
        return False
    acc.text[:] = [cut(text, start)]
    acc.calls.clear()  # a looping answer's half-written calls are not to be run
    acc.finished = True
    await on_text(acc.text[0])
    return True
