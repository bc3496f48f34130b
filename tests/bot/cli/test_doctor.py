"""`clawling doctor`: each check, and each chat app's credentials checked without starting it."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from bot.app import build_app
from bot.cli.doctor import run_checks
from tests.bot.cli.harness import run
from tests.conftest import _drop_postgres_database, _fresh_postgres_database, make_settings
from tests.fakes.openai_server import FakeOpenAI, Reply, echo
from tests.fakes.slack import APP_TOKEN, BOT_TOKEN, FakeSlack
from tests.fakes.telegram_server import FakeTelegram


async def test_doctor_checks_both_chat_apps(
    fake_llm: FakeOpenAI, sqlite_url: str, tmp_path: Path
) -> None:
    telegram = await FakeTelegram().start()
    slack = await FakeSlack().start()
    try:
        settings = make_settings(fake_llm, sqlite_url, tmp_path)
        settings.telegram = settings.telegram.model_validate(
            {
                "bot_token": "999:WrongTokenAbcdefghijklmnopqrstuvwxyz",
                "base_url": telegram.url,
                "base_file_url": telegram.file_url,
            }
        )
        settings.slack = settings.slack.model_validate(
            {"bot_token": BOT_TOKEN, "app_token": APP_TOKEN, "api_url": slack.api_url}
        )
        app = build_app(settings)
        await app.prepare_database()
        try:
            results = {check.name: check for check in await run_checks(app)}
        finally:
            await app.close()
    finally:
        await slack.stop()
        await telegram.stop()
    assert results["slack"].ok and "Socket Mode" in results["slack"].detail
    assert not results["telegram"].ok
    assert results["telegram"].detail.startswith("Telegram refused TELEGRAM_BOT_TOKEN")
    assert results["telegram"].fix.startswith("copy the token from @BotFather")
    assert results["model endpoint"].ok and results["migrations"].ok


def test_a_fresh_terminal_only_set_up_passes_with_notes_and_creates_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    fresh = {k: v for k, v in env.items() if k not in {"CLAWLING_DATABASE_URL", "COLUMNS"}}
    result = run(["doctor"], fresh)
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    data = tmp_path / "data"
    assert lines[0] == f"ok   settings: model fake-model, database sqlite:///{data}/clawling.db"
    assert lines[1] == (
        f"note database: none yet; `clawling chat` or `clawling run` creates "
        f"{data}/clawling.db and its schema"
    )
    assert lines[2].startswith("ok   model endpoint: ")
    assert lines[3] == (
        "note context window: the endpoint does not say; 32,000 tokens assumed until an "
        "overflow error tells (set CLAWLING_MODEL_CONTEXT_TOKENS to be sure)"
    )
    assert lines[4].startswith("note tool calling: ")
    assert lines[5].startswith("note tool calls streamed: ")
    assert lines[6].startswith("note usage in streams: ")
    # Piped, rich would wrap at 80 columns: each check stays one line, and no log line
    # is mixed into the report.
    assert lines[7].startswith("note chat apps: none configured: `clawling chat` talks")
    assert len(lines) == 8
    assert not data.exists()


def test_doctor_reports_each_check(
    env: dict[str, str], fake_llm: FakeOpenAI, tmp_path: Path
) -> None:
    result = run(["doctor"], {**env, "CLAWLING_MODLE": "typo"})
    assert result.returncode == 1
    out = result.stdout
    assert "FAIL settings: CLAWLING_MODLE is not a setting — did you mean CLAWLING_MODEL?" in out
    assert "      fix: rename or remove it" in out
    assert "note database: none yet" in out
    assert "ok   model endpoint" in out
    assert not (tmp_path / "clawling.db").exists()

    (tmp_path / "clawling.db").touch()  # a database with no schema yet: start-up migrates
    result = run(["doctor"], env)
    assert result.returncode == 0, result.stdout
    assert "ok   database: reachable" in result.stdout
    assert "note migrations: database at empty, code expects" in result.stdout

    assert run(["db", "upgrade"], env).returncode == 0
    fake_llm.models = ["llama3.2", "qwen2.5"]
    fake_llm.responder = lambda _request: Reply(status=404, error_message="model not found")
    result = run(["doctor"], env)
    assert result.returncode == 1
    assert "ok   migrations: at" in result.stdout
    assert (
        f"FAIL model endpoint: HTTP 404 from {fake_llm.url}: model not found "
        "(it offers: llama3.2, qwen2.5)" in result.stdout
    )
    assert "      fix: set CLAWLING_MODEL to one of: llama3.2, qwen2.5" in result.stdout


def test_doctor_tells_a_stopped_model_server_from_a_slow_one(env: dict[str, str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    result = run(["doctor"], {**env, "OPENAI_BASE_URL": url})
    assert result.returncode == 1
    assert f"FAIL model endpoint: can't reach {url}: connection refused" in result.stdout
    assert f"fix: start the model server, or correct OPENAI_BASE_URL (now {url})" in (result.stdout)
    assert "Traceback" not in result.stdout + result.stderr


def test_doctor_shows_no_credential_even_when_a_server_echoes_one(
    env: dict[str, str], fake_llm: FakeOpenAI
) -> None:
    key = "proxy-key-0123456789"  # no known shape: only the setting says it is secret
    fake_llm.responder = lambda _request: Reply(
        status=401, error_message=f"Incorrect API key provided: {key}"
    )
    result = run(["doctor"], {**env, "OPENAI_API_KEY": key})
    assert f"FAIL model endpoint: HTTP 401 from {fake_llm.url}: " in result.stdout
    assert "Incorrect API key provided: <redacted>" in result.stdout
    assert "Incorrect API key provided: <redacted>" in result.stderr  # the log's warning
    assert key not in result.stdout + result.stderr


def _calls_offered_tool(request: dict[str, Any]) -> Reply:
    """A model that uses a tool whenever one is offered."""
    if request.get("tools"):
        return Reply(tool_calls=[(request["tools"][0]["function"]["name"], {})])
    return echo(request)


def test_doctor_reports_what_a_capable_endpoint_supports(
    env: dict[str, str], fake_llm: FakeOpenAI
) -> None:
    fake_llm.responder = _calls_offered_tool
    fake_llm.models_fields = {"max_model_len": 8192}  # as vLLM says it
    assert run(["db", "upgrade"], env).returncode == 0
    result = run(["doctor"], {**env, "CLAWLING_EMBEDDING_MODEL": "toy"})
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    facts = lines[lines.index(next(x for x in lines if "model endpoint" in x)) + 1 :]
    assert facts[:5] == [
        "ok   context window: 8,192 tokens (from GET /models)",
        'note tool calling: a tool call came back (tool_choice "auto")',
        "note tool calls streamed: the tool call arrived in the stream",
        "note usage in streams: streamed answers report their token usage",
        "ok   embeddings: CLAWLING_EMBEDDING_MODEL=toy: one vector of 64 numbers per text",
    ]
    probes = [r for r in fake_llm.requests if r.get("tools")]
    assert all(r["max_tokens"] <= 48 for r in probes) and len(probes) == 2
    assert [r["input"] for r in fake_llm.embedding_requests] == [
        ["clawling doctor", "a second, longer text to check the embedding shape"]
    ]


def test_doctor_reports_what_an_incapable_endpoint_lacks(
    env: dict[str, str], fake_llm: FakeOpenAI, tmp_path: Path
) -> None:
    fake_llm.cannot_stream_tools = True  # only keep-alives when a streamed request has tools
    fake_llm.ping_seconds = 0.3
    fake_llm.no_stream_usage = True
    fake_llm.embeddings_per_token = True
    result = run(["doctor"], {**env, "CLAWLING_EMBEDDING_MODEL": "toy"})
    assert result.returncode == 1
    out = result.stdout
    assert (
        'note tool calling: a tool call came back only with tool_choice "required"; with '
        '"auto" the model answered in text, so it may seldom use its tools'
    ) in out
    assert (
        "note tool calls streamed: a streamed request brought no tool call: the stream ended "
        "after 0 chunks, the rest keep-alives or nothing"
    ) in out
    assert "note usage in streams: streamed answers report no token usage" in out
    assert (
        "FAIL embeddings: CLAWLING_EMBEDDING_MODEL=toy: the endpoint returned one vector per "
        "token (2 for a text), not one per text\n"
        "      fix: serve a model that gives one vector per text (llama.cpp: start it with "
        "--pooling mean), or unset CLAWLING_EMBEDDING_MODEL for full-text search only"
    ) in out
    assert not (tmp_path / "clawling.db").exists()  # doctor changes nothing


def test_doctor_says_when_no_tool_call_comes_back(
    env: dict[str, str], fake_llm: FakeOpenAI
) -> None:
    fake_llm.tool_choice_required = False
    fake_llm.embedding_status = 503
    result = run(["doctor"], {**env, "CLAWLING_EMBEDDING_MODEL": "toy"})
    assert result.returncode == 1, result.stdout
    assert (
        'note tool calling: no tool call came back with tool_choice "auto" or "required": '
        "the assistant can talk with this model but not use its tools"
    ) in result.stdout
    assert (
        "note tool calls streamed: not probed: no tool call came back without streaming"
    ) in result.stdout
    assert (
        f"FAIL embeddings: CLAWLING_EMBEDDING_MODEL=toy: HTTP 503 from {fake_llm.url}: "
        "embeddings down\n"
        "      fix: start the embedding server, or correct CLAWLING_EMBEDDING_MODEL (or unset it)"
    ) in result.stdout


async def test_doctor_names_the_queue_and_whether_it_answers(
    fake_llm: FakeOpenAI, postgres_url: str, sqlite_url: str, tmp_path: Path
) -> None:
    async def queue_check(database_url: str, queue_url: str | None) -> Any:
        settings = make_settings(fake_llm, database_url, tmp_path, queue_url=queue_url)
        app = build_app(settings)
        await app.prepare_database()
        try:
            return {check.name: check for check in await run_checks(app)}["queue"]
        finally:
            await app.close()

    name, separate = _fresh_postgres_database()  # reachable, never migrated
    try:
        settings = make_settings(fake_llm, postgres_url, tmp_path, queue_url=separate)
        app = build_app(settings)
        await app.prepare_database()
        try:
            fresh = {check.name: check for check in await run_checks(app)}["queue"]
        finally:
            await app.close()
    finally:
        _drop_postgres_database(name)
    assert fresh.state == "note" and fresh.detail.endswith(
        "reachable; its tables are made when `clawling run` or `clawling worker` starts"
    )
    alone = await queue_check(sqlite_url, None)
    assert alone.ok and alone.detail == "none: `clawling run` runs background task steps itself"
    shared = await queue_check(postgres_url, postgres_url)
    assert shared.ok, shared.detail
    assert shared.detail.startswith("procrastinate on postgresql+asyncpg://postgres@")
    assert shared.detail.endswith(
        "reachable; 0 steps waiting, 0 running (run them with `clawling worker`)"
    )
    gone = await queue_check(postgres_url, "postgresql://nobody:pw-hunter2@127.0.0.1:9/queue")
    assert not gone.ok
    assert gone.detail.startswith(
        "procrastinate on postgresql://nobody:***@127.0.0.1:9/queue: unreachable: "
    )
    assert "hunter2" not in gone.detail
    assert gone.fix == "start PostgreSQL or correct CLAWLING_QUEUE_URL"
