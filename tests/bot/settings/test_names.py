"""Empty values count as not set; names that look like settings but are none are named,
with the closest real setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings, load_settings, unknown_variables
from bot.settings.names import setting_names

EVERY_SETTING = sorted(
    setting_names(
        {
            name: field.annotation  # type: ignore[misc]
            for name, field in Settings.model_fields.items()
        }
    )
)


def _defaults() -> dict[str, object]:
    return Settings(_env_file=None).model_dump()  # type: ignore[call-arg]


def test_there_are_settings_to_check() -> None:
    assert {"OPENAI_API_KEY", "CLAWLING_MODEL", "TELEGRAM_BOT_TOKEN", "SLACK_API_URL"} <= set(
        EVERY_SETTING
    )


def test_every_setting_left_empty_in_dotenv_is_its_default(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("".join(f"{name}=\n" for name in EVERY_SETTING))
    assert load_settings().model_dump() == _defaults()


def test_every_setting_left_empty_in_the_environment_is_its_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in EVERY_SETTING:
        monkeypatch.setenv(name, "")
    assert load_settings().model_dump() == _defaults()


def test_an_empty_key_is_a_missing_key(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("OPENAI_API_KEY=\n")
    problem = load_settings().llm_problem()
    assert problem is not None and problem.startswith("No model is configured. Set OPENAI_API_KEY")


def test_misspelt_names_get_the_closest_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("TELEGRAM_TOKEN=1\nCLAWLING_TIMEZOME=UTC\n")
    monkeypatch.setenv("CLAWLING_MODLE", "x")
    monkeypatch.setenv("OPENAI_API_BASE", "http://localhost:11434/v1")
    monkeypatch.setenv("SLACK_BOT_TOKNE", "xoxb-1")
    monkeypatch.setenv("CLAWLING_MODLE_FILE", "/run/secrets/model")
    monkeypatch.setenv("CLAWLING_QWERTYUIOP", "1")
    assert unknown_variables() == [
        "CLAWLING_MODLE is not a setting — did you mean CLAWLING_MODEL?",
        "CLAWLING_MODLE_FILE is not a setting — did you mean CLAWLING_MODEL_FILE?",
        "CLAWLING_QWERTYUIOP is not a setting (see the settings table in the README)",
        "CLAWLING_TIMEZOME is not a setting — did you mean CLAWLING_TIMEZONE? (in .env)",
        "OPENAI_API_BASE is not a setting — did you mean OPENAI_BASE_URL?",
        "SLACK_BOT_TOKNE is not a setting — did you mean SLACK_BOT_TOKEN?",
        "TELEGRAM_TOKEN is not a setting — did you mean TELEGRAM_BOT_TOKEN? (in .env)",
    ]


def test_legitimate_names_under_our_prefixes_are_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("OPENAI_API_KEY_FILE=/run/secrets/openai\nPOSTGRES_PASSWORD=x\n")
    for name in [
        "OPENAI_ORG_ID",  # read by the openai library itself
        "OPENAI_PROJECT_ID",
        "SLACK_CLIENT_ID",  # the Slack SDK's OAuth flow
        "CLAWLING_TEST_POSTGRES_URL",  # the test suite's switches
        "TELEGRAM_BOT_TOKEN_FILE",  # a secret from a file
        "CLAWLING_MODEL",
    ]:
        monkeypatch.setenv(name, "x")
    assert unknown_variables() == []
