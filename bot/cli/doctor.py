"""`clawling doctor`: check settings, database, migrations, the model endpoint (and what
it supports: bot/cli/endpoint.py) and the chat apps, and print each problem with its fix.

Each check ends in one of three states: `ok`, `note` (worth knowing, nothing to fix:
migrations that start-up applies, no chat app on a terminal-only set-up) and `FAIL`
(something to fix; the exit code is 1). Doctor changes nothing: a SQLite database that
does not exist yet is reported, not created. Its report is the only thing on stdout,
one line per check whatever the terminal's width; logs go to stderr.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from rich.console import Console
from rich.text import Text

from bot.app import App, build_app
from bot.chat.channels import SelfChecking
from bot.cli.endpoint import endpoint_facts
from bot.cli.launch import load, redact, run
from bot.cli.verdict import FAIL, NOTE, OK, Check
from bot.errors import ConfigError, TransportError
from bot.http.probes import probe_model
from bot.settings import Settings, unknown_variables
from memory import db

__all__ = ["FAIL", "NOTE", "OK", "Check", "doctor", "run_checks"]


def _missing_sqlite_file(settings: Settings) -> Path | None:
    """The SQLite file the settings point to, when it does not exist yet."""
    url = db.async_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    path = Path(str(url.database))
    return None if path.exists() else path


def _settings(app: App, database_url: str) -> Check:
    unknown = unknown_variables()
    if unknown:
        fix = "rename or remove it" if len(unknown) == 1 else "rename or remove them"
        return Check("settings", FAIL, "\n".join(unknown), fix)
    return Check(
        "settings", OK, f"model {app.settings.core.model}, database {db.safe_url(database_url)}"
    )


async def _database(app: App) -> Check:
    try:
        await db.check_reachable(app.engine)
    except db.DatabaseUnavailable as exc:
        return Check(
            "database", FAIL, str(exc), "start the database or correct CLAWLING_DATABASE_URL"
        )
    return Check("database", OK, "reachable")


async def _migrations(app: App) -> Check:
    try:
        current = await db.current_revision(app.engine)
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return Check(
            "migrations",
            FAIL,
            f"cannot read the schema version: {exc}",
            "run `clawling db upgrade`",
        )
    head = db.head_revision()
    if current != head:
        return Check(
            "migrations",
            NOTE,
            f"database at {current or 'empty'}, code expects {head}; `clawling chat` and "
            "`clawling run` apply them on start (or run `clawling db upgrade`)",
        )
    return Check("migrations", OK, f"at {head}")


async def _queue(app: App) -> Check:
    queue = app.background.queue
    if queue is None:
        return Check("queue", OK, "none: `clawling run` runs background task steps itself")
    where = f"procrastinate on {db.safe_url(queue.url)}"
    try:
        async with asyncio.timeout(15):
            problem = await queue.problem(tables=False)
            missing = problem is None and await queue.problem() is not None
            depth = None if problem or missing else await queue.depth()
    except TimeoutError:
        problem, missing, depth = "no answer within 15 s", False, None
    if problem is not None:
        return Check(
            "queue",
            FAIL,
            f"{where}: unreachable: {problem}",
            "start PostgreSQL or correct CLAWLING_QUEUE_URL",
        )
    if missing or depth is None:
        return Check(
            "queue",
            NOTE,
            f"{where}, reachable; its tables are made when `clawling run` or `clawling "
            "worker` starts",
        )
    return Check(
        "queue",
        OK,
        f"{where}, reachable; {depth['todo']} steps waiting, {depth['doing']} running "
        "(run them with `clawling worker`)",
    )


async def _model(app: App) -> Check:
    probe = await probe_model(app.settings, app.client)
    if probe.ok:
        return Check("model endpoint", OK, probe.detail)
    return Check("model endpoint", FAIL, probe.detail, probe.fix)


async def _channels(app: App) -> list[Check]:
    checks = []
    for adapter in app.outbox.adapters:
        if not isinstance(adapter, SelfChecking):
            continue
        try:
            async with asyncio.timeout(20):
                checks.append(Check(adapter.name, OK, await adapter.check()))
        except ConfigError as exc:
            problem, _, fix = str(exc).partition(" Fix: ")
            checks.append(Check(adapter.name, FAIL, problem, fix.rstrip(".")))
        except (TransportError, TimeoutError) as exc:
            checks.append(Check(adapter.name, FAIL, f"no answer: {exc}", "check the network"))
    if not app.outbox.adapters:
        checks.append(
            Check(
                "chat apps",
                NOTE,
                "none configured: `clawling chat` talks to your assistant in the terminal; "
                "set TELEGRAM_BOT_TOKEN or SLACK_BOT_TOKEN to add a chat app",
            )
        )
    return checks


CHECKS: list[Callable[[App], Awaitable[Check]]] = [_database, _migrations, _queue, _model]


async def run_checks(app: App, *, missing_database: Path | None = None) -> list[Check]:
    """Every check, in order; with `missing_database` (a SQLite file not created yet),
    the database checks only say that start-up will create it."""
    if missing_database is None:
        results = [_settings(app, app.settings.database_url)]
        for check in CHECKS:
            results.append(await check(app))
            if results[-1].name == "database" and not results[-1].ok:
                results.append(Check("migrations", FAIL, "skipped: no database", ""))
                results.append(await _model(app))
                break
    else:
        results = [
            _settings(app, f"sqlite:///{missing_database.as_posix()}"),
            Check(
                "database",
                NOTE,
                f"none yet; `clawling chat` or `clawling run` creates {missing_database} "
                "and its schema",
            ),
            await _model(app),
        ]
    model = next(r for r in results if r.name == "model endpoint")
    if model.ok:
        database_ok = all(r.state == OK for r in results if r.name in ("database", "migrations"))
        results.extend(await endpoint_facts(app, database_ok=database_ok))
    results.extend(await _channels(app))
    return results


def doctor() -> None:
    """Check settings, database, migrations, the model endpoint and the chat apps."""
    run(_doctor(load()))


async def _doctor(settings: Settings) -> int:
    missing = _missing_sqlite_file(settings)
    if missing is None:
        results = await _checked(settings, None)
    else:
        # Building the app's engine would create the file's folder (and checking it, the
        # file): the app gets a throwaway location instead, which is never connected to.
        with tempfile.TemporaryDirectory(prefix="clawling-doctor-") as scratch:
            url = f"sqlite:///{Path(scratch, 'unused.db').as_posix()}"
            core = settings.clawling.model_copy(update={"database_url": url})
            results = await _checked(settings.model_copy(update={"clawling": core}), missing)
    # Soft wrap: one line per check whatever the width (rich wraps at 80 when piped).
    console = Console(highlight=False, soft_wrap=True)
    marks = {OK: "[green]ok[/]  ", NOTE: "[cyan]note[/]", FAIL: "[red]FAIL[/]"}
    for check in results:
        # Details quote what servers and drivers said, which may echo a credential;
        # and they are plain text, not markup.
        first, *more = redact(check.detail).splitlines() or [""]
        console.print(Text.from_markup(f"{marks[check.state]} {check.name}: ") + Text(first))
        for line in more:
            console.print(f"      {line}", markup=False)
        if check.state == FAIL and check.fix:
            console.print(f"      fix: {check.fix}", markup=False)
    return 0 if all(c.ok for c in results) else 1


async def _checked(settings: Settings, missing_database: Path | None) -> list[Check]:
    app = build_app(settings)
    try:
        return await run_checks(app, missing_database=missing_database)
    finally:
        await app.close()
