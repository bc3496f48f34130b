"""What every `clawling` command shares: settings, logging, and running its work so that
start-up failures end as one line and an exit code, never a traceback.

Exit codes: 1 for a failure of the machine (a port in use) or an unexpected error
(its traceback goes to the log, one line to the person), 2 for a bad setting, 3 for an
unreachable database, 130 for Ctrl-C.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import traceback
from collections.abc import Callable, Coroutine
from logging.handlers import RotatingFileHandler
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn

import typer
from rich.console import Console

from bot.app import App, build_app
from bot.errors import ConfigError, StartupFailure
from bot.logcontext import JsonFormatter, TextFormatter
from bot.safety.redact import RedactingFormatter, Redactor, secrets_in
from bot.settings import Settings, load_settings, unknown_variables
from memory import db
from memory.db.sole import AlreadyRunning, SoleProcess, hold

log = logging.getLogger(__name__)

err = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_FAILURE = 1
EXIT_CONFIG = 2
EXIT_DATABASE = 3

# The chat's log file rotates at this size, keeping this many old files beside it.
LOG_FILE_BYTES = 5 * 1024 * 1024
LOG_FILE_BACKUPS = 3

# Where this process's log goes, for the line that points to a traceback.
_log_file: Path | None = None

# What every line this process writes passes through: token shapes until the settings
# are read, then also every configured secret (see configure_logging).
_redact = Redactor()


def configure_logging(settings: Settings, *, to_file: bool) -> None:
    """One handler (stderr, or data/clawling.log rotating), every line of it redacted,
    as text or one JSON object a line (CLAWLING_LOG_FORMAT); uncaught tracebacks printed
    by Python are redacted too."""
    global _redact, _log_file
    _redact = Redactor(secrets_in(settings))
    level = getattr(logging, settings.core.log_level)
    if to_file:
        _log_file = settings.core.data_dir / "clawling.log"
        try:
            settings.core.data_dir.mkdir(parents=True, exist_ok=True)
            handler: logging.Handler = RotatingFileHandler(
                _log_file, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_BACKUPS, encoding="utf-8"
            )
        except OSError as exc:
            fail(
                f"Cannot write the log file {_log_file} ({exc.strerror}). Fix: point "
                "CLAWLING_DATA_DIR at a folder this user can write.",
                EXIT_CONFIG,
            )
    else:
        _log_file = None
        handler = logging.StreamHandler(sys.stderr)
    inner = JsonFormatter() if settings.core.log_format == "json" else TextFormatter()
    handler.setFormatter(RedactingFormatter(inner, _redact))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    sys.excepthook = print_redacted_exception
    threading.excepthook = _print_thread_exception
    # procrastinate logs each job it starts and ends (our steps log their own lines).
    for noisy in ("httpx", "httpx2", "openai", "aiosqlite", "alembic", "procrastinate"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def load(*, log_to_file: bool = False, warn_unknown: bool = False) -> Settings:
    """The settings, with logging configured; a bad setting ends the command (exit 2).
    With `warn_unknown` (the commands that run the assistant), variables that look like
    settings but are none are named in one warning line on stderr (a log line when the
    log is there)."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        fail(str(exc), EXIT_CONFIG)
    configure_logging(settings, to_file=log_to_file)
    unknown = unknown_variables() if warn_unknown else []
    if unknown and log_to_file:
        err.print(f"Warning: {'; '.join(unknown)}", markup=False)
    elif unknown:
        # The log is on stderr: one line of it, in its format (JSON stays parseable).
        log.warning("%s", "; ".join(unknown))
    return settings


def redact(text: str) -> str:
    """`text` with every secret this process knows of, and token shapes, replaced."""
    return _redact(text)


def print_redacted_exception(
    kind: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    """Python's report of an uncaught exception, redacted (a `sys.excepthook`)."""
    sys.stderr.write(_redact("".join(traceback.format_exception(kind, exc, tb))))


def _print_thread_exception(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is not None:
        print_redacted_exception(args.exc_type, args.exc_value, args.exc_traceback)


def fail(message: str, code: int) -> NoReturn:
    # Our own messages: values in them were redacted where they were written (settings
    # errors, safe_url), and the patterns would mask the examples in their fixes.
    for line in _redact.known(message).splitlines():
        err.print(line, markup=False)
    raise typer.Exit(code)


def run(coro: Coroutine[Any, Any, int | None]) -> NoReturn:
    """Run a command's work and exit with its code; start-up failures become one line."""
    try:
        code = asyncio.run(coro)
    except StartupFailure as exc:
        fail(str(exc), EXIT_FAILURE)
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
    except (typer.Exit, typer.Abort, typer.exceptions.TyperException):
        raise  # a command's own way out, already explained
    except Exception as exc:  # noqa: BLE001 - the boundary of every command
        log.exception("stopped on an unexpected error")
        where = f"in {_log_file}" if _log_file is not None else "above"
        fail(
            _redact(f"Stopped on an unexpected error: {type(exc).__name__}: {exc}")[:300]
            + f". The traceback is in the log ({where}).",
            EXIT_FAILURE,
        )
    raise typer.Exit(code or 0)


def sole_process(settings: Settings, command: str) -> SoleProcess:
    """Take the database for this process, which answers people (`clawling run`,
    `clawling chat`): on SQLite a second such process is refused, in one line
    (memory/db/sole.py)."""
    try:
        return hold(settings.database_url, command)
    except AlreadyRunning as exc:
        raise StartupFailure(
            f"Clawling is already running on this database ({exc.holder or 'another process'}"
            f"; lock file {exc.path}). Fix: stop that process first, or use it instead; "
            "running several processes needs PostgreSQL (CLAWLING_DATABASE_URL)."
        ) from None


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
