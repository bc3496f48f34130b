"""The Telegram channel: python-telegram-bot running inside our own event loop.

Updates arrive by long polling (the default) or by webhook on the app's HTTP
server; either way an update is stored in the inbox before Telegram is told it
arrived (a webhook's 200, the next poll's offset: client.py) and handed on by
whichever replica claims it (bot/chat/inbox.py). Each one is checked (from a
person? for us?), translated into an `Inbound` and handed to the session manager,
which returns at once. Whether its sender is answered is bot/'s decision (`screen`),
asked before files are downloaded. A press on one of our inline buttons (a callback
query) is the presser sending the button's command.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from aiohttp import web
from telegram import BotCommand, CallbackQuery, Message, Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from adapters.telegram import inbound as tg
from adapters.telegram import retry
from adapters.telegram.client import make_bot
from adapters.telegram.media import MediaLimits, collect
from adapters.telegram.ordering import PerChatOrder
from adapters.telegram.outgoing import Sender, is_group
from adapters.telegram.render import shortened
from adapters.telegram.stream import StreamTiming, TelegramStream
from bot.chat.channels import ChatRef, Inbound, Inbox, MessageRef, Outbound, Screen
from bot.commands.registry import CommandRegistry
from bot.errors import ConfigError, TransportError
from bot.http.server import HttpServer
from bot.settings.channels import TelegramSettings

log = logging.getLogger(__name__)

CHANNEL = tg.CHANNEL
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
NOT_TAKEN = (
    "Sorry, I could not take that message because of a problem on my side. Please send it again."
)

MessageHandler = Callable[[Inbound], Awaitable[object]]


@dataclass(frozen=True)
class TelegramTuning:
    """Timing knobs; tests and benchmarks shorten them."""

    poll_timeout: int = 30  # seconds a getUpdates long poll may wait
    retry: retry.RetryPolicy = field(default_factory=retry.RetryPolicy)
    stream: StreamTiming = field(default_factory=StreamTiming)
    request_timeout: float = 15.0


class TelegramAdapter:
    """ChatAdapter for Telegram, with streaming (StreamingAdapter), files (FileSender),
    private chats by user id (DirectChats), a connection report (ReportsConnection) and,
    in polling mode, polling turned on and off by whoever holds it (SoleReceiver)."""

    name = CHANNEL

    def __init__(
        self,
        settings: TelegramSettings,
        *,
        on_message: MessageHandler,
        screen: Screen,
        commands: CommandRegistry,
        media: MediaLimits,
        http: HttpServer,
        public_url: str | None = None,
        tuning: TelegramTuning | None = None,
        inbox: Inbox | None = None,
        receive_on_start: bool = True,
    ) -> None:
        """`inbox`: where updates are stored before Telegram is told they arrived — a
        webhook's 200, or the next poll's offset (None: handed on from memory, lost if
        the process dies first). `receive_on_start=False`: in
        polling mode, `start()` leaves polling to `start_receiving()` (one replica polls;
        bot/chat/receivers.py)."""
        if settings.bot_token is None:
            raise ConfigError("TELEGRAM_BOT_TOKEN is not set.")
        self._settings = settings
        self._on_message = on_message
        self._screen = screen
        self._commands = commands
        self._media = media
        self._tuning = tuning or TelegramTuning()
        self._webhook_url = f"{public_url}{WEBHOOK_PATH}" if public_url else None
        self._polling = settings.mode == "polling"
        self._inbox = inbox
        self._receive_on_start = receive_on_start
        bot = make_bot(
            settings.bot_token.get_secret_value(),
            settings.base_url,
            settings.base_file_url,
            self._tuning.request_timeout,
        )
        self._bot = bot
        if self._polling and inbox is not None:
            bot.keep_updates_in(self._keep_polled)
        builder = ApplicationBuilder().bot(bot).concurrent_updates(PerChatOrder())
        if not self._polling:
            builder = builder.updater(None)
            http.add_route("POST", WEBHOOK_PATH, self._webhook)
        self._app: Application = builder.build()
        self._app.add_handler(TypeHandler(Update, self._on_update))
        self._sender = Sender(self._app.bot, self._tuning.retry)
        self._me: tg.BotIdentity | None = None
        self._drafts = True

    # -- ChatAdapter ---------------------------------------------------------

    async def start(self) -> None:
        """Check the token, register commands, then take updates."""
        try:
            await self._app.initialize()
        except InvalidToken as exc:
            raise ConfigError(
                f"Telegram refused TELEGRAM_BOT_TOKEN ({exc.message}). "
                "Fix: copy the token from @BotFather again (/mybots → API Token)."
            ) from None
        except TelegramError as exc:
            raise ConfigError(
                f"Could not reach Telegram at {self._settings.base_url} ({exc.message}). "
                "Fix: check the network, or TELEGRAM_BASE_URL for a self-hosted Bot API server."
            ) from None
        bot = self._app.bot
        self._me = tg.BotIdentity(bot.id, bot.username)
        await self._register_commands()
        await self._app.start()
        if self._inbox is not None:
            self._inbox.subscribe(CHANNEL, self._from_inbox)
        if not self._polling:
            await self._set_webhook()
        elif self._receive_on_start:
            await self.start_receiving()
        log.info("Telegram: @%s is up (%s)", bot.username, self._settings.mode)

    async def stop(self) -> None:
        await self.stop_receiving()
        if self._app.running:
            await self._app.stop()
        await self._app.shutdown()

    async def check(self) -> str:
        """SelfChecking (doctor): Telegram accepts the token."""
        bot = self._app.bot
        try:
            async with bot:
                me = await bot.get_me()
        except InvalidToken as exc:
            raise ConfigError(
                f"Telegram refused TELEGRAM_BOT_TOKEN ({exc.message}). "
                "Fix: copy the token from @BotFather again (/mybots → API Token)."
            ) from None
        except TelegramError as exc:
            raise ConfigError(
                f"Could not reach Telegram at {self._settings.base_url} ({exc.message}). "
                "Fix: check the network, or TELEGRAM_BASE_URL for a self-hosted Bot API server."
            ) from None
        return f"@{me.username} ({self._settings.mode})"

    def is_connected(self) -> bool:
        """ReportsConnection (/readyz): started, and while polling the last poll worked
        (a replica that leaves polling to another is ready: it sends)."""
        if not self._app.running:
            return False
        return not self.receiving or self._bot.polling_works is not False

    # -- SoleReceiver ----------------------------------------------------------

    @property
    def receives_alone(self) -> bool:
        """Polling: one getUpdates at a time per bot (Telegram answers a second 409)."""
        return self._polling

    @property
    def receiving(self) -> bool:
        return self._app.updater is not None and self._app.updater.running

    async def start_receiving(self) -> None:
        """Poll for updates, from the first one Telegram still keeps (none is dropped)."""
        updater = self._app.updater
        if updater is None or updater.running:
            return
        self._bot.polling_restarts()
        await updater.start_polling(
            poll_interval=0,
            timeout=self._tuning.poll_timeout,
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=False,
        )
        log.info("Telegram: polling for updates")

    async def stop_receiving(self) -> None:
        """Stop polling; updates not fetched yet stay with Telegram for the next poller."""
        updater = self._app.updater
        if updater is not None and updater.running:
            await updater.stop()
            log.info("Telegram: stopped polling")

    async def send(self, message: Outbound) -> MessageRef:
        refs = await self._sender.send(
            message.chat, message.text, message.reply_to, message.buttons
        )
        return refs[0]

    async def direct_chat(self, account_id: str) -> ChatRef:
        """DirectChats: a person's private chat with a bot has their user id."""
        return ChatRef(CHANNEL, account_id)

    async def edit(self, ref: MessageRef, text: str) -> None:
        """Replace a message's text (a text too long for one message is cut short)."""
        await self._sender.edit_chunk(ref, shortened(text))

    async def typing(self, chat: ChatRef) -> None:
        await self._sender.typing(chat)

    def open_stream(self, chat: ChatRef, reply_to: str | None) -> TelegramStream:
        return TelegramStream(
            self._sender,
            chat,
            reply_to,
            timing=self._tuning.stream,
            use_draft=self._drafts and not is_group(chat),
            drafts_unsupported=self._no_drafts,
        )

    async def send_file(
        self, chat: ChatRef, name: str, data: bytes, caption: str = ""
    ) -> MessageRef:
        return await self._sender.document(chat, name, data, caption)

    async def send_voice(self, chat: ChatRef, audio: bytes) -> MessageRef:
        return await self._sender.voice(chat, audio)

    # -- incoming ------------------------------------------------------------

    async def _on_update(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.callback_query is not None:
            await self._on_press(update.callback_query)
            return
        message = update.message
        if message is None:
            # Edits, channel posts and the rest are not messages to answer.
            log.debug("update %s ignored: not a new message", update.update_id)
            return
        try:
            await self._take(message)
        except Exception:
            log.exception("could not take Telegram message %s", message.message_id)
            await self._tell(message, NOT_TAKEN)

    async def _take(self, message: Message) -> None:
        me = self._me
        if me is None or not tg.from_a_person(message):
            return
        text = tg.message_text(message)
        if not text and not tg.has_media(message):
            return  # service messages: joins, pins, topic changes...
        if not tg.is_addressed(message, me, self._commands):
            return
        user = message.from_user
        assert user is not None  # checked by from_a_person
        inbound = Inbound(
            channel=CHANNEL,
            chat_id=str(message.chat.id),
            thread_id=tg.thread_of(message),
            sender_id=str(user.id),
            sender_name=user.full_name or user.username or str(user.id),
            sender_username=user.username,
            text=tg.clean_text(text, me) if text else "",
            platform_message_id=str(message.message_id),
            is_direct=message.chat.type == "private",
            mentions_bot=message.chat.type != "private",
            sent_at=message.date,
        )
        admission = await self._screen(inbound)
        if not admission.admitted:
            if admission.reply:
                await self._tell(message, admission.reply)
            return
        files = await collect(message, self._media, self._tuning.retry)
        try:
            await self._on_message(replace(inbound, attachments=files))
        except TransportError as exc:
            await self._tell(message, exc.user_message)

    async def _on_press(self, query: CallbackQuery) -> None:
        """A button of ours was pressed: the presser sends its command in that chat."""
        try:
            chat = query.message.chat if query.message is not None else None
            if query.data and chat is not None:
                user = query.from_user
                await self._on_message(
                    Inbound(
                        channel=CHANNEL,
                        chat_id=str(chat.id),
                        sender_id=str(user.id),
                        sender_name=user.full_name or user.username or str(user.id),
                        sender_username=user.username,
                        text=query.data,
                        is_direct=chat.type == "private",
                        mentions_bot=True,
                    )
                )
        except Exception:
            log.exception("could not take the press of a Telegram button")
        finally:
            # Telegram shows a spinner on the button until the press is answered.
            await self._sender.answer_press(query.id)

    async def _tell(self, message: Message, text: str) -> None:
        chat = ChatRef(CHANNEL, str(message.chat.id), tg.thread_of(message))
        try:
            await self._sender.send(chat, text, str(message.message_id))
        except TransportError as exc:
            log.error("could not answer in %s: %s", chat, exc)

    async def _webhook(self, request: web.Request) -> web.Response:
        secret = self._settings.webhook_secret
        given = request.headers.get(SECRET_HEADER, "")
        if secret is None or not hmac.compare_digest(
            given.encode(), secret.get_secret_value().encode()
        ):
            return web.Response(status=403, text="forbidden")
        if not self._app.running:
            return web.Response(status=503, text="starting")  # Telegram will deliver it again
        try:
            payload = json.loads(await request.text())
        except ValueError:
            return web.Response(status=400, text="not JSON")
        try:
            update = Update.de_json(payload, self._app.bot)
        except Exception as exc:
            # Answering an error would make Telegram send it again and again.
            log.warning("skipping a webhook update that could not be read: %r", exc)
            return web.Response(text="skipped")
        if self._inbox is None:
            await self._app.update_queue.put(update)
            return web.Response(text="ok")
        try:
            stored = await self._inbox.put(
                CHANNEL, str(update.update_id), _chat_of(update), payload
            )
        except Exception as exc:  # noqa: BLE001 - not stored: Telegram delivers it again
            log.warning("could not store webhook update %s: %s", update.update_id, exc)
            return web.Response(status=503, text="try again")
        return web.Response(text="ok" if stored else "seen")

    async def _keep_polled(self, batch: list[dict[str, Any]]) -> None:
        """A polled batch, stored before the next poll confirms it (client.py)."""
        assert self._inbox is not None
        events = [
            (str(raw["update_id"]), _chat_of(Update.de_json(raw, self._app.bot)), raw)
            for raw in batch
        ]
        await self._inbox.put_many(CHANNEL, events)

    async def _from_inbox(self, payload: dict[str, Any]) -> None:
        """A stored update, claimed by this replica: handed to PTB's handlers."""
        await self._app.process_update(Update.de_json(payload, self._app.bot))

    # -- start-up ------------------------------------------------------------

    async def _register_commands(self) -> None:
        """Show the registry's commands in Telegram's menu (whatever is registered now)."""
        listed = [
            BotCommand(c.name, c.description[:256] or c.name)
            for c in self._commands.commands
            if re.fullmatch(r"[a-z0-9_]{1,32}", c.name)
        ]
        try:
            await retry.call(
                "setMyCommands", lambda: self._app.bot.set_my_commands(listed), self._tuning.retry
            )
        except TransportError as exc:
            log.warning("could not register commands with Telegram: %s", exc)

    async def _set_webhook(self) -> None:
        secret = self._settings.webhook_secret
        if self._webhook_url is None or secret is None:
            raise ConfigError(
                "Telegram webhook mode needs CLAWLING_PUBLIC_URL and TELEGRAM_WEBHOOK_SECRET."
            )
        try:
            await retry.call(
                "setWebhook",
                lambda: self._app.bot.set_webhook(
                    url=self._webhook_url or "",
                    secret_token=secret.get_secret_value(),
                    allowed_updates=ALLOWED_UPDATES,
                    drop_pending_updates=False,
                ),
                self._tuning.retry,
            )
        except TransportError as exc:
            raise ConfigError(
                f"Telegram refused the webhook {self._webhook_url} ({exc}). Fix: CLAWLING_PUBLIC_URL "
                "must be a public https address that reaches CLAWLING_HTTP_PORT."
            ) from None

    def _no_drafts(self) -> None:
        self._drafts = False


def _chat_of(update: Update) -> str:
    """The chat whose updates are handed on in order ("" for updates of no chat)."""
    chat = update.effective_chat
    return "" if chat is None else str(chat.id)
