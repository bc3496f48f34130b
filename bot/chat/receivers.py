"""Who receives: the one process that holds the chat apps' receiving connections.

Telegram's long polling and Slack's Socket Mode are connections one process per bot
may hold: two pollers are answered 409 by turns, and two Socket Mode connections
each get every event. Webhooks and Slack's HTTP mode need none of this; every
replica serves them. So adapters in those modes are built with their receiving left
off (`SoleReceiver`), and `Receivers` turns it on in the process that holds a lock of
its own (memory/db/leader.py, `RECEIVERS_KEY`); the others try again every `RETRY`
seconds. A holder killed with SIGKILL drops its database connection and the lock with
it, so another replica receives within `RETRY` seconds; what was sent meanwhile
waits on the platform's side (Telegram keeps updates until a later offset confirms
them). On SQLite the lock is a file lock nobody else can want (one process per
database): the process receives from the start, as it always did.

Not the background leader's lock: that one is retried every 10 s (a scheduler that
takes over late fires the missed jobs late), a silent chat is noticed sooner; and
the two jobs are unrelated — a replica whose scheduler failed to start can still
receive, and the work spreads over two replicas when it can.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from bot.chat.channels import SoleReceiver

log = logging.getLogger(__name__)

RETRY = 2.0  # seconds between a standby's tries, and between the holder's checks


class Lock(Protocol):
    """memory/db/leader.py's `Leadership`."""

    async def try_acquire(self) -> bool: ...

    async def still_held(self) -> bool: ...

    async def release(self) -> None: ...


class Receivers:
    """Started by `App.start` after the adapters (which it turns receiving on and off)."""

    def __init__(self, lock: Lock, *, retry: float = RETRY) -> None:
        self._lock = lock
        self._retry = retry
        self.adapters: list[SoleReceiver] = []
        self._watching: asyncio.Task[None] | None = None
        self.receiving = False

    async def start(self) -> None:
        if not self.adapters:
            return  # nothing to hold: no lock, no connection
        await self._try(at_start=True)
        self._watching = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        if self._watching is not None:
            self._watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watching
            self._watching = None
        await self._step_down()

    async def _try(self, *, at_start: bool = False) -> None:
        """Receive if the lock is free. A failure at start stops start-up, as an
        adapter's own start would; later ones leave the lock to another replica."""
        if not await self._lock.try_acquire():
            return
        started: list[SoleReceiver] = []
        try:
            for adapter in self.adapters:
                await adapter.start_receiving()
                started.append(adapter)
        except Exception:
            for adapter in reversed(started):
                await _quietly_stop(adapter)
            await self._lock.release()
            if at_start:
                raise
            log.exception("could not start receiving; letting another replica try")
            return
        self.receiving = True
        log.info("this process receives the chat apps' messages (polling, Socket Mode)")

    async def _step_down(self) -> None:
        if self.receiving:
            self.receiving = False
            for adapter in reversed(self.adapters):
                await _quietly_stop(adapter)
        await self._lock.release()

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._retry)
            try:
                if not self.receiving:
                    await self._try()
                elif not await self._lock.still_held():
                    # Another replica may hold it now: two receivers are worse than a
                    # pause of RETRY seconds.
                    log.error("lost the receivers' lock; stopped receiving")
                    await self._step_down()
            except Exception:
                log.exception("the receivers' lock check failed; retrying")


async def _quietly_stop(adapter: SoleReceiver) -> None:
    try:
        await adapter.stop_receiving()
    except Exception:
        log.exception("could not stop receiving")
