"""The deliverer: sends queued messages (reminders, task results, and answers a turn could
not show) exactly once.

Runs in every process. It sends only to channels this process has connected,
so a reminder fired by `clawling run` for the terminal waits until a
`clawling chat` is open (and vice versa). `notify()` wakes it at once after a
local write; otherwise it looks every POLL_SECONDS.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta

from bot.chat.channels import Button, ChatRef
from bot.chat.outbox import Outbox
from bot.errors import TransportError
from memory.deliveries import DeliveryRecord, DeliveryStore

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0
# With one attempt per poll this keeps trying for about ten minutes.
MAX_ATTEMPTS = 300
# A row claimed this long ago by a process that never marked it sent: that
# process died mid-send. Re-sending risks one duplicate; dropping would lose it.
STALE_CLAIM = timedelta(minutes=2)
# How often to look for such rows, and for rows of a replica that went silent
# (memory/replicas.py: LIVE); a process restarted at once finds its own rows too young
# at start-up.
STALE_CHECK_EVERY = timedelta(seconds=5)


class Deliverer:
    """A `Service`: flushes pending deliveries for the channels in the outbox."""

    def __init__(self, store: DeliveryStore, outbox: Outbox, *, poll: float = POLL_SECONDS) -> None:
        self._store = store
        self._outbox = outbox
        self._poll = poll
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def notify(self) -> None:
        """Something was queued: look now rather than at the next poll."""
        self._wake.set()

    async def start(self) -> None:
        await self._store.release_stale(STALE_CLAIM)
        self._loop_task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None

    async def flush(self) -> int:
        """Send everything pending for the connected channels; returns how many were sent."""
        channels = [adapter.name for adapter in self._outbox.adapters]
        sent = 0
        async with self._lock:
            while True:
                batch = await self._store.claim(channels)
                if not batch:
                    return sent
                done = 0
                for delivery in batch:
                    done += await self._send(delivery)
                sent += done
                if done < len(batch):
                    return sent  # a platform refused: try the rest at the next poll

    async def _send(self, delivery: DeliveryRecord) -> int:
        chat = ChatRef(delivery.channel, delivery.chat_id, delivery.thread_id)
        buttons = tuple(Button(label, command) for label, command in delivery.buttons)
        try:
            if delivery.to_account:
                chat = await self._outbox.direct_chat(delivery.channel, delivery.chat_id)
            ref = await self._outbox.send(chat, delivery.text, buttons=buttons)
        except Exception as exc:  # noqa: BLE001 - a broken adapter must not wedge the queue
            give_up = delivery.attempts >= MAX_ATTEMPTS
            log.warning(
                "delivery %s to %s failed (attempt %s)%s: %s",
                delivery.key,
                chat,
                delivery.attempts,
                "; giving up" if give_up else "",
                exc,
                exc_info=not isinstance(exc, TransportError),
            )
            await self._store.release(delivery.id, give_up=give_up)
            return 0
        await self._store.mark_sent(delivery.id, ref.message_id)
        return 1

    async def _run(self) -> None:
        checked = time.monotonic()
        while True:
            try:
                if time.monotonic() - checked > STALE_CHECK_EVERY.total_seconds():
                    checked = time.monotonic()
                    await self._store.release_stale(STALE_CLAIM)
                sent = await self.flush()
                if sent:
                    log.debug("delivered %s background messages", sent)
            except Exception:
                log.exception("delivering background messages failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll)
            self._wake.clear()


class SentMarks:
    """Answers their turn has shown, marked sent as soon as possible.

    A turn's answer is a delivery row the turn claimed (memory/deliveries.py); once it
    is shown it must be marked sent, or it would be sent again after a restart — or by
    another replica once this one is gone (memory/replicas.py). Between the send and
    its mark lies the one window where an answer can arrive twice: a process killed
    there. Chat platforms take no idempotency key, so the window can be narrowed, not
    closed. With several processes (PostgreSQL) each mark is written at once, without
    waiting for the WAL flush (~1 ms); marks taken while one is being written go
    together in the next. With one process (SQLite) a restart is the only way to
    re-send, and one transaction per answer cost about 5 % of a turn
    (bench/turn_instructions.py), so marks wait BATCH_SECONDS and go in one
    transaction. Stopping writes what is left (`flush`).
    """

    BATCH_SECONDS = 0.02

    def __init__(self, store: DeliveryStore) -> None:
        self._store = store
        self._wait = 0.0 if store.shared else self.BATCH_SECONDS
        self._pending: list[tuple[str, str]] = []
        self._writer: asyncio.Task[None] | None = None

    def add(self, key: str, message_id: str) -> None:
        self._pending.append((key, message_id))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write())

    async def flush(self) -> None:
        """Write every mark taken so far."""
        while self._writer is not None:
            await asyncio.shield(self._writer)

    async def _write(self) -> None:
        try:
            if self._wait:
                await asyncio.sleep(self._wait)
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    await self._store.mark_sent_by_key(batch)
                except Exception:
                    # Left 'sending': sent again once stale (a duplicate, never a loss).
                    log.exception("could not mark %d answers as sent", len(batch))
        finally:
            self._writer = None
