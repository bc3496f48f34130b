"""Alembic environment.

The app runs migrations on its own connection (`config.attributes["connection"]`,
see memory/db/migrate.py). From the `alembic` command line, the URL comes from
CLAWLING_DATABASE_URL or the default SQLite file.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from memory.db import include_name
from memory.db.models import Base

target_metadata = Base.metadata


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_name=include_name,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_from_url() -> None:
    from bot.settings import load_settings
    from memory.db import create_engine

    engine = create_engine(load_settings().database_url)
    async with engine.begin() as connection:
        await connection.run_sync(_configure_and_run)
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    _configure_and_run(connection)
elif context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported; run them against a database.")
else:
    asyncio.run(_run_from_url())
