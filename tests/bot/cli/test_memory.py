"""`clawling memory ...` end to end on real databases (the typer app, in process)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.app import build_app
from bot.cli.main import cli
from bot.settings import load_settings

LINES = [
    {
        "ref": "m1",
        "speaker": "Alice",
        "text": "I adopted a greyhound called Pip",
        "at": "2026-03-02T10:00:00",
    },
    {
        "ref": "m2",
        "speaker": "assistant",
        "text": "Congratulations on Pip!",
        "at": "2026-03-02T10:01:00Z",
    },
    {
        "ref": "m3",
        "speaker": "Alice",
        "text": "Pip loves the beach",
        "at": "2026-04-10T09:00:00+02:00",
    },
]


@pytest.fixture
def run(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CLAWLING_DATABASE_URL", database_url)
    monkeypatch.setenv("CLAWLING_DATA_DIR", str(tmp_path / "data"))
    return CliRunner()


def _write(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_import_is_idempotent_and_reports_bad_lines(run: CliRunner, tmp_path: Path) -> None:
    history = _write(
        tmp_path / "h.jsonl", [LINES[0], "{not json", LINES[1], {"ref": "x"}, "", LINES[2]]
    )
    result = run.invoke(cli, ["memory", "import", "--user", "telegram:42", str(history)])
    assert result.exit_code == 1
    assert "imported 3 messages, 0 were already there" in result.stdout
    assert "line 2 skipped: not JSON" in result.stderr
    assert "line 4 skipped:" in result.stderr and "line 5" not in result.stderr

    again = run.invoke(
        cli, ["memory", "import", "--user", "telegram:42", str(_write(tmp_path / "g.jsonl", LINES))]
    )
    assert again.exit_code == 0 and "imported 0 messages, 3 were already there" in again.stdout

    found = run.invoke(
        cli, ["memory", "search", "--user", "telegram:42", "--limit", "2", "--json", "greyhound"]
    )
    assert found.exit_code == 0, found.output
    results = json.loads(found.stdout)
    assert results[0]["ref"] == "m1" and results[0]["kind"] == "message"
    assert set(results[0]) >= {"ref", "kind", "text", "at", "score"}
    assert results[0]["at"] == "2026-03-02T10:00:00+00:00" and len(results) <= 2


def test_batch_queries_and_hostile_input(run: CliRunner, tmp_path: Path) -> None:
    run.invoke(
        cli,
        ["memory", "import", "--user", "console:alice", str(_write(tmp_path / "h.jsonl", LINES))],
    )
    queries = _write(
        tmp_path / "q.jsonl",
        [
            {"id": "a", "query": "beach"},
            {"id": 2, "query": 'NEAR( "* OR'},
            "oops",
            {"id": "c", "query": ""},
        ],
    )
    result = run.invoke(
        cli, ["memory", "search", "--user", "console:alice", "--queries", str(queries)]
    )
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["id"] for a in answers] == ["a", 2, "c"]
    assert answers[0]["results"][0]["text"] == "Pip loves the beach"
    assert answers[2]["results"] == []
    assert "line 3 skipped" in result.stderr and result.exit_code == 1


def test_list_export_forget_and_unknown_users(run: CliRunner, tmp_path: Path) -> None:
    run.invoke(
        cli, ["memory", "import", "--user", "slack:U1", str(_write(tmp_path / "h.jsonl", LINES))]
    )
    assert "no memories" in run.invoke(cli, ["memory", "list", "--user", "slack:U1"]).stdout
    exported = run.invoke(cli, ["memory", "export", "--user", "slack:U1"])
    document = json.loads(exported.stdout)
    assert [m["text"] for m in document["messages"]][0] == "I adopted a greyhound called Pip"

    missing = run.invoke(cli, ["memory", "list", "--user", "slack:U2"])
    assert missing.exit_code == 1 and "no user slack:U2" in missing.stderr
    bad = run.invoke(cli, ["memory", "search", "--user", "nocolon", "x"])
    assert bad.exit_code == 1 and "is not platform:id" in bad.stderr

    assert run.invoke(cli, ["memory", "forget", "--user", "slack:U1", "nothing"]).exit_code == 1
    erased = run.invoke(cli, ["memory", "forget", "--user", "slack:U1", "--everything", "--yes"])
    assert erased.exit_code == 0 and "deleted 0 memories, 3 messages" in erased.stdout
    after = run.invoke(cli, ["memory", "search", "--user", "slack:U1", "--json", "Pip"])
    assert json.loads(after.stdout) == []


async def _remember(user_name: str, display: str, facts: list[str]) -> None:
    app = build_app(load_settings())
    await app.prepare_database()
    try:
        platform, _, account = user_name.partition(":")
        user = await app.store.resolve_identity(platform, account, display)
        for fact in facts:
            await app.memory.memories.remember(user.id, fact)
    finally:
        await app.close()


def test_list_names_the_person_by_account_and_name(run: CliRunner) -> None:
    asyncio.run(_remember("telegram:42", "Ann", ["likes tea", "lives in Porto"]))
    listed = run.invoke(cli, ["memory", "list", "--user", "telegram:42"])
    assert listed.exit_code == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0] == "telegram:42 (Ann): 2 memories"
    assert sorted(line.split(": ", 1)[1].split("  — ")[0] for line in lines[1:]) == [
        "likes tea",
        "lives in Porto",
    ]
    gone = run.invoke(cli, ["memory", "forget", "--user", "telegram:42", "--everything", "--yes"])
    assert gone.stdout.startswith("telegram:42 (Ann): deleted 2 memories")


# The report: six Chinese and Japanese messages imported, then a search for
# words that are literally in them found nothing.
CJK_LINES = [
    {"ref": "z1", "speaker": "小林", "text": "下周我要去上海出差", "at": "2026-03-01T09:00:00Z"},
    {"ref": "z2", "speaker": "小林", "text": "我的生日是三月十二号", "at": "2026-03-01T09:01:00Z"},
    {"ref": "z3", "speaker": "小林", "text": "我对花生过敏，不能吃", "at": "2026-03-01T09:02:00Z"},
    {"ref": "z4", "speaker": "小林", "text": "明天上午十点开会", "at": "2026-03-01T09:03:00Z"},
    {
        "ref": "z5",
        "speaker": "田中",
        "text": "来月東京に引っ越します",
        "at": "2026-03-01T09:04:00Z",
    },
    {
        "ref": "z6",
        "speaker": "田中",
        "text": "昨日は寿司を食べました",
        "at": "2026-03-01T09:05:00Z",
    },
]


@pytest.mark.parametrize(
    ("word", "ref"),
    [
        ("上海", "z1"),
        ("生日", "z2"),
        ("过敏", "z3"),
        ("开会", "z4"),
        ("東京", "z5"),
        ("寿司", "z6"),
    ],
)
def test_chinese_and_japanese_words_are_found_after_an_import(
    run: CliRunner, tmp_path: Path, word: str, ref: str
) -> None:
    history = _write(tmp_path / "cjk.jsonl", CJK_LINES)
    imported = run.invoke(cli, ["memory", "import", "--user", "telegram:7", str(history)])
    assert imported.exit_code == 0 and "imported 6 messages" in imported.stdout
    found = run.invoke(cli, ["memory", "search", "--user", "telegram:7", "--json", word])
    assert found.exit_code == 0, found.output
    results = json.loads(found.stdout)
    assert results[0]["ref"] == ref and word in results[0]["text"]
