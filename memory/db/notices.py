"""Small notices between the replicas on one PostgreSQL database: "this changed".

A replica keeps things in memory that another replica may change in SQL: the people it
let in a moment ago, the approval its turn waits for, the turn it is running. When one
replica changes such a thing it says so on one channel (`NOTIFY clawling_changes`,
payload `kind:key`, e.g. `people:12`, `approval:7`, `stop:31`), and every replica,
itself included, hands the key to what registered for the kind.

The rules:
- A notice is a hint, never the data: receivers read SQL (or drop a cache entry and let
  the next read go to SQL). So a duplicate or a notice about one's own change is
  harmless.
- Notices can be lost (the listening connection drops; PostgreSQL keeps nothing for a
  listener that is not there). Every use therefore has a fallback that only delays:
  caches keep their time limits, waiting approvals are read again every few seconds.
  After a reconnect, `on_resumed` handlers drop what they hold, since anything may have
  changed while nobody listened.
- One listening connection per process, outside every pool, reconnected with a
  growing pause when it breaks. Sending uses the ordinary engine.
- On SQLite there is one process per database (memory/db/sole.py): nothing is sent or
  listened to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

CHANNEL = "clawling_changes"
# How often the listening connection is asked whether it is still there: a connection
# cut without a word (a dead host, a firewall) is otherwise noticed only by TCP.
CHECK_EVERY = 5.0
FIRST_PAUSE = 0.2
LONGEST_PAUSE = 5.0
# PostgreSQL refuses payloads of 8,000 bytes or more; keys are ids, far below.
MAX_PAYLOAD = 1000

Handler = Callable[[str], None]

_NOTIFY = text("SELECT pg_notify(:channel, :payload)")


class Notices:
    """`publish(kind, key)` to every replica; `on(kind, handler)` to hear them. A `Service`
    (start, stop) in `clawling run`."""

    def __init__(self, engine: AsyncEngine, name: str = "clawling") -> None:
        self._engine = engine
        self.shared = engine.dialect.name == "postgresql"
        self.name = name[:60]  # the listening connection's application_name
        self._handlers: dict[str, list[Handler]] = {}
        self._resumed: list[Callable[[], None]] = []
        self._task: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self.listening = asyncio.Event()
        self.received = 0

    def on(self, kind: str, handler: Handler) -> None:
        """Call `handler(key)` for every `kind:key` notice (from any replica, this one too)."""
        self._handlers.setdefault(kind, []).append(handler)

    def on_resumed(self, handler: Callable[[], None]) -> None:
        """Call `handler()` when listening resumes after a break (notices were lost)."""
        self._resumed.append(handler)

    async def publish(self, kind: str, key: object) -> None:
        """Tell every replica that `kind:key` changed. Never fails its caller: the
        change is made already, and a lost notice only delays (see the module's rules)."""
        if not self.shared:
            return
        payload = f"{kind}:{key}"[:MAX_PAYLOAD]
        try:
            async with self._engine.begin() as connection:
                await connection.execute(_NOTIFY, {"channel": CHANNEL, "payload": payload})
        except Exception as exc:  # noqa: BLE001 - see the docstring
            log.warning("could not tell the other replicas %r changed: %s", payload, exc)

    def announce(self, kind: str, key: object) -> None:
        """`publish` without waiting, for callers that cannot await (listeners)."""
        if not self.shared:
            return
        task = asyncio.get_running_loop().create_task(self.publish(kind, key))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def start(self) -> None:
        if not self.shared or self._task is not None:
            return
        self._task = asyncio.create_task(self._listen_forever())
        # Most of the time the first connection is there at once; if not, start anyway
        # (the fallbacks cover the gap) rather than hold up the replica.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await self.listening.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)

    def _dispatch(self, payload: str) -> None:
        self.received += 1
        kind, _, key = payload.partition(":")
        for handler in self._handlers.get(kind, ()):
            try:
                handler(key)
            except Exception:
                log.exception("a handler of %r notices failed", kind)

    async def _listen_forever(self) -> None:
        engine = create_async_engine(
            self._engine.url,
            poolclass=NullPool,
            connect_args={"server_settings": {"application_name": self.name}},
        )
        pause = FIRST_PAUSE
        broken_before = False
        try:
            while True:
                try:
                    await self._listen(engine, resumed=broken_before)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - reconnect whatever broke
                    if not broken_before:
                        log.warning("stopped hearing other replicas' changes: %s", exc)
                if self.listening.is_set():
                    pause = FIRST_PAUSE  # it was up: try again soon
                broken_before = True
                self.listening.clear()
                await asyncio.sleep(pause)
                pause = min(2 * pause, LONGEST_PAUSE)
        finally:
            self.listening.clear()
            await engine.dispose()

    async def _listen(self, engine: AsyncEngine, *, resumed: bool) -> None:
        async with engine.connect() as connection:
            raw = (await connection.get_raw_connection()).driver_connection
            if raw is None:
                raise RuntimeError("no driver connection")
            closed = asyncio.Event()

            def on_notice(_c: Any, _pid: int, _channel: str, payload: str) -> None:
                self._dispatch(payload)

            raw.add_termination_listener(lambda _c: closed.set())
            await raw.add_listener(CHANNEL, on_notice)
            self.listening.set()
            if resumed:
                log.info("hearing other replicas' changes again")
                for handler in self._resumed:
                    handler()
            while not closed.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(CHECK_EVERY):
                        await closed.wait()
                if not closed.is_set():
                    await raw.fetchval("SELECT 1")
            raise ConnectionError("the listening connection closed")
