"""`/stop` across replicas (PostgreSQL).

`/stop` stops the turn running in this process; when none runs here but another
replica holds the conversation's turn lock (memory/db/turn_lock.py), `ask` stores the
request with the conversation (memory/stops.py) and sends a `stop:<conversation id>`
notice (memory/db/notices.py). The replica running the turn cancels it on the notice,
as a local `/stop` would. A notice is lost when its listener is reconnecting at that
moment, so every replica with turns running also looks at the stored requests every
POLL seconds and cancels a turn whose stop was asked after it started: a lost notice
only delays the stop. Comparing the two times relies on the replicas' clocks agreeing
within a second or so (NTP), as their heartbeats already do (memory/replicas.py).

On SQLite one process runs (memory/db/sole.py): nothing is stored, sent or polled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.chat.repeating import Repeating
from memory.db.notices import Notices
from memory.db.turn_lock import TurnLocks
from memory.stops import StopRequests

log = logging.getLogger(__name__)

POLL = 2.0  # seconds


@dataclass(frozen=True)
class RunningTurn:
    """A turn this process runs: since when (it may have waited for the turn lock)."""

    started_at: datetime
    task: asyncio.Task[object]


class RemoteStops:
    """A `Service`: asks other replicas to stop a turn, and stops this replica's turns
    when asked (told by a notice, or found stored)."""

    def __init__(
        self,
        store: StopRequests,
        turn_locks: TurnLocks,
        notices: Notices,
        *,
        now: Callable[[], datetime],
        poll: float = POLL,
    ) -> None:
        self._store = store
        self._turn_locks = turn_locks
        self._notices = notices
        self._now = now
        self._running: Callable[[], Mapping[int, RunningTurn]] = dict
        self._looking = Repeating(
            self.look, poll, "look for stops asked by other replicas", enabled=turn_locks.shared
        )
        notices.on("stop", self._heard)

    def watch(self, running: Callable[[], Mapping[int, RunningTurn]]) -> None:
        """Where this process's running turns are, by conversation id (the session manager)."""
        self._running = running

    async def ask(self, conversation_id: int) -> bool:
        """Stop the conversation's turn if another replica runs it; False if none does."""
        if not await self._turn_locks.held(conversation_id):
            return False
        await self._store.ask(conversation_id, self._now())
        await self._notices.publish("stop", conversation_id)
        return True

    async def look(self) -> int:
        """Stop the running turns whose stop was stored after they started; how many."""
        running = {cid: turn for cid, turn in self._running().items() if not turn.task.done()}
        if not running:
            return 0
        stopped = 0
        for conversation_id, asked_at in (await self._store.asked(list(running))).items():
            turn = running[conversation_id]
            if asked_at >= turn.started_at and not turn.task.done():
                log.info(
                    "turn in conversation %s stopped from another replica (found stored)",
                    conversation_id,
                )
                turn.task.cancel()
                stopped += 1
        return stopped

    async def start(self) -> None:
        await self._looking.start()

    async def stop(self) -> None:
        await self._looking.stop()

    def _heard(self, key: str) -> None:
        """A `stop:<conversation id>` notice: stop that conversation's turn if it runs here."""
        with contextlib.suppress(ValueError):
            turn = self._running().get(int(key))
            if turn is not None and not turn.task.done():
                log.info("turn in conversation %s stopped from another replica", key)
                turn.task.cancel()
