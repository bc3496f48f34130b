"""`clawling db …`: the schema moves up and down on both databases."""

from __future__ import annotations

from pathlib import Path

from memory import db
from tests.bot.cli.harness import run


def test_db_commands_move_the_schema(env_any_db: dict[str, str]) -> None:
    head = db.head_revision()
    assert run(["db", "upgrade"], env_any_db).stdout == f"database at {head}\n"
    assert run(["db", "current"], env_any_db).stdout == f"{head} (newest: {head})\n"
    assert run(["db", "downgrade", "base"], env_any_db).stdout == "database at empty\n"


def test_backup_keeps_the_password_off_the_command_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    # A stand-in pg_dump that records how it was called, then fails quoting its URL.
    seen = tmp_path / "pg_dump.seen"
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "pg_dump").write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > {seen}\n'
        f'echo "env $PGPASSWORD" >> {seen}\n'
        'echo "pg_dump: error: postgresql://app:$PGPASSWORD@db refused" >&2\n'
        "exit 1\n"
    )
    (tools / "pg_dump").chmod(0o755)
    result = run(
        ["backup", str(tmp_path / "today.dump")],
        {
            **env,
            "PATH": f"{tools}:{env['PATH']}",
            "CLAWLING_DATABASE_URL": "postgresql+asyncpg://app:pw-hunter2@127.0.0.1:5432/app",
        },
    )
    *arguments, password = seen.read_text().splitlines()
    assert password == "env pw-hunter2"  # in PGPASSWORD, which `ps` does not show
    assert "app" in arguments and not any("hunter2" in a for a in arguments)
    assert result.returncode == 1
    assert result.stderr.startswith("Backup failed: pg_dump failed: pg_dump: error: ")
    assert "hunter2" not in result.stderr
