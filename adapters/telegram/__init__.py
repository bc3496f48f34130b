"""Telegram: python-telegram-bot, polling or webhook, replies streamed as drafts or edits."""

from adapters.telegram.adapter import (
    SECRET_HEADER,
    WEBHOOK_PATH,
    TelegramAdapter,
    TelegramTuning,
)
from adapters.telegram.media import MediaLimits

__all__ = ["SECRET_HEADER", "WEBHOOK_PATH", "MediaLimits", "TelegramAdapter", "TelegramTuning"]
