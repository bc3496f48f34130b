"""Settings come from the environment and .env; bad ones become one line each."""

from __future__ import annotations

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
