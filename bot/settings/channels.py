"""`TELEGRAM_*` and `SLACK_*` settings: one group per chat platform."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from bot.settings.fields import CommaList, split_commas

TELEGRAM_DEFAULT_BASE_URL = "https://api.telegram.org/bot"
TELEGRAM_DEFAULT_FILE_URL = "https://api.telegram.org/file/bot"
SLACK_DEFAULT_API_URL = "https://slack.com/api/"


class TelegramSettings(BaseModel):
    """`TELEGRAM_*` settings; the Telegram channel runs when a bot token is set."""

    model_config = ConfigDict(extra="ignore")

    bot_token: SecretStr | None = None
    base_url: str = TELEGRAM_DEFAULT_BASE_URL
    base_file_url: str = TELEGRAM_DEFAULT_FILE_URL
    allowed_users: CommaList = Field(default_factory=list)
    mode: Literal["polling", "webhook"] = "polling"
    webhook_secret: SecretStr | None = None

    _split = field_validator("allowed_users", mode="before")(split_commas)

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"\d+:[\w-]{20,}", value.get_secret_value()):
            raise ValueError("is not a bot token (those are digits, a colon, then letters)")
        return value

    @field_validator("base_url", "base_file_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("allowed_users")
    @classmethod
    def _user_entries(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not (v.isdigit() or re.fullmatch(r"@\w{3,}", v))]
        if bad:
            raise ValueError(f"entries must be numeric user ids or @usernames, not {bad[0]!r}")
        return value

    @field_validator("mode", mode="before")
    @classmethod
    def _lower_mode(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()
        ):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value


def _token_with_prefix(value: SecretStr | None, prefix: str, what: str) -> SecretStr | None:
    if value is None or not value.get_secret_value().strip():
        return None
    if not value.get_secret_value().startswith(prefix):
        raise ValueError(f"must be {what}, which starts with {prefix}")
    return SecretStr(value.get_secret_value().strip())


class SlackSettings(BaseModel):
    """`SLACK_*` settings. Socket Mode with an app token; HTTP Events API with a signing secret."""

    model_config = ConfigDict(extra="ignore")

    bot_token: SecretStr | None = None
    app_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    api_url: str = SLACK_DEFAULT_API_URL
    allowed_users: CommaList = Field(default_factory=list)

    _split = field_validator("allowed_users", mode="before")(split_commas)

    @field_validator("bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        return _token_with_prefix(value, "xoxb-", "a bot token")

    @field_validator("app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        return _token_with_prefix(value, "xapp-", "an app-level token")

    @field_validator("signing_secret")
    @classmethod
    def _secret(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value is not None and value.get_secret_value().strip() else None

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") + "/"  # the SDK joins method names onto it

    @model_validator(mode="after")
    def _complete(self) -> SlackSettings:
        if self.bot_token is None:
            if self.app_token or self.signing_secret or self.allowed_users:
                raise ValueError(
                    "SLACK_BOT_TOKEN is missing while other SLACK_* settings are set. Fix: set "
                    "it to the app's Bot User OAuth Token (xoxb-...), or remove the SLACK_* settings"
                )
        elif self.app_token is None and self.signing_secret is None:
            raise ValueError(
                "SLACK_BOT_TOKEN is set but neither SLACK_APP_TOKEN nor SLACK_SIGNING_SECRET is. "
                "Fix: set SLACK_APP_TOKEN (xapp-..., Socket Mode) or SLACK_SIGNING_SECRET "
                "(HTTP Events API at /slack/events); see the README's Slack section"
            )
        return self

    @property
    def enabled(self) -> bool:
        return self.bot_token is not None

    @property
    def socket_mode(self) -> bool:
        return self.app_token is not None


CHANNEL_SETTING_FIXES: dict[str, str] = {
    "TELEGRAM_BOT_TOKEN": (
        "copy the token @BotFather gave you: digits, a colon, then 35 or so letters, digits, "
        "- and _ (like 123456789:AAH-your-token-from-BotFather)"
    ),
    "TELEGRAM_ALLOWED_USERS": "list numeric Telegram user ids or @usernames, separated by commas",
    "TELEGRAM_MODE": "use polling (default) or webhook",
    "TELEGRAM_WEBHOOK_SECRET": "pick a random string of letters, digits, _ and -",
    "TELEGRAM_BASE_URL": "use the Bot API address ending in /bot, e.g. http://localhost:8081/bot",
    "TELEGRAM_BASE_FILE_URL": "use the file address ending in /file/bot",
    "SLACK_BOT_TOKEN": "use the Bot User OAuth Token from the app's OAuth & Permissions page",
    "SLACK_APP_TOKEN": (
        "create an app-level token with the connections:write scope under Basic Information"
    ),
    "SLACK_API_URL": "use the Web API base URL, e.g. https://slack.com/api/",
}
