"""`clawling db …`, `clawling backup` and `clawling restore`: the schema and the data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.audit import record
from bot.cli.launch import err, load, redact, run
from bot.settings import Settings
from memory import db
from memory.db.sole import AlreadyRunning, hold

db_cli = typer.Typer(help="Database schema: upgrade, downgrade, current.", no_args_is_help=True)


def backup(path: Annotated[Path, typer.Argument(help="the backup file to write")]) -> None:
    """Back up the database to one file (works while the assistant runs)."""
    run(_backup(load(), path, restore=False))


def restore(
    path: Annotated[Path, typer.Argument(help="a file written by `clawling backup`")],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
) -> None:
    """Replace the database's contents with a backup. Stop the assistant first."""
    settings = load()
    if not yes and not typer.confirm(
        f"Replace everything in {db.safe_url(settings.database_url)} with {path}?"
    ):
        raise typer.Exit(1)
    run(_backup(settings, path, restore=True))


async def _backup(settings: Settings, path: Path, *, restore: bool) -> int:
    from memory.db.backup import BackupError
    from memory.db.backup import backup as write_backup
    from memory.db.backup import restore as read_backup

    if restore:
        try:
            # On SQLite the running assistant is known (memory/db/sole.py): never pull
            # the database from under it.
            sole = hold(settings.database_url, "clawling restore")
        except AlreadyRunning as exc:
            err.print(
                f"Restore refused: Clawling is running on this database ({exc.holder}). "
                "Fix: stop it first, then restore.",
                markup=False,
            )
            return 1
    try:
        if restore:
            await read_backup(settings.database_url, path)
            print(f"restored {path} into {db.safe_url(settings.database_url)}")
            # After the restore: the trail is part of what a restore replaces.
            await record(settings, "database.restored", backup=str(path))
        else:
            await write_backup(settings.database_url, path)
            print(f"backed up {db.safe_url(settings.database_url)} to {path}")
    except BackupError as exc:
        # The reason quotes pg_dump's or SQLite's own words, which may echo the URL.
        err.print(f"{'Restore' if restore else 'Backup'} failed: {redact(str(exc))}", markup=False)
        return 1
    finally:
        if restore:
            sole.release()
    return 0


@db_cli.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    run(_migrate(load(), revision, up=True))


@db_cli.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="e.g. -1 or a revision id")]) -> None:
    """Revert migrations down to REVISION."""
    run(_migrate(load(), revision, up=False))


@db_cli.command("current")
def db_current() -> None:
    """Print the database's schema revision."""
    run(_current(load()))


async def _migrate(settings: Settings, revision: str, *, up: bool) -> int:
    engine = db.create_engine(settings.database_url)
    try:
        await db.check_reachable(engine)
        if up:
            await db.upgrade(engine, revision)
        else:
            await db.downgrade(engine, revision)
        print(f"database at {await db.current_revision(engine) or 'empty'}")
        return 0
    finally:
        await engine.dispose()


async def _current(settings: Settings) -> int:
    engine = db.create_engine(settings.database_url)
    try:
        await db.check_reachable(engine)
        current = await db.current_revision(engine)
        print(f"{current or 'empty'} (newest: {db.head_revision()})")
        return 0
    finally:
        await engine.dispose()
