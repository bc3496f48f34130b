"""Settings come from the environment and .env; bad ones become one line each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import load_settings


def test_dotenv_and_environment_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text(
        "OPENAI_API_KEY=sk-from-file\nCLAWLING_MODEL=deepseek-chat\n"
        "CLAWLING_FALLBACK_MODELS=deepseek-reasoner, gpt-4.1-mini ,\n"
        "OPENAI_BASE_URL=https://api.deepseek.com/\n"
    )
    monkeypatch.setenv("CLAWLING_MODEL", "from-environment")
    settings = load_settings()
    assert settings.openai.api_key is not None
    assert settings.openai.api_key.get_secret_value() == "sk-from-file"
    assert settings.openai.base_url == "https://api.deepseek.com"
    assert settings.models == ["from-environment", "deepseek-reasoner", "gpt-4.1-mini"]
    assert settings.database_url == "sqlite:///data/clawling.db"
    assert settings.llm_problem() is None


def test_local_endpoints_need_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().llm_problem() is not None  # OpenAI without a key
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:11434/v1")
    assert load_settings().llm_problem() is None


def test_every_bad_setting_gets_its_own_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAWLING_TIMEZONE", "Nowhere/Special")
    monkeypatch.setenv("CLAWLING_MAX_TOOL_STEPS", "-3")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value")
    monkeypatch.setenv("CLAWLING_HTTP_PORT", "99999")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    lines = str(caught.value).splitlines()
    assert len(lines) == 3
    assert all(line.startswith("Setting CLAWLING_") and "Fix:" in line for line in lines)
    assert "sk-secret-value" not in str(caught.value)


def test_secrets_can_come_from_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "openai_key"
    secret.write_text("sk-from-docker-secret\n")
    monkeypatch.setenv("OPENAI_API_KEY_FILE", str(secret))
    (tmp_path / ".env").write_text(f"CLAWLING_DATABASE_URL_FILE={tmp_path / 'db_url'}\n")
    (tmp_path / "db_url").write_text("postgresql+asyncpg://clawling:pw@db/clawling")
    settings = load_settings()
    assert settings.openai.api_key is not None
    assert settings.openai.api_key.get_secret_value() == "sk-from-docker-secret"
    assert settings.database_url == "postgresql+asyncpg://clawling:pw@db/clawling"


def test_a_missing_secret_file_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY_FILE", "/run/secrets/nope")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value) == (
        "Setting OPENAI_API_KEY_FILE points to /run/secrets/nope, which cannot be read "
        "(No such file or directory). Fix: mount the secret file there, or set OPENAI_API_KEY "
        "directly."
    )
    monkeypatch.setenv("OPENAI_API_KEY", "sk-1")
    with pytest.raises(ConfigError, match="Both OPENAI_API_KEY and OPENAI_API_KEY_FILE are set"):
        load_settings()


def test_urls_in_bad_settings_are_shown_without_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "ftp://me:pw-hunter2@llm.local/v1?key=k-5150")
    monkeypatch.setenv("CLAWLING_SEARXNG_URL", "searx.local/?token=t-8086")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value).splitlines() == [
        "Setting OPENAI_BASE_URL is invalid: must start with http:// or https:// "
        "(got 'ftp://me:***@llm.local/v1?key=***'). "
        "Fix: use the endpoint's full URL, e.g. https://api.deepseek.com.",
        "Setting CLAWLING_SEARXNG_URL is invalid: must start with http:// or https:// "
        "(got 'searx.local/?token=***'). "
        "Fix: use your SearXNG instance's URL, e.g. http://searxng:8080.",
    ]


def test_the_model_endpoint_takes_its_key_apart_from_the_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "https://team:pw-hunter2@llm.local/v1")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value) == (
        "Setting OPENAI_BASE_URL is invalid: must not contain a user or password; put the key "
        "in OPENAI_API_KEY (got 'https://team:***@llm.local/v1'). "
        "Fix: use the endpoint's full URL, e.g. https://api.deepseek.com."
    )


def test_values_of_secret_settings_are_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    servers = {
        "wiki": {
            "url": "ftp://wiki.local/mcp?sig=mcp-url-secret",
            "headers": {"Authorization": "Bearer mcp-header-secret"},
            "tools": ["*"],
            "scope": "shared",
        },
        "gh": {
            "command": "mcp-github",
            "env": {"GITHUB_TOKEN": ["mcp-env-secret"]},
            "tools": [],
            "scope": "shared",
        },
    }
    secrets = {
        "TELEGRAM_BOT_TOKEN": "tg-token-secret",
        "TELEGRAM_WEBHOOK_SECRET": "webhook secret with spaces",
        "SLACK_BOT_TOKEN": "slack-bot-secret",
        "SLACK_APP_TOKEN": "slack-app-secret",
        "CLAWLING_MCP_SERVERS": json.dumps(servers),
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    for value in [*secrets.values(), "mcp-url-secret", "mcp-header-secret", "mcp-env-secret"]:
        assert value not in message
    assert "wiki.local" not in message  # nothing of the MCP JSON but names
    lines = message.splitlines()
    assert len(lines) == 6, message
    assert all(line.startswith("Setting ") and "Fix:" in line for line in lines)
    named = {line.split()[1] for line in lines}
    assert named == set(secrets)
    # The MCP lines say where in the JSON the problem is, by names only.
    assert any("(in wiki)" in line for line in lines)
    assert any("(in gh.env.GITHUB_TOKEN)" in line for line in lines)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("postgresql+asyncpg://app:pw-hunter2@db:notaport/app", "cannot be read as a database URL"),
        ("postgresql+asyncpg://app:pw-hunter2@@@:::/app", "cannot be read as a database URL"),
        ("postgresql+asyncpg:/app:pw-hunter2@db/app", "cannot be read as a database URL"),
        ("postgresql+asyncpg://app:pw@hunter2@db/app", "the password contains @"),
        ("postgres://app:pw-hunter2@db:99999/app", "port must be a number from 1 to 65535"),
        ("mysql://app:pw-hunter2@db/app", "only sqlite and postgresql"),
        ("sqlite:////", "names a folder"),
        ("sqlite:///", "names no database file"),
        ("sqlite://", "names no database file"),
    ],
)
def test_a_malformed_database_url_is_one_line_without_its_password(
    monkeypatch: pytest.MonkeyPatch, url: str, problem: str
) -> None:
    monkeypatch.setenv("CLAWLING_DATABASE_URL", url)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    [line] = str(caught.value).splitlines()
    assert line.startswith("Setting CLAWLING_DATABASE_URL is invalid: ")
    assert problem in line
    assert "hunter2" not in line
    assert line.endswith(
        "Fix: use sqlite:///path/to/file.db or postgresql+asyncpg://user:pass@host/db."
    )


@pytest.mark.parametrize(
    ("name", "value", "fix"),
    [
        ("CLAWLING_STREAM", "sometimes", "use auto (default: stream, and find out whether"),
        ("CLAWLING_MAX_OUTPUT_TOKENS", "8", "use a whole number of tokens for one reply"),
        ("CLAWLING_MAX_OUTPUT_TOKENS", "lots", "use a whole number of tokens for one reply"),
    ],
)
def test_model_output_settings_refuse_with_one_line(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, fix: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    [line] = str(caught.value).splitlines()
    assert line.startswith(f"Setting {name} is invalid") and f"Fix: {fix}" in line


def test_model_output_settings_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (load_settings().core.stream, load_settings().core.max_output_tokens) == ("auto", 2048)
    monkeypatch.setenv("CLAWLING_STREAM", "OFF")
    monkeypatch.setenv("CLAWLING_MAX_OUTPUT_TOKENS", "512")
    assert (load_settings().core.stream, load_settings().core.max_output_tokens) == ("off", 512)


@pytest.mark.parametrize(
    ("queue", "database", "expected"),
    [
        (
            "redis://:pw-hunter2@cache:6379/0",
            "postgresql+asyncpg://app@db/app",
            "Setting CLAWLING_QUEUE_URL is invalid: the queue runs on PostgreSQL only, not "
            "redis (got 'redis://:***@cache:6379/0'). Fix: use postgresql://user:pass@host/db",
        ),
        (
            "postgresql://app:pw-hunter2@db/app",
            None,
            "CLAWLING_QUEUE_URL is set but the database is SQLite, which one process uses "
            "alone. Fix: set CLAWLING_DATABASE_URL to PostgreSQL, or remove CLAWLING_QUEUE_URL",
        ),
    ],
)
def test_a_queue_that_cannot_work_stops_start_up_in_one_line(
    monkeypatch: pytest.MonkeyPatch, queue: str, database: str | None, expected: str
) -> None:
    monkeypatch.setenv("CLAWLING_QUEUE_URL", queue)
    if database is None:
        monkeypatch.delenv("CLAWLING_DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("CLAWLING_DATABASE_URL", database)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    [line] = str(caught.value).splitlines()
    assert line.startswith(expected)
    assert "hunter2" not in line


def test_the_queue_may_be_the_database_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql+asyncpg://app@db/app"
    monkeypatch.setenv("CLAWLING_DATABASE_URL", url)
    monkeypatch.setenv("CLAWLING_QUEUE_URL", url)
    assert load_settings().core.queue_url == url
    monkeypatch.delenv("CLAWLING_QUEUE_URL")
    assert load_settings().core.queue_url is None  # unset: background work in-process
