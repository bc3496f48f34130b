"""SLACK_* settings: read from the environment, bad combinations stop start-up in one line."""

from __future__ import annotations

import pytest

from bot.errors import ConfigError
from bot.settings import load_settings


def test_socket_mode_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    monkeypatch.setenv("SLACK_ALLOWED_USERS", "U1, U2 ,")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api")
    slack = load_settings().slack
    assert slack.enabled and slack.socket_mode
    assert slack.allowed_users == ["U1", "U2"]
    assert slack.api_url == "http://127.0.0.1:9/api/"


def test_http_mode_needs_only_the_signing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s3cret")
    slack = load_settings().slack
    assert slack.enabled and not slack.socket_mode
    assert slack.api_url == "https://slack.com/api/"


def test_slack_is_off_without_settings() -> None:
    assert not load_settings().slack.enabled


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "neither SLACK_APP_TOKEN nor SLACK_SIGNING_SECRET"),
        ({"SLACK_APP_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN is missing"),
        ({"SLACK_BOT_TOKEN": "xoxp-1", "SLACK_APP_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN is invalid"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-2"}, "SLACK_APP_TOKEN is invalid"),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "SLACK_API_URL": "slack"},
            "SLACK_API_URL is invalid",
        ),
    ],
)
def test_bad_slack_settings_are_one_line_naming_the_fix(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert expected in message and "Fix:" in message
    assert len(message.splitlines()) == 1
    assert "xoxb-2" not in message and "xoxp-1" not in message  # secrets are not echoed
