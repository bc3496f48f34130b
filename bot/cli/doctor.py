"""`clawling doctor`: check settings, database, migrations, the model endpoint and the
chat apps, and print each problem with its fix."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from rich.console import Console
from rich.text import Text

from bot.app import App, build_app
from bot.chat.channels import SelfChecking
from bot.cli.launch import load, redact, run
from bot.errors import ConfigError, TransportError
from bot.llm.client import LLM, LLMError
from bot.safety.redact import mask_url
from bot.settings import Settings, unknown_clawling_variables
from memory import db


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


async def _settings(app: App) -> Check:
    unknown = unknown_clawling_variables()
    if unknown:
        return Check(
            "settings",
            False,
            f"unknown variables: {', '.join(unknown)}",
            "check the spelling against the settings table in the README",
        )
    return Check(
        "settings",
        True,
        f"model {app.settings.core.model}, database {db.safe_url(app.settings.database_url)}",
    )


async def _database(app: App) -> Check:
    try:
        await db.check_reachable(app.engine)
    except db.DatabaseUnavailable as exc:
        return Check(
            "database", False, str(exc), "start the database or correct CLAWLING_DATABASE_URL"
        )
    return Check("database", True, "reachable")


async def _migrations(app: App) -> Check:
    try:
        current = await db.current_revision(app.engine)
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return Check(
            "migrations",
            False,
            f"cannot read the schema version: {exc}",
            "run `clawling db upgrade`",
        )
    head = db.head_revision()
    if current != head:
        return Check(
            "migrations",
            False,
            f"database at {current or 'empty'}, code expects {head}",
            "run `clawling db upgrade` (clawling chat and run also do it on start)",
        )
    return Check("migrations", True, f"at {head}")


async def _model(app: App) -> Check:
    problem = app.settings.llm_problem()
    if problem:
        return Check("model endpoint", False, "not configured", problem)
    endpoint = mask_url(app.settings.openai.base_url)
    started = time.perf_counter()
    try:
        # Not recorded: the database may be the thing that is broken.
        probe = LLM(app.client, app.settings.models)
        await probe.complete([{"role": "user", "content": "Reply with: ok"}], max_tokens=5)
    except LLMError as exc:
        return Check(
            "model endpoint",
            False,
            f"{endpoint}: {exc}",
            "check OPENAI_BASE_URL, OPENAI_API_KEY and CLAWLING_MODEL (the model must exist there)",
        )
    elapsed = time.perf_counter() - started
    return Check("model endpoint", True, f"{endpoint} answered in {elapsed:.1f} s")


async def _channels(app: App) -> list[Check]:
    checks = []
    for adapter in app.outbox.adapters:
        if not isinstance(adapter, SelfChecking):
            continue
        try:
            async with asyncio.timeout(20):
                checks.append(Check(adapter.name, True, await adapter.check()))
        except ConfigError as exc:
            problem, _, fix = str(exc).partition(" Fix: ")
            checks.append(Check(adapter.name, False, problem, fix.rstrip(".")))
        except (TransportError, TimeoutError) as exc:
            checks.append(Check(adapter.name, False, f"no answer: {exc}", "check the network"))
    if not app.outbox.adapters:
        checks.append(
            Check(
                "chat apps", False, "none configured", "set TELEGRAM_BOT_TOKEN or SLACK_BOT_TOKEN"
            )
        )
    return checks


CHECKS: list[Callable[[App], Awaitable[Check]]] = [_settings, _database, _migrations, _model]


async def run_checks(app: App) -> list[Check]:
    results = []
    for check in CHECKS:
        result = await check(app)
        results.append(result)
        if result.name == "database" and not result.ok:
            results.append(Check("migrations", False, "skipped: no database", ""))
            results.append(await _model(app))
            break
    results.extend(await _channels(app))
    return results


def doctor() -> None:
    """Check settings, database, migrations and the model endpoint."""
    run(_doctor(load()))


async def _doctor(settings: Settings) -> int:
    app = build_app(settings)
    console = Console(highlight=False)
    try:
        results = await run_checks(app)
    finally:
        await app.close()
    for check in results:
        mark = "[green]ok[/]  " if check.ok else "[red]FAIL[/]"
        # Details quote what servers and drivers said, which may echo a credential;
        # and they are plain text, not markup.
        console.print(Text.from_markup(f"{mark} {check.name}: ") + Text(redact(check.detail)))
        if not check.ok and check.fix:
            console.print(f"      fix: {check.fix}", markup=False)
    return 0 if all(c.ok for c in results) else 1
