"""Whether a person wants answers spoken as well as written (/voice on|off)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from memory.db import reading, writing
from memory.db.models import User, table

_users = table(User)


class VoicePreferences:
    """One flag per person, `users.voice_replies` (off unless they ask)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def wants_voice(self, user_id: int) -> bool:
        async with reading(self._engine) as connection:
            value = await connection.scalar(
                select(_users.c.voice_replies).where(_users.c.id == user_id)
            )
        return bool(value)

    async def set_voice(self, user_id: int, on: bool) -> None:
        async with writing(self._engine) as connection:
            await connection.execute(
                update(_users).where(_users.c.id == user_id).values(voice_replies=on)
            )
