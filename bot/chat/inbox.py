"""The inbox at work: events stored by webhook and HTTP routes, handed to their adapters.

A `Service` in every replica that serves such routes. It claims stored events
(memory/inbox.py: a chat's next one only, a dead replica's leftovers included) and
calls the handler the event's platform subscribed, several chats at once. An event is
marked done when its handler returns or fails (the adapter told its sender; a failing
event retried forever would block its chat); one cancelled by a stop stays claimed, and
another replica, or this one's successor, takes it over.

It looks at once when this replica stored an event or finished one (the chat's next
may wait), and every `poll` seconds for events stored by other replicas or left by
dead ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from bot.chat.channels import InboxHandler
from memory.inbox import KEEP_DONE, InboxStore, NewEvent, StoredEvent

log = logging.getLogger(__name__)

POLL = 2.0  # seconds
AT_ONCE = 64  # events handed on at the same time
STOP_GRACE = 5.0  # seconds for events being handed on when the process stops
PRUNE_EVERY = 3600.0  # seconds


class DurableInbox:
    """`Inbox` (bot/chat/channels.py) on SQL, and the `Service` that empties it."""

    def __init__(
        self,
        store: InboxStore,
        *,
        now: Callable[[], datetime],
        poll: float = POLL,
        at_once: int = AT_ONCE,
    ) -> None:
        self._store = store
        self._now = now
        self._poll = poll
        self._at_once = at_once
        self._handlers: dict[str, InboxHandler] = {}
        self._running: dict[int, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self._pruned = 0.0

    async def put(self, platform: str, event_id: str, chat: str, payload: dict[str, Any]) -> bool:
        stored = await self._store.put(platform, event_id, chat, payload)
        self._wake.set()
        return stored

    async def put_many(self, platform: str, events: Sequence[NewEvent]) -> int:
        stored = await self._store.put_many(platform, events)
        self._wake.set()
        return stored

    def subscribe(self, platform: str, handler: InboxHandler) -> None:
        self._handlers[platform] = handler
        self._wake.set()

    async def waiting(self) -> int:
        """Events stored and not handed on yet, by any replica."""
        return await self._store.waiting()

    async def drain(self) -> None:
        """Wait until no stored event is waiting or being handed on (tests, benchmarks)."""
        while self._running or await self._store.waiting():
            self._wake.set()
            if self._running:
                await asyncio.wait(list(self._running.values()))
            else:
                await asyncio.sleep(0.01)

    async def start(self) -> None:
        self._loop = asyncio.create_task(self._empty())

    async def stop(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
            self._loop = None
        running = list(self._running.values())
        if running:
            await asyncio.wait(running, timeout=STOP_GRACE)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    async def _empty(self) -> None:
        while True:
            self._wake.clear()
            room = self._at_once - len(self._running)
            claimed: list[StoredEvent] = []
            try:
                await self._prune_now_and_then()
                claimed = await self._store.claim(
                    list(self._handlers), limit=room, holding=set(self._running)
                )
            except Exception as exc:  # noqa: BLE001 - the database may be back at the next look
                log.warning("could not look for stored webhook events: %s", exc)
            for event in claimed:
                self._hand_on(event)
            if claimed and len(claimed) == room:
                await asyncio.sleep(0)  # more may wait: look again once these have started
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll):
                    await self._wake.wait()

    def _hand_on(self, event: StoredEvent) -> None:
        task = asyncio.create_task(self._handle(event))
        self._running[event.id] = task

        def finished(_: asyncio.Task[None]) -> None:
            self._running.pop(event.id, None)
            self._wake.set()  # the chat's next event may be waiting for this one

        task.add_done_callback(finished)

    async def _handle(self, event: StoredEvent) -> None:
        try:
            await self._handlers[event.platform](event.payload)
        except Exception:
            log.exception("could not hand on %s event %s", event.platform, event.event_id)
        try:
            await self._store.done(event.id)
        except Exception as exc:  # noqa: BLE001 - claimed again later; handing on twice is harmless
            log.warning("could not mark %s event %s done: %s", event.platform, event.event_id, exc)

    async def _prune_now_and_then(self) -> None:
        if time.monotonic() - self._pruned < PRUNE_EVERY and self._pruned:
            return
        self._pruned = time.monotonic()
        removed = await self._store.prune(self._now() - KEEP_DONE)
        if removed:
            log.debug("forgot %s webhook events handed on over a day ago", removed)
