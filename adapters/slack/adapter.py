"""Slack as a chat channel: slack-bolt's AsyncApp in Socket Mode or on our HTTP server.

Every event is acknowledged at once and worked on in the background: parsed,
deduplicated by `event_id` in SQL (Slack redelivers what it thinks was lost),
screened by bot/ (is its sender answered?), its files downloaded, and handed to the
session manager, which stores it and answers it in order. A press on one of our
buttons (buttons.py) is the presser sending the button's command. With an inbox,
message events are stored before Slack is told they arrived — their 200 in HTTP mode
(endpoint.py), their acknowledgement in Socket Mode (socket.py) — and come back here
from it, already deduplicated by the inbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.buttons import ACTION_PREFIX, Press, read_press
from adapters.slack.directory import Directory
from adapters.slack.endpoint import EventsEndpoint
from adapters.slack.events import (
    MalformedEvent,
    SlackMessage,
    SlashCommand,
    command_text,
    read_command,
    read_message,
)
from adapters.slack.files import FileFetcher
from adapters.slack.markdown import SLASH_COMMAND
from adapters.slack.order import Cache, InOrder
from adapters.slack.replies import EditedReply, SlackPoster, StreamedReply, slack_call
from adapters.slack.socket import SocketConnection, check_app_token
from bot.chat.channels import (
    ChatRef,
    Inbound,
    Inbox,
    MessageRef,
    Outbound,
    ReplyStream,
    Screen,
)
from bot.commands.registry import CommandRegistry
from bot.errors import ConfigError, TransportError
from bot.http.server import HttpServer

log = logging.getLogger(__name__)

CHANNEL = "slack"
COMMAND = SLASH_COMMAND
EVENTS_PATH = "/slack/events"
RECEIVED_REACTION = "eyes"
KEEP_EVENT_CLAIMS = timedelta(days=7)  # Slack gives up redelivering within hours
STOP_GRACE = 5.0  # seconds
COULD_NOT_TAKE = "Sorry, I could not take that message on my side. Please send it again."

MessageHandler = Callable[[Inbound], Awaitable[bool]]


class EventClaims(Protocol):
    """Persistent record of events already taken (memory.events.EventStore)."""

    async def claim(self, platform: str, event_key: str) -> bool: ...

    async def prune(self, before: datetime) -> int: ...


@dataclass(frozen=True)
class SlackConfig:
    bot_token: str
    app_token: str | None = None  # Socket Mode when set, else the HTTP Events API
    signing_secret: str | None = None
    api_url: str = "https://slack.com/api/"
    rate_limit_retries: int = 5


@dataclass(frozen=True)
class _Identity:
    team_id: str
    bot_user_id: str
    bot_id: str


class SlackAdapter:
    """ChatAdapter for Slack, with streaming replies, file sending, buttons, private
    chats by user id (DirectChats) and, in Socket Mode, the socket opened and closed by
    whoever holds it (SoleReceiver)."""

    name = CHANNEL

    def __init__(
        self,
        config: SlackConfig,
        *,
        on_message: MessageHandler,
        events: EventClaims,
        screen: Screen,
        commands: CommandRegistry,
        http: HttpServer | None = None,
        inbox: Inbox | None = None,
        receive_on_start: bool = True,
    ) -> None:
        """`receive_on_start=False`: in Socket Mode, `start()` leaves the socket to
        `start_receiving()` (one replica holds it; bot/chat/receivers.py)."""
        self._config = config
        self._receive_on_start = receive_on_start
        self._on_message = on_message
        self._events = events
        self._screen = screen
        self._commands = commands
        retries = [
            AsyncConnectionErrorRetryHandler(),
            AsyncRateLimitErrorRetryHandler(max_retry_count=config.rate_limit_retries),
        ]
        self.client = AsyncWebClient(
            token=config.bot_token, base_url=config.api_url, retry_handlers=retries
        )
        progress_client = AsyncWebClient(
            token=config.bot_token, base_url=config.api_url, retry_handlers=retries[:1]
        )
        self._poster = SlackPoster(self.client, progress_client, commands)
        self._files = FileFetcher(config.bot_token, api_url=config.api_url)

        async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
            # A plain function: bolt passes arguments by name and cannot take a method.
            return self._authorization(enterprise_id, team_id)

        bolt_log = logging.getLogger("adapters.slack.bolt")
        with _only_errors(bolt_log):
            # bolt warns that SLACK_BOT_TOKEN (in the environment: ours) is not used
            # when a client or authorize() is given; it is right, and it is fine.
            self._bolt = AsyncApp(
                # bolt adds the token from authorize() to its own copy of this client
                client=AsyncWebClient(base_url=config.api_url, retry_handlers=retries),
                signing_secret=config.signing_secret or "",
                authorize=authorize,
                logger=bolt_log,
            )
        self._bolt.event("message")(self._on_event)
        self._bolt.event("app_mention")(self._on_event)
        self._bolt.action(re.compile(f"^{ACTION_PREFIX}"))(self._on_action)
        self._bolt.event(re.compile(".*"))(self._on_other_event)
        self._bolt.command(COMMAND)(self._on_command)
        self._identity: _Identity | None = None
        self._socket: SocketConnection | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_order = InOrder()
        self._recipients = Cache()  # (channel, thread) → (user, team), for streaming
        self._people = Directory(self.client)
        # Message events are stored before their 200, or before a socket acknowledges them.
        self._inbox = inbox
        if config.app_token is None:
            if http is None or not config.signing_secret:
                raise ConfigError(
                    "Slack's HTTP mode needs SLACK_SIGNING_SECRET and the HTTP server. "
                    "Fix: set SLACK_SIGNING_SECRET, or SLACK_APP_TOKEN for Socket Mode."
                )
            endpoint = EventsEndpoint(self._bolt, config.signing_secret, self._inbox)
            http.add_route("POST", EVENTS_PATH, endpoint.handle)

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        self._identity = await self._whoami()
        removed = await self._events.prune(datetime.now(UTC) - KEEP_EVENT_CLAIMS)
        log.debug("pruned %s old Slack event claims", removed)
        if self._inbox is not None:
            self._inbox.subscribe(CHANNEL, self._from_inbox)
        if self._config.app_token is None:
            log.info("Slack events expected at %s (HTTP mode)", EVENTS_PATH)
        elif self._receive_on_start:
            await self.start_receiving()
        else:
            # A replica that leaves the socket to another learns of a refused app token
            # now, not when it first takes the socket over.
            await check_app_token(self.client, self._config.app_token)

    async def stop(self) -> None:
        await self.stop_receiving()
        # Events already acknowledged get a moment to be handed on (or to tell the
        # person to resend); Slack will not deliver them again.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STOP_GRACE):
                await self.drain()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._files.close()

    async def drain(self) -> None:
        """Wait until every event received so far has been handed on."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def check(self) -> str:
        """SelfChecking (doctor): both tokens are accepted by Slack."""
        identity = await self._whoami()
        if self._config.app_token is not None:
            await SocketConnection(self._bolt, self.client, self._config.app_token).check()
        mode = "Socket Mode" if self._config.app_token else "HTTP mode"
        return f"bot user {identity.bot_user_id} in team {identity.team_id} ({mode})"

    @property
    def receives_alone(self) -> bool:
        """SoleReceiver: in Socket Mode every open connection would get each event."""
        return self._config.app_token is not None

    async def start_receiving(self) -> None:
        """Open the Socket Mode connection (after `start()`)."""
        if self._socket is not None or self._config.app_token is None:
            return
        socket = SocketConnection(self._bolt, self.client, self._config.app_token, self._inbox)
        await socket.open()
        self._socket = socket
        bot_user = self._identity.bot_user_id if self._identity else "?"
        log.info("Slack connected in Socket Mode as %s", bot_user)

    async def stop_receiving(self) -> None:
        """Close the socket; events acknowledged before it closed are still handed on."""
        if self._socket is not None:
            socket, self._socket = self._socket, None
            await socket.close()

    def is_connected(self) -> bool:
        """ReportsConnection (/readyz): started, and in Socket Mode the socket is open."""
        if self._identity is None:
            return False
        return self._socket is None or self._socket.is_open()

    async def _whoami(self) -> _Identity:
        try:
            auth = await self.client.auth_test()
        except SlackApiError as exc:
            raise ConfigError(
                f"Slack rejected SLACK_BOT_TOKEN ({exc.response.get('error')}). Fix: copy the "
                "Bot User OAuth Token (xoxb-...) from the app's OAuth & Permissions page."
            ) from None
        except Exception as exc:  # noqa: BLE001 - any transport failure means the same here
            raise ConfigError(
                f"Cannot reach Slack at {self._config.api_url}: {exc}. Fix: check the "
                "network, or SLACK_API_URL if you set it."
            ) from None
        return _Identity(
            team_id=str(auth.get("team_id") or ""),
            bot_user_id=str(auth["user_id"]),
            bot_id=str(auth.get("bot_id") or ""),
        )

    def _authorization(self, enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        identity = self._identity or _Identity(team_id or "", "", "")
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id or identity.team_id,
            bot_user_id=identity.bot_user_id or None,
            bot_id=identity.bot_id or None,
            bot_token=self._config.bot_token,
        )

    # -- ChatAdapter -------------------------------------------------------------

    async def send(self, message: Outbound) -> MessageRef:
        return (await self._poster.post(message.chat, message.text, buttons=message.buttons))[0]

    async def direct_chat(self, account_id: str) -> ChatRef:
        """DirectChats: the app's DM with the person (conversations.open, remembered)."""
        return ChatRef(CHANNEL, await self._people.direct_channel(account_id))

    async def edit(self, ref: MessageRef, text: str) -> None:
        await self._poster.replace(ref, text)

    async def typing(self, chat: ChatRef) -> None:
        # Bots have no typing indicator outside Slack's assistant threads; the 👀
        # reaction and the streamed reply show that work is under way.
        return None

    def open_stream(self, chat: ChatRef, reply_to: str | None) -> ReplyStream:
        recipient = self._recipients.get((chat.chat_id, chat.thread_id))
        if chat.thread_id and recipient is not None:
            return StreamedReply(self._poster, chat, *recipient)
        return EditedReply(self._poster, chat)

    async def send_file(
        self, chat: ChatRef, name: str, data: bytes, caption: str = ""
    ) -> MessageRef:
        response = await slack_call(
            "files upload",
            self.client.files_upload_v2(
                channel=chat.chat_id,
                thread_ts=chat.thread_id or None,
                filename=name,
                title=name,
                content=data,
                initial_comment=caption or None,
            ),
        )
        files = response.get("files") or [{}]
        return MessageRef(chat, str(files[0].get("id", "")))

    # -- events ------------------------------------------------------------------

    async def _on_event(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        try:
            message = read_message(body, self._identity.bot_user_id if self._identity else "")
            if message is not None:
                # Taken in order of arrival within a conversation (asyncio locks are fair).
                key = (message.channel, message.thread_ts)
                self._spawn(self._take(message, self._in_order.join(key)))
        except MalformedEvent as exc:
            log.warning("dropped a malformed Slack event (%s): %.300r", exc, body)
        finally:
            await ack()  # at once: the work goes on in the task spawned above

    async def _from_inbox(self, body: dict[str, Any]) -> None:
        """A stored event, claimed by this replica: the inbox stored it once and hands a
        chat's events on in order, so it is taken at once, with no claim of its own."""
        try:
            message = read_message(body, self._identity.bot_user_id if self._identity else "")
        except MalformedEvent as exc:
            log.warning("dropped a malformed Slack event (%s): %.300r", exc, body)
            return
        if message is not None:
            key = (message.channel, message.thread_ts)
            await self._take(message, self._in_order.join(key), claim=False)

    async def _on_other_event(self, ack: AsyncAck) -> None:
        await ack()  # subscribed by mistake or new: acknowledged so Slack stops resending

    async def _take(self, message: SlackMessage, lock: asyncio.Lock, *, claim: bool = True) -> None:
        chat = ChatRef(CHANNEL, message.channel, message.thread_ts)
        try:
            async with lock:
                if claim and not await self._events.claim(CHANNEL, message.event_id):
                    log.info("Slack redelivered event %s; it was taken before", message.event_id)
                    return
                inbound = Inbound(
                    channel=CHANNEL,
                    chat_id=message.channel,
                    thread_id=message.thread_ts,
                    sender_id=message.user,
                    sender_name=await self._people.name(message.user, message.user_name),
                    text=message.text,
                    platform_message_id=message.ts,
                    is_direct=message.is_direct,
                    mentions_bot=message.mentions_bot,
                    sent_at=_time(message.ts),
                )
                admission = await self._screen(inbound)
                if not admission.admitted:
                    if admission.reply:
                        await self._poster.post(chat, admission.reply)
                    return
                self._recipients.remember(
                    (message.channel, message.thread_ts), (message.user, message.team_id)
                )
                files = await self._files.fetch(message.files)
                taken = await self._on_message(replace(inbound, attachments=files))
            if taken:
                await self._react(message.channel, message.ts)
        except TransportError as exc:
            log.warning("could not take Slack event %s: %s", message.event_id, exc)
            await self._tell(chat, exc.user_message)
        except Exception:
            log.exception("could not take Slack event %s", message.event_id)
            await self._tell(chat, COULD_NOT_TAKE)
        finally:
            self._in_order.leave((message.channel, message.thread_ts))

    async def _on_command(self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        try:
            command = read_command(body)
        except MalformedEvent as exc:
            await ack()
            log.warning("dropped a malformed /clawling request (%s)", exc)
            return
        names = [c.name for c in self._commands.commands]
        asking = Inbound(
            channel=CHANNEL,
            chat_id=command.channel,
            sender_id=command.user,
            sender_name=command.user_name or command.user,
            sender_username=command.user_name or None,
            text=command_text(command.text, names),
            is_direct=True,
            mentions_bot=True,
        )
        try:
            admission = await self._screen(asking)
        except Exception:
            log.exception("could not screen /clawling from %s", command.user)
            await ack(text=COULD_NOT_TAKE)
            return
        if not admission.admitted:
            # A stranger's pairing code or refusal, shown to them alone; nothing for
            # someone blocked.
            if admission.reply:
                await ack(text=admission.reply)
            else:
                await ack()
            return
        await ack()
        self._spawn(self._take_command(command, respond))

    async def _take_command(self, command: SlashCommand, respond: AsyncRespond) -> None:
        """A /clawling command acts on the person's DM with the assistant and answers there."""
        try:
            channel = await self._people.direct_channel(command.user)
            names = [c.name for c in self._commands.commands]
            await self._on_message(
                Inbound(
                    channel=CHANNEL,
                    chat_id=channel,
                    sender_id=command.user,
                    sender_name=await self._people.name(command.user, command.user_name),
                    sender_username=command.user_name or None,
                    text=command_text(command.text, names),
                    is_direct=True,
                    mentions_bot=True,
                )
            )
            if command.channel != channel and command.response_url:
                await respond(
                    text="I've answered in our direct messages.", response_type="ephemeral"
                )
        except Exception:
            log.exception("/clawling %s failed", command.text)
            with contextlib.suppress(Exception):
                await respond(text=COULD_NOT_TAKE, response_type="ephemeral")

    async def _on_action(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        try:
            press = read_press(body)
        except MalformedEvent as exc:
            log.warning("dropped a malformed Slack button press (%s)", exc)
            return
        self._spawn(self._take_press(press))

    async def _take_press(self, press: Press) -> None:
        """A button of ours was pressed: the presser sends its command in that chat."""
        chat = ChatRef(CHANNEL, press.channel)
        try:
            await self._on_message(
                Inbound(
                    channel=CHANNEL,
                    chat_id=press.channel,
                    sender_id=press.user,
                    sender_name=await self._people.name(press.user, ""),
                    sender_username=press.user_name or None,
                    text=press.command,
                    is_direct=press.channel.startswith("D"),
                    mentions_bot=True,
                )
            )
        except TransportError as exc:
            await self._tell(chat, exc.user_message)
        except Exception:
            log.exception("could not take a Slack button press")
            await self._tell(chat, COULD_NOT_TAKE)

    # -- helpers ------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _react(self, channel: str, ts: str) -> None:
        try:
            await self.client.reactions_add(channel=channel, timestamp=ts, name=RECEIVED_REACTION)
        except Exception as exc:  # noqa: BLE001 - a missing 👀 is not worth failing for
            log.info("could not add the received reaction: %s", exc)

    async def _tell(self, chat: ChatRef, text: str) -> None:
        try:
            await self._poster.post(chat, text)
        except TransportError as exc:
            log.error("could not tell %s: %s", chat, exc)


@contextlib.contextmanager
def _only_errors(logger: logging.Logger) -> Iterator[None]:
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _time(ts: str) -> datetime:
    try:
        return datetime.fromtimestamp(float(ts), UTC)
    except ValueError:
        return datetime.now(UTC)
