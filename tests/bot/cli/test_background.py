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


async def _seed_two_people(fake_llm: FakeOpenAI, url: str, data_dir: Path) -> None:
    app = build_app(make_settings(fake_llm, url, data_dir))
    await app.prepare_database()
    try:
        at = datetime.now(UTC) + timedelta(hours=2)
        for account, name, goal in (("42", "Ann", "plan the trip"), ("U7", "Bo", "sort mail")):
            platform = "telegram" if account.isdigit() else "slack"
            user = await app.store.resolve_identity(platform, account, name)
            conversation = await app.store.open_conversation(
                platform, account, "", is_direct=True, owner_id=user.id
            )
            await app.tasks.start(user, conversation, goal)
            await app.jobs.add(user.id, conversation.id, "reminder", f"ping {name}", once_at(at))
    finally:
        await app.close()


def test_people_are_shown_and_chosen_as_platform_accounts(
    fake_llm: FakeOpenAI, sqlite_url: str, tmp_path: Path
) -> None:
    asyncio.run(_seed_two_people(fake_llm, sqlite_url, tmp_path / "data"))
    env = {"CLAWLING_DATABASE_URL": sqlite_url, "CLAWLING_DATA_DIR": str(tmp_path / "data")}
    runner = CliRunner()

    tasks = runner.invoke(cli, ["tasks", "list"], env=env)
    assert tasks.exit_code == 0, tasks.output
    assert "telegram:42 (Ann): plan the trip" in tasks.output
    assert "slack:U7 (Bo): sort mail" in tasks.output
    assert "user " not in tasks.output

    jobs = runner.invoke(cli, ["jobs", "list", "--user", "slack:U7"], env=env)
    assert jobs.exit_code == 0, jobs.output
    (line,) = jobs.output.strip().splitlines()
    assert "slack:U7 (Bo)" in line and line.endswith("ping Bo")

    mine = runner.invoke(cli, ["tasks", "list", "--json", "--user", "telegram:42"], env=env)
    [task] = json.loads(mine.output)
    assert (task["user"], task["user_name"], task["goal"]) == (
        "telegram:42",
        "Ann",
        "plan the trip",
    )
    assert "user_id" not in task
    [job] = json.loads(
        runner.invoke(cli, ["jobs", "list", "--json", "-u", "slack:U7"], env=env).output
    )
    assert (job["user"], job["text"]) == ("slack:U7", "ping Bo") and "user_id" not in job

    shown = runner.invoke(cli, ["tasks", "show", str(task["id"])], env=env)
    assert shown.output.startswith("For telegram:42 (Ann)\n")

    nobody = runner.invoke(cli, ["tasks", "list", "--user", "telegram:99"], env=env)
    assert nobody.exit_code == 1
    assert nobody.output.strip() == "no user telegram:99 is stored (check the platform:id)"
    malformed = runner.invoke(cli, ["jobs", "list", "--user", "42"], env=env)
    assert malformed.exit_code == 1 and "is not platform:id (e.g. telegram:42" in malformed.output
    assert "Traceback" not in malformed.output
