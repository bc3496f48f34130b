"""`clawling worker`: runs background task steps from the queue (CLAWLING_QUEUE_URL), as
many processes as you like, on any machine that reaches the database and the queue.

It reads the same settings as `clawling run` and builds the same assistant (model,
tools, safety rules, budgets), but connects no chat app and leads nothing: the leader
among the `clawling run` replicas hands it steps, and the replicas send the messages its
steps write. SIGTERM or SIGINT let the steps in flight finish; a worker that is killed
instead has its step run again by another worker (memory/db/queue.py).

Like a replica it serves /healthz, /readyz (the database and the queue answer; no chat
app is awaited) and /metrics (queue depth, step durations, leader roles: none) on
CLAWLING_HTTP_PORT, or `--http-port` when several workers share a machine (0: any free
port, named in the log).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from typing import Annotated

import typer

from bot.app import build_app
from bot.cli.launch import EXIT_CONFIG, EXIT_DATABASE, err, load, redact, run
from bot.errors import StartupFailure
from bot.settings import Settings

log = logging.getLogger(__name__)


def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=200,
            help="Steps at once in this process (default: CLAWLING_TASK_CONCURRENCY).",
        ),
    ] = None,
    http_port: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=65535,
            help="Port of /healthz, /readyz and /metrics (default: CLAWLING_HTTP_PORT; "
            "0: any free port).",
        ),
    ] = None,
) -> None:
    """Run background task steps from the queue named by CLAWLING_QUEUE_URL."""
    run(_work(load(log_to_file=False, warn_unknown=True), concurrency, http_port))


async def _work(settings: Settings, concurrency: int | None, http_port: int | None) -> int:
    if settings.core.queue_url is None:
        err.print(
            "CLAWLING_QUEUE_URL is not set, so `clawling run` runs background work itself "
            "and there is nothing for a worker to do. Fix: set CLAWLING_QUEUE_URL to the "
            "PostgreSQL database's URL for `clawling run` and `clawling worker` alike."
        )
        return EXIT_CONFIG
    app = build_app(settings)
    queue = app.background.queue
    if queue is None:  # pragma: no cover - built whenever the setting is
        raise RuntimeError("the queue was not built")
    app.observability.watches_chat_apps = False
    if http_port is not None:
        app.http.requested_port = http_port
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await app.prepare_database()
        problem = await queue.problem(tables=False)
        if problem is not None:
            err.print(
                f"The task queue (CLAWLING_QUEUE_URL) cannot be used: {redact(problem)}. Fix: "
                "start its PostgreSQL or correct CLAWLING_QUEUE_URL."
            )
            return EXIT_DATABASE
        # The heartbeat (what this process holds is its own while it beats) and the MCP
        # servers; not the scheduler or the deliverer, which belong to the replicas.
        await app.start_services(leaving_out=app.background.services)
        try:
            await app.start_http()
        except StartupFailure as exc:
            raise StartupFailure(
                f"{exc} Several workers on one machine: give each its own with "
                "`clawling worker --http-port N`."
            ) from None
        steps = concurrency or settings.core.task_concurrency
        name = f"{socket.gethostname()}-{os.getpid()}"
        work = asyncio.create_task(
            queue.work(app.background.runner.run_step, concurrency=steps, name=name)
        )
        waiting = asyncio.create_task(stop.wait())
        log.info("worker %s running %s steps at once from the queue", name, steps)
        await asyncio.wait({work, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if not work.done():
            log.info("stopping; steps in flight finish first")
            work.cancel()
        waiting.cancel()
        await asyncio.gather(work, return_exceptions=True)
        if not work.cancelled():
            work.result()  # the worker stopped by itself: its failure, raised
        return 0
    finally:
        await app.close()
