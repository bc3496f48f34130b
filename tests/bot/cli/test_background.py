"""`clawling tasks …` and `clawling jobs …` against a real database."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from bot.app import build_app
from bot.cli.main import cli
from tests.bot.harness.background import once_at
from tests.conftest import make_settings
from tests.fakes.openai_server import FakeOpenAI


async def _seed(fake_llm: FakeOpenAI, url: str, data_dir: Path) -> None:
    app = build_app(make_settings(fake_llm, url, data_dir))
    await app.prepare_database()
    try:
        user = await app.store.resolve_identity("test", "u1", "Ana")
        conversation = await app.store.open_conversation(
            "test", "c1", "", is_direct=True, owner_id=user.id
        )
        await app.tasks.start(user, conversation, "write the report")
        at = datetime.now(UTC) + timedelta(hours=2)
        await app.jobs.add(user.id, conversation.id, "reminder", "call Ana", once_at(at))
    finally:
        await app.close()


def test_tasks_and_jobs_commands(fake_llm: FakeOpenAI, sqlite_url: str, tmp_path: Path) -> None:
    asyncio.run(_seed(fake_llm, sqlite_url, tmp_path / "data"))
    env = {"CLAWLING_DATABASE_URL": sqlite_url, "CLAWLING_DATA_DIR": str(tmp_path / "data")}
    runner = CliRunner()

    listed = runner.invoke(cli, ["tasks", "list", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    tasks = json.loads(listed.output)
    assert [(t["id"], t["status"], t["goal"]) for t in tasks] == [(1, "queued", "write the report")]

    shown = runner.invoke(cli, ["tasks", "show", "1"], env=env)
    assert shown.exit_code == 0 and "Goal: write the report" in shown.output

    cancelled = runner.invoke(cli, ["tasks", "cancel", "1"], env=env)
    assert cancelled.exit_code == 0 and "Cancelling task #1" in cancelled.output
    again = runner.invoke(cli, ["tasks", "cancel", "1"], env=env)
    assert again.exit_code == 1 and "already cancelled" in again.output
    missing = runner.invoke(cli, ["tasks", "show", "7"], env=env)
    assert missing.exit_code == 1 and "no task #7" in missing.output

    jobs = runner.invoke(cli, ["jobs", "list", "--json"], env=env)
    assert jobs.exit_code == 0, jobs.output
    [job] = json.loads(jobs.output)
    assert (job["kind"], job["text"], job["status"]) == ("reminder", "call Ana", "active")
