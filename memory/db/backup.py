"""Backups: SQLite's online backup API, or pg_dump / pg_restore for PostgreSQL.

A backup is one file. SQLite backups are SQLite database files; PostgreSQL
backups are pg_dump's custom format. Restore recognises which it is given.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import URL, make_url

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"


class BackupError(Exception):
    """The backup or restore could not be done; the message says why and what to do."""


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(url.database)


def _pg_connection(url: URL) -> tuple[list[str], dict[str, str]]:
    """libpq arguments and environment for a PostgreSQL URL (the password goes in
    PGPASSWORD, not on the command line)."""
    args = ["--host", url.host or "localhost", "--port", str(url.port or 5432)]
    if url.username:
        args += ["--username", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed. Fix: install the PostgreSQL client tools "
            "(Debian/Ubuntu: apt install postgresql-client) matching your server's version."
        )
    return found


async def _run(command: list[str], env: dict[str, str]) -> None:
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _out, err = await process.communicate()
    if process.returncode != 0:
        detail = err.decode(errors="replace").strip().splitlines()
        raise BackupError(
            f"{Path(command[0]).name} failed: {detail[-1] if detail else 'no output'}"
        )


def _sqlite_copy(source: Path, target: Path, *, standalone: bool) -> None:
    """Copy a live SQLite database consistently, page by page, without stopping writers.
    A standalone copy (a backup file) has its journal folded into the one file."""
    if not source.exists():
        raise BackupError(f"there is no database at {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
            src.backup(dst)
            if standalone:
                dst.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite could not copy {source} to {target}: {exc}") from None


def _sqlite_replace(backup_file: Path, database: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    _sqlite_copy(backup_file, database, standalone=False)


async def backup(database_url: str, path: Path) -> None:
    """Write a backup of the database to `path`."""
    url = make_url(database_url)
    if await asyncio.to_thread(path.exists):
        raise BackupError(f"{path} already exists. Fix: choose a new file name.")
    if url.get_backend_name() == "sqlite":
        await asyncio.to_thread(_sqlite_copy, _sqlite_path(url), path, standalone=True)
        return
    args, env = _pg_connection(url)
    command = [_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(path), *args]
    await _run([*command, url.database or "postgres"], env)


def _kind(path: Path) -> str:
    try:
        head = path.open("rb").read(16)
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror}") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_MAGIC):
        return "postgresql"
    raise BackupError(f"{path} is not a Clawling backup (neither SQLite nor pg_dump format)")


async def restore(database_url: str, path: Path) -> None:
    """Replace the database's contents with the backup at `path`. Stop the assistant first."""
    url = make_url(database_url)
    kind, target = _kind(path), url.get_backend_name()
    if kind != target:
        raise BackupError(
            f"{path} is a {kind} backup but CLAWLING_DATABASE_URL points to {target}. "
            "Fix: restore it into a database of the same kind."
        )
    if kind == "sqlite":
        await asyncio.to_thread(_sqlite_replace, path, _sqlite_path(url))
        return
    args, env = _pg_connection(url)
    command = [
        _tool("pg_restore"),
        "--clean",
        "--if-exists",
        "--no-owner",
        "--single-transaction",
        "--dbname",
        url.database or "postgres",
        *args,
        str(path),
    ]
    await _run(command, env)
