"""Shared fixtures: real SQLite and PostgreSQL databases, the fake model server."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import settings as hypothesis_settings

from bot.app import App, build_app
from bot.settings import Settings
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.web import LocalSite

# Mutation runs (docs/security.md) repeat the tests once per mutant: fewer examples there.
hypothesis_settings.register_profile("mutation", max_examples=25, deadline=None)

POSTGRES_ADMIN_URL = os.environ.get(
    "CLAWLING_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGRES = os.environ.get("CLAWLING_TEST_REQUIRE_POSTGRES") == "1"


def _postgres_available() -> str | None:
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]


_PG_PROBLEM = _postgres_available()


def _fresh_postgres_database() -> tuple[str, str]:
    name = f"clawling_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    return name, f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)


def _drop_postgres_database(name: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never read the developer's settings or .env."""
    for name in list(os.environ):
        if name.startswith(("CLAWLING_", "OPENAI_", "TELEGRAM_", "SLACK_")) and not name.startswith(
            "CLAWLING_TEST_"
        ):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'clawling.db'}"
        return
    yield from _postgres_database()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (for what only runs on PostgreSQL)."""
    yield from _postgres_database()


def _postgres_database() -> Iterator[str]:
    if _PG_PROBLEM is not None:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is required but unreachable: {_PG_PROBLEM}")
        pytest.skip(f"PostgreSQL unreachable: {_PG_PROBLEM}")
    name, url = _fresh_postgres_database()
    try:
        yield url
    finally:
        _drop_postgres_database(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'clawling.db'}"


@pytest.fixture
def fake_llm() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def make_settings(fake_llm: FakeOpenAI, database_url: str, data_dir: Path, **core: Any) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        openai={"api_key": "test-key", "base_url": fake_llm.url},
        clawling={
            "model": "fake-model",
            "database_url": database_url,
            "data_dir": str(data_dir),
            "llm_max_retries": 0,
            "llm_timeout": 10,
            "http_port": 0,
            **core,
        },
    )


@pytest.fixture
def settings(fake_llm: FakeOpenAI, database_url: str, tmp_path: Path) -> Settings:
    return make_settings(fake_llm, database_url, tmp_path / "data")


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[App]:
    application = build_app(settings)
    await application.prepare_database()
    try:
        yield application
    finally:
        await application.close()


@pytest.fixture
def channel(app: App) -> RecordingChannel:
    recording = RecordingChannel()
    app.add_channel(recording)
    return recording


@pytest.fixture
async def site() -> AsyncIterator[LocalSite]:
    """A local web site on 127.0.0.1 (see tests/fakes/web.py)."""
    local = await LocalSite().start()
    try:
        yield local
    finally:
        await local.stop()
