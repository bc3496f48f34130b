"""`clawling db …`: the schema moves up and down on both databases."""

from __future__ import annotations

from memory import db
from tests.bot.cli.harness import run


def test_db_commands_move_the_schema(env_any_db: dict[str, str]) -> None:
    head = db.head_revision()
    assert run(["db", "upgrade"], env_any_db).stdout == f"database at {head}\n"
    assert run(["db", "current"], env_any_db).stdout == f"{head} (newest: {head})\n"
    assert run(["db", "downgrade", "base"], env_any_db).stdout == "database at empty\n"
