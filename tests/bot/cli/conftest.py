"""Settings for running `clawling` as a subprocess, on SQLite or on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bot.cli.harness import environment
from tests.fakes.openai_server import FakeOpenAI


@pytest.fixture
def env(fake_llm: FakeOpenAI, sqlite_url: str, tmp_path: Path) -> dict[str, str]:
    """Settings for a run on SQLite."""
    return environment(fake_llm, sqlite_url, tmp_path)


@pytest.fixture
def env_any_db(fake_llm: FakeOpenAI, database_url: str, tmp_path: Path) -> dict[str, str]:
    """Settings for a run on SQLite and on PostgreSQL."""
    return environment(fake_llm, database_url, tmp_path)


@pytest.fixture
def env_postgres(fake_llm: FakeOpenAI, postgres_url: str, tmp_path: Path) -> dict[str, str]:
    """Settings for a run on PostgreSQL only (what needs it: the task queue)."""
    return environment(fake_llm, postgres_url, tmp_path)
