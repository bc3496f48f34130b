"""A `Service` that runs one action every few seconds: the looks a replica takes at what
other replicas left or asked (bot/chat/stops.py, the session manager's orphans)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Repeating:
    """Runs `action` every `every` seconds from `start()` to `stop()`; a failure is
    logged and the next run tries again. `enabled=False`: `start()` does nothing."""

    def __init__(
        self,
        action: Callable[[], Awaitable[object]],
        every: float,
        what: str,
        *,
        enabled: bool = True,
    ) -> None:
        self._action = action
        self._every = every
        self._what = what
        self._enabled = enabled
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._enabled:
            self._task = asyncio.create_task(self._repeat())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _repeat(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                await self._action()
            except Exception as exc:  # noqa: BLE001 - the next run tries again
                log.warning("could not %s: %s", self._what, exc)
