"""`clawling audit [--user USER] [--since WHEN] [--json]`: read the audit trail.

Entries name people as `platform:id` (actor and subject), so they read the same after
a person's data is erased. `--user` keeps what a person did or had done to them, by
any of their accounts; an account nobody has any more (or never had: a stranger's
pairing request) is matched by its `platform:id` text.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Annotated, Any

import typer

from bot.app import App
from bot.cli.launch import EXIT_CONFIG, err, fail, load, open_app, redact, run, with_app
from bot.people.trail import CLI_ACTOR, entry_json, entry_line, since_time, trail_of
from bot.settings import Settings
from memory.db.sqltypes import utcnow
from memory.history import BadUserName, split_user_name

__all__ = ["audit", "record", "since_time"]


async def record(settings: Settings, action: str, **detail: Any) -> None:
    """Write what a command did (actor "cli") after it did it; if that fails, one note on
    stderr says so and the command still succeeds: it was done (bot/people/trail.py)."""
    try:
        app = await open_app(settings)
    except Exception as exc:  # noqa: BLE001 - the action stands; say what is missing
        err.print(f"Note: not written to the audit trail: {redact(str(exc))}", markup=False)
        return
    try:
        if not await app.trail.record(action, CLI_ACTOR, **detail):
            err.print("Note: not written to the audit trail (see the log).", markup=False)
    finally:
        await app.close()


async def show(
    app: App, user: str | None, since: datetime | None, limit: int, as_json: bool
) -> int:
    user_id, labels = (None, ()) if user is None else await trail_of(app.people, user)
    entries = await app.audit.entries(user_id=user_id, labels=labels, since=since, limit=limit)
    entries.reverse()  # oldest first, as a log reads
    if as_json:
        sys.stdout.write(json.dumps([entry_json(e) for e in entries], ensure_ascii=False) + "\n")
    elif not entries:
        print("No audit entries" + (" match." if user or since else " yet."))
    for entry in [] if as_json else entries:
        print(entry_line(entry))
    return 0


def audit(
    user: Annotated[
        str | None, typer.Option("--user", "-u", help="their platform:id, e.g. telegram:42")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="a date (2026-12-01) or an age (24h, 7d)")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="at most this many, newest")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON list")] = False,
) -> None:
    """The audit trail, oldest first: who did what, to whom, when, from where (times UTC)."""
    settings = load()
    try:
        start = None if since is None else since_time(since, utcnow())
    except ValueError as exc:
        fail(f"--since {exc}", EXIT_CONFIG)
    try:
        if user is not None:
            split_user_name(user)
    except BadUserName as exc:
        fail(str(exc), EXIT_CONFIG)
    run(with_app(settings, lambda app: show(app, user, start, limit, as_json)))
