"""Remembered model windows on SQLite and PostgreSQL: one row per endpoint and model,
the window and the ratio saved independently."""

from __future__ import annotations

from memory import db
from memory.windows import KnownWindow, WindowStore


async def test_windows_and_ratios_are_kept_per_endpoint_and_model(database_url: str) -> None:
    engine = db.create_engine(database_url)
    try:
        await db.upgrade(engine)
        store = WindowStore(engine)
        assert await store.get("http://a/v1", "m") is None
        await store.save_ratio("http://a/v1", "m", 1.5)
        assert await store.get("http://a/v1", "m") == KnownWindow(None, "", 1.5)
        await store.save_window("http://a/v1", "m", 2048, "error")
        await store.save_window("http://b/v1", "m", 8192, "props")
        assert await store.get("http://a/v1", "m") == KnownWindow(2048, "error", 1.5)
        assert await store.get("http://b/v1", "m") == KnownWindow(8192, "props", None)
        assert await store.get("http://a/v1", "other") is None
    finally:
        await engine.dispose()
