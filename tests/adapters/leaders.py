"""What a `clawling run` replica says about its roles, read over its HTTP server."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable

import aiohttp


async def receives(http: aiohttp.ClientSession, port: int) -> bool:
    """Its /metrics: does it hold the receivers' role (polling, Socket Mode)?"""
    async with http.get(f"http://127.0.0.1:{port}/metrics") as answer:
        body = await answer.text()
    found = re.search(r'^clawling_leader\{role="receivers"\} (\S+)$', body, re.MULTILINE)
    if found is None:
        raise AssertionError(f"no receivers' gauge in /metrics:\n{body}")
    return float(found.group(1)) == 1.0


async def ready(http: aiohttp.ClientSession, port: int) -> bool:
    async with http.get(f"http://127.0.0.1:{port}/readyz") as answer:
        return answer.status == 200


async def wait_until(condition: Callable[[], Awaitable[bool]], within: float) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.1)
