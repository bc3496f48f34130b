"""What every command shares: bad settings and an unreachable database end in one line."""

from __future__ import annotations

import pytest

from tests.bot.cli.harness import run


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        (
            "CLAWLING_MAX_CONCURRENT_TURNS",
            "lots",
            "Setting CLAWLING_MAX_CONCURRENT_TURNS is invalid",
        ),
        ("CLAWLING_MAX_CONCURRENT_TURNS", "0", "greater than or equal to 1"),
        ("CLAWLING_TIMEZONE", "Mars/Olympus", "Fix: use an IANA name such as Europe/Berlin"),
        ("CLAWLING_DATABASE_URL", "mysql://x", "Setting CLAWLING_DATABASE_URL is invalid"),
        ("OPENAI_BASE_URL", "api.deepseek.com", "Setting OPENAI_BASE_URL is invalid"),
        ("CLAWLING_OWNERS", "12345", "entries must look like telegram:12345"),
    ],
)
def test_bad_settings_stop_start_up_with_one_line(
    env: dict[str, str], variable: str, value: str, expected: str
) -> None:
    result = run(["chat", "-m", "hi"], {**env, variable: value})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "Fix:" in lines[0]


def test_unreachable_database_is_one_clear_line(env: dict[str, str]) -> None:
    broken = {**env, "CLAWLING_DATABASE_URL": "postgresql://nobody:secret@127.0.0.1:1/none"}
    result = run(["chat", "-m", "hi"], broken)
    assert result.returncode == 3
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Database unreachable: postgresql+asyncpg://nobody:***@127.0.0.1:1/none")
    assert "secret" not in line and "Fix: start the database" in line


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://app:pw-hunter2@db:notaport/app",
        "postgresql+asyncpg:/app:pw-hunter2@db/app",
        "sqlite:////",
    ],
)
def test_a_malformed_database_url_is_one_line_without_its_password(
    env: dict[str, str], url: str
) -> None:
    result = run(["chat", "-m", "hi"], {**env, "CLAWLING_DATABASE_URL": url})
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Setting CLAWLING_DATABASE_URL is invalid: ") and "Fix:" in line
    assert "hunter2" not in line
