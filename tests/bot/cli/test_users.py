"""`clawling users list|show|block|unblock|role|remove` on real databases (the typer
app, in process): what each prints, and its exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.main import cli
from tests.bot.cli.people import chat, set_environment, tokens_of
from tests.fakes.openai_server import FakeOpenAI, Reply


@pytest.fixture
def run(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_llm: FakeOpenAI
) -> CliRunner:
    set_environment(monkeypatch, fake_llm, database_url, tmp_path)
    return CliRunner()


def listing(run: CliRunner) -> list[dict[str, object]]:
    result = run.invoke(cli, ["users", "list", "--json"])
    assert result.exit_code == 0, result.stderr
    return list(json.loads(result.stdout))


def test_list_counts_usage_from_the_model_calls(run: CliRunner, fake_llm: FakeOpenAI) -> None:
    fake_llm.add(Reply(text="Hello Max!"))
    fake_llm.add(Reply(text="Sure."))
    chat("7", "Max", "hello", "tell me something")
    spent = tokens_of("telegram:7")
    assert spent > 0

    owner, member = listing(run)
    assert owner == {
        "id": "telegram:1",
        "name": "1",
        "role": "owner",
        "status": "active",
        "identities": ["telegram:1"],
        "tokens_today": 0,
        "tokens_month": 0,
        "daily_quota": 0,
        "daily_quota_is_default": True,
        "monthly_quota": 0,
        "monthly_quota_is_default": True,
    }
    assert member == {
        "id": "telegram:7",
        "name": "Max",
        "role": "member",
        "status": "active",
        "identities": ["telegram:7"],
        "tokens_today": spent,
        "tokens_month": spent,
        "daily_quota": 5000,
        "daily_quota_is_default": True,
        "monthly_quota": 0,
        "monthly_quota_is_default": True,
    }

    text = run.invoke(cli, ["users", "list"])
    assert text.exit_code == 0
    header, first, second = text.stdout.splitlines()
    assert header.split() == [
        "NAME",
        "ACCOUNT",
        "ROLE",
        "STATUS",
        "TOKENS",
        "TODAY",
        "TOKENS",
        "THIS",
        "MONTH",
    ]
    assert first.split()[:4] == ["1", "telegram:1", "owner", "active"]
    assert "0 (unlimited)" in first
    assert second.split()[:4] == ["Max", "telegram:7", "member", "active"]
    assert f"{spent:,} of 5,000" in second and f"{spent:,} (unlimited)" in second


def test_block_unblock_and_roles_and_their_exit_codes(
    run: CliRunner, fake_llm: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_llm.add(Reply(text="Hi."))
    chat("7", "Max", "hello")

    def users(*args: str) -> tuple[int, str, str]:
        result = run.invoke(cli, ["users", *args])
        return result.exit_code, result.stdout.strip(), result.stderr.strip()

    assert users("block", "telegram:7") == (
        0,
        "Blocked telegram:7 (Max): they get no answer from now on.",
        "",
    )
    assert [p["status"] for p in listing(run)] == ["active", "blocked"]
    assert users("block", "TELEGRAM:7") == (0, "telegram:7 (Max) is already blocked.", "")
    assert users("unblock", "telegram:7")[:2] == (
        0,
        "Unblocked telegram:7 (Max): they are answered again.",
    )
    assert users("role", "telegram:7", "owner")[:2] == (0, "telegram:7 (Max) is now an owner.")
    assert users("role", "telegram:1", "member")[:2] == (
        0,
        "telegram:1 is now a member. Note: telegram:1 is in CLAWLING_OWNERS, which makes them "
        "an active owner again at every start; take them out of it too.",
    )
    assert listing(run)[0]["role"] == "owner"  # the next start made it so
    monkeypatch.setenv("CLAWLING_OWNERS", "")
    assert users("role", "telegram:1", "member")[:2] == (0, "telegram:1 is now a member.")

    # telegram:7 is now the only owner.
    refused = "telegram:7 (Max) is the last active owner; the assistant needs one."
    for args in (
        ("block", "telegram:7"),
        ("remove", "telegram:7"),
        ("role", "telegram:7", "member"),
    ):
        code, out, err = users(*args)
        assert (code, out) == (1, "") and err.startswith(refused), args

    assert users("role", "telegram:7", "admin") == (
        2,
        "",
        "The role must be owner or member, not 'admin'.",
    )
    assert users("block", "Max") == (
        2,
        "",
        "User 'Max' is not platform:id (e.g. telegram:42, slack:U123, console:alice).",
    )
    assert users("unblock", "telegram:404") == (
        2,
        "",
        "Nobody has the account telegram:404 (check the platform:id).",
    )
    assert [(p["id"], p["role"], p["status"]) for p in listing(run)] == [
        ("telegram:1", "member", "active"),
        ("telegram:7", "owner", "active"),
    ]


def test_remove_keeps_the_data_and_forget_erases_it(run: CliRunner, fake_llm: FakeOpenAI) -> None:
    fake_llm.add(Reply(text="Hi."))
    chat("7", "Max", "hello")
    spent = tokens_of("telegram:7")

    removed = run.invoke(cli, ["users", "remove", "telegram:7"])
    assert removed.exit_code == 0
    assert (
        removed.stdout
        == "Removed telegram:7 (Max): they get no answer from now on; their data is kept.\n"
    )
    [_, max_] = listing(run)
    assert (max_["status"], max_["tokens_today"]) == ("removed", spent)

    asked = run.invoke(cli, ["users", "remove", "telegram:7", "--forget"], input="n\n")
    assert asked.exit_code == 1 and tokens_of("telegram:7") == spent
    forgot = run.invoke(cli, ["users", "remove", "telegram:7", "--forget", "--yes"])
    assert forgot.exit_code == 0, forgot.stderr
    assert forgot.stdout.startswith(
        "Removed telegram:7 (Max): they get no answer from now on, and their data is erased: "
        "0 memories, 2 messages"
    )
    [_, max_] = listing(run)
    assert (max_["status"], max_["tokens_today"], max_["identities"]) == (
        "removed",
        0,
        ["telegram:7"],
    )
    assert tokens_of("telegram:7") == 0

    shown = run.invoke(cli, ["users", "show", "telegram:7"])
    assert shown.exit_code == 0
    lines = shown.stdout.splitlines()
    assert lines[0] == "telegram:7 (Max)"
    assert lines[1].startswith("  role: member, status: removed, known since 20")
    assert lines[2] == "  accounts: telegram:7"
    assert lines[3] == "  tokens today: 0 of 5,000 (default)"
    assert lines[4] == "  tokens this month: 0 (unlimited) (default)"
    assert lines[5] == "  latest in the audit trail:"
    assert "cli person.removed telegram:7 — was: active" in lines[6]
    assert "cli person.forgotten telegram:7 — memories: 0; messages: 2; summaries: " in lines[7]
    assert run.invoke(cli, ["users", "show", "slack:nobody"]).exit_code == 2


def test_with_prices_the_listing_shows_money(
    run: CliRunner, fake_llm: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """cost = (prompt - cached) × input + cached × cached input + completion × output,
    per million tokens; a model without a price is named, not counted as free."""
    fake_llm.add(Reply(text="Hello Max!"))
    chat("7", "Max", "hello")
    spent = tokens_of("telegram:7")
    monkeypatch.setenv("CLAWLING_MODEL_PRICES", "fake-model=1000/500/2000")
    _, member = listing(run)
    # The fake reports no cached tokens; its prompt and completion counts are in `spent`.
    assert member["cost_today"] == member["cost_month"]
    assert spent * 1000 / 1e6 <= float(member["cost_today"]) <= spent * 2000 / 1e6  # type: ignore[arg-type]
    assert member["unpriced_models"] == []
    text = run.invoke(cli, ["users", "list"]).stdout
    assert "COST TODAY" in text.splitlines()[0] and "$" in text.splitlines()[2]

    monkeypatch.setenv("CLAWLING_MODEL_PRICES", "other-model=1/1/1")
    _, member = listing(run)
    assert member["cost_today"] == 0 and member["unpriced_models"] == ["fake-model"]
    shown = run.invoke(cli, ["users", "show", "telegram:7"]).stdout
    assert "cost today: $0.0000 (no price set for fake-model)" in shown
