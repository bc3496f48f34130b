"""`clawling run`: every configured chat app and background service in one process,
until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal

from bot.app import build_app
from bot.cli.launch import EXIT_CONFIG, err, load, run, sole_process
from bot.settings import Settings

log = logging.getLogger(__name__)


def serve() -> None:
    """Run every configured chat app and background service in one process."""
    run(_serve(load(log_to_file=False, warn_unknown=True)))


async def _serve(settings: Settings) -> int:
    sole = sole_process(settings, "clawling run")
    app = build_app(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await app.prepare_database()
        if not app.outbox.adapters:
            err.print(
                "No chat app is configured. Set TELEGRAM_BOT_TOKEN or SLACK_BOT_TOKEN "
                "(see README), or talk to your assistant here with `clawling chat`."
            )
            return EXIT_CONFIG
        await app.start()
        log.info("running; channels: %s", ", ".join(app.outbox.channels))
        await stop.wait()
        log.info("stopping")
        await app.shutdown()
        return 0
    finally:
        await app.close()
        sole.release()
