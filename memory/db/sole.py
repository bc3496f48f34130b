"""One assistant process per SQLite database.

Everything that keeps a conversation's turns in order, an approval's answer reaching
its question and a delivery sent once lives inside one process on SQLite (the
per-conversation queue, the approvals' waiting futures); only PostgreSQL gets the
locks and leases that make several processes safe. So a second `clawling run` or
`clawling chat` on the same SQLite file is refused at start, before it touches the
database, instead of answering some conversations twice.

The lock is `flock` on `<database>.run.lock`: the kernel drops it when the process
ends, however it ends (kill -9 included), so a stale lock file never keeps the
assistant from starting. The file names its holder (pid and command) for the refusal.
Commands that only read or administer (`clawling users`, `clawling audit`…) take no
lock and keep working while the assistant runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url


class AlreadyRunning(RuntimeError):
    """Another process holds the database; `holder` names it as its lock file does."""

    def __init__(self, path: Path, holder: str) -> None:
        super().__init__(f"{path} is held by {holder or 'another process'}")
        self.path = path
        self.holder = holder


@dataclass
class SoleProcess:
    """The held lock (None for databases that need none); released on `release()` or
    when the process ends."""

    path: Path | None = None
    _fd: int | None = None

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None


def lock_path(database_url: str) -> Path | None:
    """The lock file beside a SQLite database file; None when no lock is needed
    (PostgreSQL, or SQLite in memory, which no other process can open)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(f"{url.database}.run.lock")


def hold(database_url: str, command: str) -> SoleProcess:
    """Take the database for this process, running `command`; `AlreadyRunning` when
    another live process has it."""
    path = lock_path(database_url)
    if path is None:
        return SoleProcess()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 200).decode("utf-8", "replace").strip()
        os.close(fd)
        raise AlreadyRunning(path, holder) from None
    # Written only while held, so what a refused process reads is the live holder.
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{command}, pid {os.getpid()}\n".encode(), 0)
    return SoleProcess(path, fd)
