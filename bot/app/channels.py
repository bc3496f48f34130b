"""Chat apps: Telegram, Slack and the terminal, each added to the app when configured."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console

from adapters.console import ConsoleAdapter
from bot.errors import ConfigError
from bot.http.observability import Gauge
from memory.events import EventStore

if TYPE_CHECKING:
    from adapters.telegram import TelegramAdapter, TelegramTuning
    from bot.app import App
    from bot.chat.inbox import DurableInbox


def add_slack(app: App) -> None:
    """Connect Slack (SLACK_* settings) as a channel of `app`."""
    from adapters.slack import SlackAdapter, SlackConfig  # loads the Slack SDK only when used

    slack = app.settings.slack
    if slack.bot_token is None:
        raise ConfigError("SLACK_BOT_TOKEN is not set. Fix: set it to the app's bot token.")
    config = SlackConfig(
        bot_token=slack.bot_token.get_secret_value(),
        app_token=slack.app_token.get_secret_value() if slack.app_token else None,
        signing_secret=slack.signing_secret.get_secret_value() if slack.signing_secret else None,
        api_url=slack.api_url,
    )
    adapter = SlackAdapter(
        config,
        on_message=app.sessions.handle,
        events=EventStore(app.engine),
        screen=app.sessions.screen,
        commands=app.commands,
        http=app.http,
        # Message events are stored before Slack is told they arrived (a 200, an ack).
        inbox=_inbox(app),
        # Socket Mode is opened by the app's Receivers, in one replica.
        receive_on_start=False,
    )
    app.add_channel(adapter)


def build_telegram(app: App, tuning: TelegramTuning | None = None) -> TelegramAdapter:
    """The Telegram channel for `app`'s settings (TELEGRAM_BOT_TOKEN is set)."""
    from adapters.telegram import MediaLimits, TelegramAdapter  # loads PTB only when used

    settings, core = app.settings, app.settings.core
    telegram = settings.telegram
    if telegram.mode == "webhook":
        missing = [
            name
            for name, value in (
                ("CLAWLING_PUBLIC_URL", core.public_url),
                ("TELEGRAM_WEBHOOK_SECRET", telegram.webhook_secret),
            )
            if value is None
        ]
        if missing:
            raise ConfigError(
                f"Setting {missing[0]} is missing: TELEGRAM_MODE=webhook needs it. Fix: set "
                "CLAWLING_PUBLIC_URL to the public https address of this server and "
                "TELEGRAM_WEBHOOK_SECRET to a random string, or use TELEGRAM_MODE=polling."
            )
    return TelegramAdapter(
        telegram,
        on_message=app.sessions.handle,
        screen=app.sessions.screen,
        commands=app.commands,
        # Text files above this many bytes cannot fit CLAWLING_MAX_FILE_CHARS characters.
        media=MediaLimits(max_text_bytes=core.max_file_chars * 4),
        http=app.http,
        public_url=core.public_url,
        tuning=tuning,
        # Webhook updates are stored before their 200, polled ones before the next poll.
        inbox=_inbox(app),
        # Polling is turned on by the app's Receivers, in one replica.
        receive_on_start=False,
    )


def add_console(app: App, console: Console, *, user_name: str, interactive: bool) -> ConsoleAdapter:
    """Connect the terminal as a channel of `app`."""
    if not user_name.strip():
        raise ConfigError("The terminal user name is empty. Fix: pass --as NAME.")
    adapter = ConsoleAdapter(
        console,
        user_name=user_name.strip(),
        interactive=interactive,
        on_message=app.sessions.handle,
    )
    app.add_channel(adapter)
    return adapter


def _inbox(app: App) -> DurableInbox:
    """The app's inbox, started with the services (after the heartbeat: its claims carry
    this replica's id) once a route or a poller stores events in it."""
    inbox = app.inbox
    if inbox not in app.services:
        app.services.append(inbox)

        async def waiting() -> list[Gauge]:
            help_ = "Chat events stored and not yet handed on, by any replica"
            return [Gauge("clawling_inbox_waiting", help_, {}, await inbox.waiting())]

        app.observability.gauge_sources.append(waiting)
    return inbox
