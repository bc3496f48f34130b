"""One connection to an MCP server, kept up: opened, watched, and opened again after it
drops, with backoff.

What a link promises:
- A caller gets the open session at once, or waits (at most `connect_timeout`) only
  while the first attempt is still under way; after that, a link that is down answers
  at once with why and when it retries — a tool call never hangs on a dead server.
- A dropped connection is noticed by the call that hits it (`lost()`) or by the idle
  check every `check_every` seconds, whichever comes first.
- Attempts back off from 1 s, doubling, to at most a minute; a connection that stayed
  up for a minute starts over from 1 s. The first failure and every recovery are
  logged as warnings, the retries in between only at debug level.
- `on_up` runs each time a connection opens (within the connect timeout), before any
  caller gets the session; a failure there counts as a failed attempt.
- The SDK's session is entered and left by the link's own task, as its task groups
  require.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from mcp import Client

log = logging.getLogger(__name__)

FIRST_DELAY = 1.0
MAX_DELAY = 60.0
STABLE_AFTER = 60.0

Connect = Callable[[], AbstractAsyncContextManager[Client]]


class Unavailable(Exception):
    """The server cannot be used right now; the message says why and when it retries."""


@dataclass
class _Down:
    reason: str
    retry_at: float


class Link:
    """A supervised connection to one server for one session key."""

    def __init__(
        self,
        label: str,
        connect: Connect,
        *,
        connect_timeout: float,
        check_every: float = 30.0,
        on_up: Callable[[Client], Awaitable[None]] | None = None,
    ) -> None:
        self._label = label
        self._connect = connect
        self._connect_timeout = connect_timeout
        self._check_every = check_every
        self._on_up = on_up
        self._client: Client | None = None
        self._down: _Down | None = None
        self._changed = asyncio.Event()  # set on every change of state
        self._lost = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.failures = 0  # attempts that failed since the last time it was up

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._keep(), name=f"mcp {self._label}")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._task), 10)
            if not self._task.done():
                self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    @property
    def up(self) -> bool:
        return self._client is not None

    @property
    def reason(self) -> str | None:
        """Why the link is down, or None while it is up or still connecting."""
        return self._down.reason if self._down is not None else None

    async def first_outcome(self) -> None:
        """Wait until the first attempt has connected or failed."""
        self.start()
        while self._client is None and self._down is None:
            self._changed.clear()
            await self._changed.wait()

    async def client(self) -> Client:
        """The open session; raises Unavailable while the server is down."""
        self.start()
        if self._client is None and self._down is None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._connect_timeout):
                    await self.first_outcome()
        if self._client is not None:
            return self._client
        if self._down is None:
            raise Unavailable("it did not answer in time; it is being connected again")
        wait = max(0, round(self._down.retry_at - time.monotonic()))
        raise Unavailable(f"{self._down.reason}; the next attempt is in {wait} s")

    def lost(self, client: Client) -> None:
        """A call found `client`'s connection closed: drop it and connect again."""
        if client is self._client:
            self._lost.set()

    async def _keep(self) -> None:
        delay = FIRST_DELAY
        while not self._stopping.is_set():
            connected_at: float | None = None
            reason = "stopped"
            try:
                async with contextlib.AsyncExitStack() as stack:
                    async with asyncio.timeout(self._connect_timeout):
                        client = await stack.enter_async_context(self._connect())
                        if self._on_up is not None:
                            await self._on_up(client)
                    connected_at = time.monotonic()
                    self._set_up(client)
                    reason = await self._watch(client)
            except Exception as exc:  # noqa: BLE001 - any failure means: down, retry later
                reason = _describe(exc)
            self._client = None
            if self._stopping.is_set():
                break
            if connected_at is not None and time.monotonic() - connected_at >= STABLE_AFTER:
                delay = FIRST_DELAY
            self.failures += 1
            level = logging.WARNING if self.failures == 1 else logging.DEBUG
            log.log(
                level, "MCP %s is unavailable (%s); retrying in %.0f s", self._label, reason, delay
            )
            self._set_down(reason, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            delay = min(delay * 2, MAX_DELAY)

    async def _watch(self, client: Client) -> str:
        """Return (with why) once the connection is found dropped, or on stop."""
        self._lost.clear()
        while not self._stopping.is_set():
            waiters = {
                asyncio.ensure_future(self._lost.wait()),
                asyncio.ensure_future(self._stopping.wait()),
            }
            done, pending = await asyncio.wait(
                waiters, timeout=self._check_every, return_when=asyncio.FIRST_COMPLETED
            )
            for waiter in pending:
                waiter.cancel()
            if self._stopping.is_set():
                return "stopped"
            if self._lost.is_set():
                return "the connection closed"
            try:
                async with asyncio.timeout(self._connect_timeout):
                    await client.list_tools()
            except Exception as exc:  # noqa: BLE001 - the check failed: reconnect
                return _describe(exc)
        return "stopped"

    def _set_up(self, client: Client) -> None:
        if self.failures:
            log.warning("MCP %s is connected again", self._label)
        self.failures = 0
        self._client = client
        self._down = None
        self._changed.set()

    def _set_down(self, reason: str, delay: float) -> None:
        self._down = _Down(reason, time.monotonic() + delay)
        self._changed.set()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        return _describe(exc.exceptions[0])
    return str(exc) or type(exc).__name__
