"""What every `clawling` command shares: settings, logging, and running its work so that
start-up failures end as one line and an exit code, never a traceback."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn

import typer
from rich.console import Console

from bot.app import App, build_app
from bot.errors import ConfigError
from bot.settings import Settings, load_settings
from memory import db

err = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_CONFIG = 2
EXIT_DATABASE = 3


def configure_logging(settings: Settings, *, to_file: bool) -> None:
    level = getattr(logging, settings.core.log_level)
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    if to_file:
        settings.core.data_dir.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(settings.core.data_dir / "clawling.log")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(fmt))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for noisy in ("httpx", "httpx2", "openai", "aiosqlite", "alembic"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def load(*, log_to_file: bool = False) -> Settings:
    """The settings, with logging configured; a bad setting ends the command (exit 2)."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        fail(str(exc), EXIT_CONFIG)
    configure_logging(settings, to_file=log_to_file)
    return settings


def fail(message: str, code: int) -> NoReturn:
    for line in message.splitlines():
        err.print(line, markup=False)
    raise typer.Exit(code)


def run(coro: Coroutine[Any, Any, int | None]) -> NoReturn:
    """Run a command's work and exit with its code; start-up failures become one line."""
    try:
        code = asyncio.run(coro)
    except ConfigError as exc:
        fail(str(exc), EXIT_CONFIG)
    except db.DatabaseUnavailable as exc:
        fail(
            f"Database unreachable: {exc}. Fix: start the database or correct "
            "CLAWLING_DATABASE_URL.",
            EXIT_DATABASE,
        )
    except KeyboardInterrupt:
        code = 130
    raise typer.Exit(code or 0)


async def open_app(settings: Settings) -> App:
    """The app with its database reachable and up to date (close it when done)."""
    app = build_app(settings)
    try:
        await app.prepare_database()
    except BaseException:
        await app.close()
        raise
    return app


async def with_app(settings: Settings, work: Callable[[App], Coroutine[Any, Any, int]]) -> int:
    """Run `work` on an app opened for it, and close the app."""
    app = await open_app(settings)
    try:
        return await work(app)
    finally:
        await app.close()
