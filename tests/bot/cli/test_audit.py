"""`clawling audit` on real databases: every kind of action shows up (tool calls with a
yes, without a need for one, refused; a skill approved; an export; a restore), as JSON
naming people by `platform:id`, and --user and --since filter it."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.app import build_app
from bot.cli.audit import since_time
from bot.cli.main import cli
from bot.settings import load_settings
from tests.bot.cli.people import chat, set_environment
from tests.bot.conftest import wait_for_message
from tests.fakes.chat import FileChannel
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.fakes.web import LocalSite


@pytest.fixture
def run(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_llm: FakeOpenAI
) -> CliRunner:
    set_environment(monkeypatch, fake_llm, database_url, tmp_path)
    return CliRunner()


def draft(name: str) -> Reply:
    skill = {"name": name, "description": f"The {name} routine.", "instructions": "1. Begin."}
    return Reply(tool_calls=[("create_skill", skill)])


async def _a_day_of_actions(fake_llm: FakeOpenAI, page: str) -> None:
    """A member drafts skills (one call needs no yes, one gets it, one is refused), an
    owner approves a draft, and the member exports their data."""
    app = build_app(load_settings())
    await app.prepare_database()
    channel = FileChannel("telegram")
    app.add_channel(channel)

    async def say(text: str, sender: str = "7", wait: str = "") -> None:
        inbound = replace(channel.inbound(text, sender=sender, chat=sender), sender_name="Max")
        await app.sessions.handle(inbound)
        if wait:
            await wait_for_message(channel, wait)
        else:
            await app.sessions.drain()

    try:
        fake_llm.add(draft("plain"))
        fake_llm.add(Reply(text="Saved."))
        await say("save my routine")
        fake_llm.add(Reply(tool_calls=[("web_fetch", {"url": page})]))
        fake_llm.add(draft("from-web"))
        fake_llm.add(Reply(text="Saved."))
        await say(f"read {page} and save it", wait="Confirmation needed")
        await say("yes")
        fake_llm.add(draft("refused"))
        fake_llm.add(Reply(text="Not saved."))
        await say("one more", wait="save a draft skill 'refused'")
        await say("no")
        await say("/skill_approve plain", sender="1")
        await say("/export")
        assert channel.files, "the export was sent"
    finally:
        await app.close()


def entries(run: CliRunner, *args: str) -> list[dict[str, Any]]:
    result = run.invoke(cli, ["audit", "--json", *args])
    assert result.exit_code == 0, result.stderr
    return list(json.loads(result.stdout))


async def test_the_audit_lists_each_action(
    run: CliRunner,
    fake_llm: FakeOpenAI,
    site: LocalSite,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLAWLING_DAILY_TOKENS", "0")  # a long day: no budget in the way
    site.page("/notes", "<html><body><article><p>Notes from the web.</p></article></body></html>")
    await _a_day_of_actions(fake_llm, site.url("/notes"))
    # The command line runs its own event loop: off this test's loop, in a thread.
    await asyncio.to_thread(_backup_restore_and_read, run, tmp_path / "backup.clawling")


def _backup_restore_and_read(run: CliRunner, backup: Path) -> None:
    assert run.invoke(cli, ["backup", str(backup)]).exit_code == 0
    restored = run.invoke(cli, ["restore", "--yes", str(backup)])
    assert restored.exit_code == 0, restored.stderr

    trail = entries(run)
    assert {tuple(sorted(e)) for e in trail} == {
        ("action", "actor", "at", "detail", "platform", "subject")
    }
    # A tool's own entry (the draft) comes before the call's, written when it ended.
    assert [(e["action"], e["actor"], e["subject"]) for e in trail] == [
        ("skill.drafted", "telegram:7", None),
        ("tool.called", "telegram:7", None),
        ("skill.drafted", "telegram:7", None),
        ("tool.called", "telegram:7", None),
        ("tool.called", "telegram:7", None),
        ("skill.approved", "telegram:1", "telegram:7"),
        ("memory.exported", "telegram:7", None),
        ("database.restored", "cli", None),
    ]
    calls = [e["detail"] for e in trail if e["action"] == "tool.called"]
    assert [(c["approval"], c["outcome"]) for c in calls] == [
        ("not needed", "done"),
        ("approved", "done"),
        ("denied", "not run"),
    ]
    assert calls[1]["answered_by"] == calls[2]["answered_by"] == "telegram:7"
    assert trail[5]["detail"] == {"skill": "plain"}
    assert trail[6]["detail"]["to"] == "sent as a file in the chat"
    assert trail[7]["detail"] == {"backup": str(backup)}
    assert all(e["platform"] == "telegram" for e in trail[:7])

    text = run.invoke(cli, ["audit"]).stdout.splitlines()
    assert len(text) == len(trail)
    assert "telegram:1 skill.approved telegram:7 — skill: plain" in text[5]

    assert [e["action"] for e in entries(run, "--user", "telegram:1")] == ["skill.approved"]
    assert len(entries(run, "--user", "telegram:7")) == 7
    assert entries(run, "--user", "slack:nobody") == []
    assert len(entries(run, "--since", "1h")) == len(trail)
    assert entries(run, "--since", "2999-01-01") == []
    assert len(entries(run, "--since", "2000-01-01", "--limit", "2")) == 2


def test_memory_export_and_forget_from_the_command_line_are_audited(
    run: CliRunner, fake_llm: FakeOpenAI, tmp_path: Path
) -> None:
    fake_llm.add(Reply(text="Hi."))
    chat("7", "Max", "hello")
    out = tmp_path / "max.json"
    assert (
        run.invoke(cli, ["memory", "export", "--user", "telegram:7", "-o", str(out)]).exit_code == 0
    )
    forgot = run.invoke(cli, ["memory", "forget", "--user", "telegram:7", "--everything", "--yes"])
    assert forgot.exit_code == 0
    exported, forgotten = entries(run)
    assert (exported["action"], exported["actor"], exported["subject"]) == (
        "memory.exported",
        "cli",
        "telegram:7",
    )
    assert exported["detail"] == {"memories": 0, "messages": 2, "to": str(out)}
    assert (forgotten["action"], forgotten["subject"]) == ("memory.forgotten", "telegram:7")
    assert forgotten["detail"]["what"] == "everything" and forgotten["detail"]["messages"] == 2


def test_bad_filters_are_one_line_and_exit_2(run: CliRunner) -> None:
    bad_since = run.invoke(cli, ["audit", "--since", "last tuesday"])
    assert bad_since.exit_code == 2
    assert bad_since.stderr == (
        "--since 'last tuesday' is neither a date (2026-12-01) nor an age (24h, 7d)\n"
    )
    bad_user = run.invoke(cli, ["audit", "--user", "max"])
    assert bad_user.exit_code == 2 and "is not platform:id" in bad_user.stderr
    empty = run.invoke(cli, ["audit"])
    assert (empty.exit_code, empty.stdout) == (0, "No audit entries yet.\n")


def test_when_reads_dates_and_ages() -> None:
    now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    assert since_time("24h", now) == now - timedelta(hours=24)
    assert since_time("7d", now) == now - timedelta(days=7)
    assert since_time("30m", now) == now - timedelta(minutes=30)
    assert since_time("2w", now) == now - timedelta(weeks=2)
    assert since_time("2026-12-01", now) == datetime(2026, 12, 1, tzinfo=UTC)
    assert since_time("2026-12-01T08:30+01:00", now) == datetime(2026, 12, 1, 7, 30, tzinfo=UTC)
    with pytest.raises(ValueError):
        since_time("yesterday", now)
