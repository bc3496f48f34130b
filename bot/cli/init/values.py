"""Checking what a person typed or passed to `clawling init` by the rules the settings
themselves apply, so a value the wizard accepts is one Clawling starts with."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from bot.settings import CoreSettings, OpenAISettings, TelegramSettings


def _problem(model: type[BaseModel], **values: Any) -> str | None:
    try:
        model(**values)
    except ValidationError as exc:
        return str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
    return None


def base_url_problem(url: str) -> str | None:
    """What is wrong with `url` as OPENAI_BASE_URL, or None."""
    return _problem(OpenAISettings, base_url=url)


def telegram_token_problem(token: str) -> str | None:
    """What is wrong with `token` as TELEGRAM_BOT_TOKEN, or None."""
    return _problem(TelegramSettings, bot_token=token)


def owner_problem(entry: str) -> str | None:
    """What is wrong with `entry` as one of CLAWLING_OWNERS, or None."""
    return _problem(CoreSettings, owners=[entry])


def slack_token_problem(bot_token: str | None, app_token: str | None) -> tuple[str, str] | None:
    """What is wrong with SLACK_BOT_TOKEN and SLACK_APP_TOKEN (Socket Mode): which token
    ("bot" or "app") and how, or None."""
    if bot_token and not bot_token.startswith("xoxb-"):
        return "bot", "must be the Bot User OAuth Token, which starts with xoxb-"
    if app_token and not app_token.startswith("xapp-"):
        return "app", "must be an app-level token, which starts with xapp-"
    if bot_token and not app_token:
        return "app", "is needed with the bot token (Socket Mode)"
    if app_token and not bot_token:
        return "bot", "is needed with the app token"
    return None


def normalise_url(url: str) -> str:
    """`url` as the settings keep it (no trailing slash)."""
    return url.strip().rstrip("/")
