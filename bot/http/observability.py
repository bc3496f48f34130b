"""/readyz and /metrics on the app's HTTP server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.chat.channels import ReportsConnection
from bot.chat.outbox import Outbox
from bot.chat.sessions import SessionManager
from bot.http.server import HttpServer
from bot.llm.client import LLM
from memory import db

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Gauge:
    name: str
    help: str
    labels: dict[str, str]
    value: float


# Extra numbers computed on each scrape (e.g. task counts from the database).
GaugeSource = Callable[[], Awaitable[list[Gauge]]]

# A task step is one model call and its tool calls: seconds, sometimes minutes.
STEP_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600)


class _Collector(Collector):
    def __init__(self, sessions: SessionManager, llm: LLM) -> None:
        self._sessions = sessions
        self._llm = llm
        self.extra: list[Gauge] = []

    def collect(self) -> Iterator[Metric]:
        s, m = self._sessions.stats, self._llm.stats
        turns = CounterMetricFamily("clawling_turns", "Answered turns", labels=["outcome"])
        turns.add_metric(["answered"], s.turns)
        turns.add_metric(["failed"], s.failed_turns)
        turns.add_metric(["stopped"], s.stopped_turns)
        yield turns
        yield CounterMetricFamily(
            "clawling_undelivered_replies",
            "Replies the platform refused",
            value=s.undelivered_replies,
        )
        yield GaugeMetricFamily(
            "clawling_running_turns", "Turns running now", value=s.running_turns
        )
        yield GaugeMetricFamily(
            "clawling_queued_turns", "Turns waiting to start", value=self._sessions.queued_turns
        )
        calls = CounterMetricFamily("clawling_llm_calls", "Model requests", labels=["result"])
        calls.add_metric(["ok"], m.calls - m.failed_calls)
        calls.add_metric(["error"], m.failed_calls)
        yield calls
        tokens = CounterMetricFamily("clawling_llm_tokens", "Model tokens", labels=["kind"])
        tokens.add_metric(["prompt"], m.prompt_tokens)
        tokens.add_metric(["completion"], m.completion_tokens)
        tokens.add_metric(["cached"], m.cached_tokens)
        yield tokens
        families: dict[str, GaugeMetricFamily] = {}
        for gauge in self.extra:
            family = families.get(gauge.name)
            if family is None:
                family = families[gauge.name] = GaugeMetricFamily(
                    gauge.name, gauge.help, labels=sorted(gauge.labels)
                )
            family.add_metric([gauge.labels[k] for k in sorted(gauge.labels)], gauge.value)
        yield from families.values()


class Observability:
    """Readiness and metrics endpoints, reading the live app."""

    def __init__(
        self, engine: AsyncEngine, outbox: Outbox, sessions: SessionManager, llm: LLM
    ) -> None:
        self._engine = engine
        self._outbox = outbox
        self._registry = CollectorRegistry(auto_describe=False)
        self._collector = _Collector(sessions, llm)
        self._registry.register(self._collector)
        # How long task steps took in this process (a worker, or a leader without one).
        self.step_seconds = Histogram(
            "clawling_task_step_seconds",
            "Task steps run in this process, by duration",
            buckets=STEP_BUCKETS,
            registry=self._registry,
        )
        # False in a `clawling worker`: it connects no chat app, so none is awaited.
        self.watches_chat_apps = True
        self.gauge_sources: list[GaugeSource] = []
        # More things the app needs (the task queue): each says what is wrong, or None.
        self.readiness_checks: list[Callable[[], Awaitable[str | None]]] = []
        self._schema_current = False

    def install(self, http: HttpServer) -> None:
        http.add_route("GET", "/readyz", self.readyz)
        http.add_route("GET", "/metrics", self.metrics)

    async def problems(self) -> list[str]:
        """Why the app is not ready to serve; empty when it is."""
        problems = []
        try:
            await db.check_reachable(self._engine, within=3)
            if not self._schema_current:
                current = await db.current_revision(self._engine)
                self._schema_current = current == db.head_revision()
                if not self._schema_current:
                    problems.append(f"database schema at {current}, expected {db.head_revision()}")
        except db.DatabaseUnavailable as exc:
            # The reason only: /readyz may be public (behind the webhook proxy), and the
            # URL names the database's host and user.
            problems.append(f"database unreachable: {exc.reason}")
        for adapter in self._outbox.adapters if self.watches_chat_apps else []:
            if isinstance(adapter, ReportsConnection) and not adapter.is_connected():
                problems.append(f"{adapter.name} is not connected")
        for check in self.readiness_checks:
            problem = await check()
            if problem is not None:
                problems.append(problem)
        return problems

    async def readyz(self, _request: web.Request) -> web.Response:
        problems = await self.problems()
        status = 503 if problems else 200
        return web.json_response({"ready": not problems, "problems": problems}, status=status)

    async def metrics(self, _request: web.Request) -> web.Response:
        extra: list[Gauge] = []
        for source in self.gauge_sources:
            try:
                async with asyncio.timeout(5):
                    extra.extend(await source())
            except Exception:  # a broken source must not take the other metrics down
                log.exception("metrics source failed")
        self._collector.extra = extra
        body = generate_latest(self._registry)
        return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4"})
