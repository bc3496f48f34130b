"""`clawling users quota USER --daily N --monthly N` against a real database: the same
change as the owners' /quota, audited as done from the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

from typer.testing import CliRunner

from bot.app import build_app
from bot.cli.main import cli
from memory.audit import Entry
from memory.people import Person
from tests.conftest import make_settings
from tests.fakes.openai_server import FakeOpenAI


async def _seed(fake_llm: FakeOpenAI, url: str, data_dir: Path) -> None:
    app = build_app(make_settings(fake_llm, url, data_dir))
    await app.prepare_database()
    try:
        await app.store.resolve_identity("telegram", "42", "Ann")
    finally:
        await app.close()


async def _state(fake_llm: FakeOpenAI, url: str, data_dir: Path) -> tuple[Person, list[Entry]]:
    app = build_app(make_settings(fake_llm, url, data_dir))
    try:
        person = await app.people.by_account("telegram", "42")
        if person is None:
            raise AssertionError("the person is gone")
        return person, await app.audit.entries(actions=("quota.changed",))
    finally:
        await app.close()


def test_users_quota_sets_shows_and_refuses_bad_input(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    asyncio.run(_seed(fake_llm, database_url, data))
    env = {
        "CLAWLING_DATABASE_URL": database_url,
        "CLAWLING_DATA_DIR": str(data),
        "CLAWLING_DAILY_TOKENS": "20000",
    }
    runner = CliRunner()

    shown = runner.invoke(cli, ["users", "quota", "telegram:42"], env=env)
    assert (shown.exit_code, shown.output) == (
        0,
        "telegram:42: daily 20,000 tokens, monthly unlimited\n",
    )
    changed = runner.invoke(
        cli, ["users", "quota", "telegram:42", "--daily", "5_000", "--monthly", "90000"], env=env
    )
    assert changed.exit_code == 0, changed.output
    assert changed.output == "telegram:42: daily 5,000 tokens, monthly 90,000 tokens\n"
    back = runner.invoke(cli, ["users", "quota", "telegram:42", "--daily", "default"], env=env)
    assert back.output == "telegram:42: daily 20,000 tokens, monthly 90,000 tokens\n"

    bad = runner.invoke(cli, ["users", "quota", "telegram:42", "--daily", "lots"], env=env)
    assert bad.exit_code == 2
    assert (
        "--daily takes a number of tokens, 0 for unlimited, or default (got 'lots')" in bad.output
    )
    nobody = runner.invoke(cli, ["users", "quota", "slack:U9", "--daily", "5"], env=env)
    assert nobody.exit_code == 1 and "no user slack:U9 is stored" in nobody.output

    person, entries = asyncio.run(_state(fake_llm, database_url, data))
    assert (person.daily_tokens, person.monthly_tokens) == (None, 90_000)
    assert [(e.actor, e.subject, e.detail["daily"], e.detail["monthly"]) for e in entries] == [
        ("cli", "telegram:42", "default", "90000"),
        ("cli", "telegram:42", "5000", "90000"),
    ]
