"""Remembered model windows: per endpoint and model, the context window learnt (from the
endpoint's own description or an overflow error) and the ratio of the tokens it reports
to our estimate. Read once per model per process; written only when a value changes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from memory.db import reading, writing
from memory.db.models import ModelWindow, table
from memory.db.sqltypes import utcnow

_windows = table(ModelWindow)


@dataclass(frozen=True)
class KnownWindow:
    context_tokens: int | None
    source: str
    token_ratio: float | None


class WindowStore:
    """The `model_windows` table: one row per (base URL, model)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, base_url: str, model: str) -> KnownWindow | None:
        async with reading(self._engine) as connection:
            row = (
                await connection.execute(
                    select(_windows.c.context_tokens, _windows.c.source, _windows.c.token_ratio)
                    .where(_windows.c.base_url == base_url)
                    .where(_windows.c.model == model)
                )
            ).first()
        return KnownWindow(row[0], row[1], row[2]) if row is not None else None

    async def save_window(self, base_url: str, model: str, tokens: int, source: str) -> None:
        await self._save(base_url, model, context_tokens=tokens, source=source)

    async def save_ratio(self, base_url: str, model: str, ratio: float) -> None:
        await self._save(base_url, model, token_ratio=ratio)

    async def _save(self, base_url: str, model: str, **values: object) -> None:
        try:
            await self._upsert(base_url, model, dict(values))
        except IntegrityError:
            # Another process inserted the row between our update and insert: update it.
            await self._upsert(base_url, model, dict(values))

    async def _upsert(self, base_url: str, model: str, values: dict[str, object]) -> None:
        where = (_windows.c.base_url == base_url) & (_windows.c.model == model)
        async with writing(self._engine) as connection:
            changed = await connection.execute(
                update(_windows).where(where).values(**values, updated_at=utcnow())
            )
            if changed.rowcount == 0:
                await connection.execute(
                    _windows.insert().values(
                        base_url=base_url,
                        model=model,
                        source=values.pop("source", ""),
                        updated_at=utcnow(),
                        **values,
                    )
                )
