"""Backup, wipe, restore: every table comes back as it was."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, MetaData, select, text
from sqlalchemy.engine import make_url

from bot.settings import Settings
from memory import db
from memory.retrieval.scopes import Scope
from memory.retrieval.search import Searcher
from tests.bot.app.test_lifecycle import started
from tests.fakes.openai_server import FakeOpenAI, Reply

CLAWLING = str(Path(sys.executable).parent / "clawling")


def _snapshot(connection: Connection) -> dict[str, list[tuple[Any, ...]]]:
    metadata = MetaData()
    metadata.reflect(connection)
    tables = {}
    for name, table in metadata.tables.items():
        rows = connection.execute(
            select(table).order_by(*table.primary_key.columns or table.columns)
        )
        tables[name] = [tuple(row) for row in rows]
    return tables


async def _wipe(settings: Settings) -> None:
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{url.database}{suffix}").unlink(missing_ok=True)
        return
    engine = db.create_engine(settings.database_url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def _tables(settings: Settings) -> dict[str, list[tuple[Any, ...]]]:
    engine = db.create_engine(settings.database_url)
    async with engine.connect() as connection:
        snapshot = await connection.run_sync(_snapshot)
    await engine.dispose()
    return snapshot


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAWLING_", "OPENAI_"))}
    env["CLAWLING_DATABASE_URL"] = settings.database_url
    env["CLAWLING_DATA_DIR"] = str(settings.core.data_dir)
    return subprocess.run([CLAWLING, *args], env=env, capture_output=True, text=True, check=False)


async def test_backup_wipe_restore_round_trips_every_table(
    settings: Settings, fake_llm: FakeOpenAI, tmp_path: Path
) -> None:
    app, channel = await started(settings)
    fake_llm.add(Reply(tool_calls=[("current_time", {})]))
    for text_ in ("hello", "what time is it?", "谢谢，上海见 ✨"):
        await app.sessions.handle(channel.inbound(text_))
        await app.sessions.drain()
    await app.close()
    before = await _tables(settings)
    assert len(before["messages"]) == 8 and len(before["llm_calls"]) == 4

    backup_file = tmp_path / "backup.clawling"
    result = _cli(settings, "backup", str(backup_file))
    assert result.returncode == 0, result.stderr
    assert _cli(settings, "backup", str(backup_file)).stderr.startswith(
        f"Backup failed: {backup_file} already exists."
    )

    await _wipe(settings)
    assert await _tables(settings) == {}

    result = _cli(settings, "restore", "--yes", str(backup_file))
    assert result.returncode == 0, result.stderr
    after = await _tables(settings)
    # The restore itself is the one entry added to the restored audit trail.
    [entry] = after.pop("audit_log")
    assert entry[2:5] == ("database.restored", None, "cli")
    assert after == {name: rows for name, rows in before.items() if name != "audit_log"}
    # The full-text index came back too, Chinese grams included.
    engine = db.create_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            found = text("SELECT DISTINCT user_id FROM messages WHERE role = 'user'")
            [user_id] = (await connection.execute(found)).scalars().all()
        hits = await Searcher(engine).search_messages(Scope(user_id), "上海")
        assert hits and hits[0].text == "谢谢，上海见 ✨"
    finally:
        await engine.dispose()


def test_restore_refuses_a_backup_of_the_other_kind(settings: Settings, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.bin"
    other = b"PGDMP" if settings.database_url.startswith("sqlite") else b"SQLite format 3\x00"
    wrong.write_bytes(other + b"\x00" * 100)
    result = _cli(settings, "restore", "--yes", str(wrong))
    assert result.returncode == 1
    assert "backup but CLAWLING_DATABASE_URL points to" in result.stderr
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("hello")
    assert "is not a Clawling backup" in _cli(settings, "restore", "--yes", str(garbage)).stderr
