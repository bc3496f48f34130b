"""What the Health page shows: each part of the running assistant, whether it is well,
and, when it is not, what to do.

The same facts /readyz and `clawling doctor` use (the database answers, the schema is at
the code's head, each chat app reports its connection, the model endpoint answers a tiny
request: bot/http/probes.py), plus what only the live process knows: turns waiting for a
slot, tasks running, failed model calls in the last hour, and whether this process is the
background leader. Every probe has a short time limit and they run at once, so the page
answers within a few seconds even when the database or the model server does not; the
model probe (a real request) is asked at most once a minute.

Nothing here shows a secret: the database is named by `safe_url`, the endpoint by
`mask_url`, and error texts pass through `redact`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from openai import AsyncOpenAI
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.chat.channels import ReportsConnection
from bot.chat.outbox import Outbox
from bot.chat.sessions import SessionManager
from bot.http.probes import Probe, probe_model
from bot.safety.redact import Redactor, secrets_in
from bot.settings import Settings
from memory import db
from memory.failures import FailureStore
from memory.tasks import QUEUED, RUNNING, TaskStore

log = logging.getLogger(__name__)
T = TypeVar("T")
OK, WARN, BAD = "ok", "warn", "bad"
DATABASE_WITHIN = 2.0  # seconds
MODEL_WITHIN = 5.0
MODEL_AGAIN_AFTER = 60.0  # a model probe is a real request: not one per page view
ERRORS_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class Status:
    """One part: its name, ok/warn/bad, what was found (lines) and what to do."""

    name: str
    state: str
    found: list[str]
    fix: str = ""


@dataclass
class _Remembered:
    probe: Probe | None = None
    at: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@functools.cache
def _head() -> str | None:
    """The code's newest migration (read from the files once: it cannot change while the
    process runs)."""
    return db.head_revision()


class Health:
    def __init__(
        self,
        settings: Settings,
        engine: AsyncEngine,
        outbox: Outbox,
        sessions: SessionManager,
        client: AsyncOpenAI,
        tasks: TaskStore,
        leading: Callable[[], bool],
        now: Callable[[], datetime],
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._outbox = outbox
        self._sessions = sessions
        self._client = client
        self._tasks = tasks
        self._leading = leading
        self._now = now
        self._failures = FailureStore(engine)
        self._model = _Remembered()
        self._redact = Redactor(secrets_in(settings))

    async def report(self) -> list[Status]:
        """Every part, in the page's order."""
        database, schema = await self._database()
        model, errors, queue = await asyncio.gather(
            self._model_status(), self._errors(), self._queue()
        )
        return [*self._channels(), database, schema, model, queue, errors, self._leader()]

    def _channels(self) -> list[Status]:
        adapters = self._outbox.adapters
        if not adapters:
            return [
                Status(
                    "Chat apps",
                    WARN,
                    ["None configured: nobody can reach the assistant from a chat app."],
                    "Set TELEGRAM_BOT_TOKEN or SLACK_BOT_TOKEN and restart.",
                )
            ]
        statuses = []
        for adapter in adapters:
            name = adapter.name.capitalize()
            if not isinstance(adapter, ReportsConnection):
                statuses.append(Status(name, OK, ["Running (it does not report a connection)."]))
            elif adapter.is_connected():
                statuses.append(Status(name, OK, ["Connected."]))
            else:
                statuses.append(
                    Status(
                        name,
                        BAD,
                        ["Not connected: messages from it are not arriving."],
                        "It keeps retrying by itself. If it stays down, check the network and "
                        "the app's token (`clawling doctor` tests it), and read the log.",
                    )
                )
        return statuses

    async def _database(self) -> tuple[Status, Status]:
        url = db.async_url(self._settings.database_url)
        kind = "PostgreSQL" if url.get_backend_name() == "postgresql" else "SQLite"
        where = db.safe_url(self._settings.database_url)
        try:
            await db.check_reachable(self._engine, within=DATABASE_WITHIN)
            async with asyncio.timeout(DATABASE_WITHIN):
                current = await db.current_revision(self._engine)
        except db.DatabaseUnavailable as exc:
            return (
                Status(
                    "Database",
                    BAD,
                    [f"{kind} at {where}", f"Unreachable: {self._redact(exc.reason)}"],
                    "Start the database, or correct CLAWLING_DATABASE_URL and restart.",
                ),
                Status("Migrations", WARN, ["Unknown: the database does not answer."]),
            )
        except TimeoutError:
            return (
                Status(
                    "Database",
                    BAD,
                    [f"{kind} at {where}", f"Reading the schema took over {DATABASE_WITHIN:g} s."],
                    "The database is overloaded or locked; look at its load and the log.",
                ),
                Status("Migrations", WARN, ["Unknown: the database did not answer in time."]),
            )
        database = Status("Database", OK, [f"{kind} at {where}", "Reachable."])
        head = _head()
        if current == head:
            return database, Status("Migrations", OK, [f"At {head}, the code's newest."])
        return database, Status(
            "Migrations",
            BAD,
            [f"The database is at {current or 'no revision'}; the code expects {head}."],
            "Run `clawling db upgrade` (start-up also applies them), then restart.",
        )

    async def _model_status(self) -> Status:
        probe, age = await self._probe()
        checked = f"Checked {int(age)} s ago." if age >= 1 else "Checked just now."
        models = ", ".join(self._settings.models)
        if probe.ok:
            return Status(
                "Model endpoint", OK, [self._redact(probe.detail), f"Models: {models}", checked]
            )
        return Status(
            "Model endpoint",
            BAD,
            [self._redact(probe.detail), f"Models: {models}", checked],
            self._redact(probe.fix),
        )

    async def _probe(self) -> tuple[Probe, float]:
        """The latest probe and its age in seconds, asking again when it is a minute old
        (concurrent page views wait for one probe)."""
        memo = self._model
        async with memo.lock:
            if memo.probe is None or time.monotonic() - memo.at >= MODEL_AGAIN_AFTER:
                memo.probe = await probe_model(self._settings, self._client, within=MODEL_WITHIN)
                memo.at = time.monotonic()
            return memo.probe, time.monotonic() - memo.at

    async def _queue(self) -> Status:
        turns = self._sessions.queued_turns
        running = self._sessions.stats.running_turns
        counts = await _within(self._tasks.count_by_status(), DATABASE_WITHIN)
        found = [f"Turns answering now: {running}; waiting for a free slot: {turns}."]
        if counts is None:
            return Status("Queue", WARN, [*found, "Tasks: unknown (the database did not answer)."])
        found.append(
            f"Background tasks running: {counts.get(RUNNING, 0)}; queued: {counts.get(QUEUED, 0)}."
        )
        slots = self._settings.core.max_concurrent_turns
        if turns > slots:
            return Status(
                "Queue",
                WARN,
                found,
                f"More turns wait than run at once ({slots}): the model is slow or busy. "
                "Raise CLAWLING_MAX_CONCURRENT_TURNS if the model server can take more.",
            )
        return Status("Queue", OK, found)

    async def _errors(self) -> Status:
        since = self._now() - ERRORS_WINDOW
        calls = await _within(self._failures.model_calls_since(since), DATABASE_WITHIN)
        failed_turns = self._sessions.stats.failed_turns
        turns = f"Turns that failed since this process started: {failed_turns}."
        if calls is None:
            return Status(
                "Errors, last hour", WARN, ["Unknown (the database did not answer).", turns]
            )
        found = [f"Failed model calls: {calls.failed} of {calls.calls}.", turns]
        if not calls.failed:
            return Status("Errors, last hour", OK if not failed_turns else WARN, found)
        latest = self._redact(calls.last_error or "no error text")
        found.append(f"Latest ({calls.last_model}): {latest}")
        state = BAD if calls.failed == calls.calls else WARN
        return Status(
            "Errors, last hour",
            state,
            found,
            "The model endpoint check above says whether it answers now; the log has each "
            "failure in full.",
        )

    def _leader(self) -> Status:
        if self._leading():
            return Status(
                "Background leader", OK, ["This process runs the scheduler and the tasks."]
            )
        return Status(
            "Background leader",
            WARN,
            [
                "Not this process: another process holds the leader's lock, or this one "
                "is waiting for it. Reminders, jobs and tasks run only in the leader."
            ],
            "If no other `clawling run` is running, they are waiting: look at the log for "
            "the scheduler lock, and restart.",
        )


async def _within(work: Awaitable[T], seconds: float) -> T | None:
    """The answer, or None when it takes longer than `seconds` or fails (the database
    part of the page says why)."""
    try:
        async with asyncio.timeout(seconds):
            return await work
    except Exception:  # noqa: BLE001 - the page reports "unknown", the log has the cause
        log.warning("a health probe failed", exc_info=True)
        return None
