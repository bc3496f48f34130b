"""The seam between chat platforms and the agent: what adapters hand in and send out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class ChatRef:
    """Where to talk: a chat (and thread) on one channel."""

    channel: str
    chat_id: str
    thread_id: str = ""


@dataclass(frozen=True)
class Attachment:
    """A file that came with a message, already downloaded by the adapter."""

    kind: str  # "image", "document", "text", "audio", "file"
    name: str
    mime_type: str
    data: bytes = b""
    note: str = ""  # set by the adapter when the file could not be read
    # Audio: its length when the platform says, and whether it is a voice note the person
    # recorded in the app (their own words) rather than an audio file they shared.
    seconds: float | None = None
    recorded: bool = False


@dataclass(frozen=True)
class Inbound:
    """One message from a person, translated from the platform's payload."""

    channel: str
    chat_id: str
    sender_id: str
    sender_name: str
    text: str
    thread_id: str = ""
    # The platform's @username, when it has one (Telegram, Slack slash commands): allowlists
    # may name people by it.
    sender_username: str | None = None
    attachments: Sequence[Attachment] = ()
    platform_message_id: str | None = None
    is_direct: bool = True
    mentions_bot: bool = False
    sent_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def chat(self) -> ChatRef:
        return ChatRef(self.channel, self.chat_id, self.thread_id)

    @property
    def conversation_key(self) -> tuple[str, str, str]:
        return (self.channel, self.chat_id, self.thread_id)


@dataclass(frozen=True)
class Button:
    """A button under a message: pressing it sends `command` as the presser (e.g.
    "/allow K7QX9MPA"). Platforms without buttons show only the text, which spells the
    command out."""

    label: str
    command: str


@dataclass(frozen=True)
class Outbound:
    """A message to send: Markdown text for one chat, with buttons where the platform has
    them."""

    chat: ChatRef
    text: str
    reply_to: str | None = None
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class Admission:
    """bot/'s answer to "may this sender talk to the assistant?" for one message: admitted,
    or not, with what to tell them instead ("" = nothing at all)."""

    admitted: bool
    reply: str = ""


# Asked by adapters before work that costs something (downloading files, a slash
# command's acknowledgement); the session manager asks again for every message it takes.
Screen = Callable[[Inbound], Awaitable[Admission]]


@dataclass(frozen=True)
class MessageRef:
    """A message the adapter sent, so it can be edited later."""

    chat: ChatRef
    message_id: str


class ChatAdapter(Protocol):
    """One chat platform. Adapters translate; they decide nothing."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, message: Outbound) -> MessageRef: ...

    async def edit(self, ref: MessageRef, text: str) -> None: ...

    async def typing(self, chat: ChatRef) -> None: ...


class ReplyStream(Protocol):
    """A reply being written: shown as it grows, then finished exactly once."""

    async def update(self, text: str) -> None: ...

    async def finish(self, text: str) -> list[MessageRef]: ...


@runtime_checkable
class StreamingAdapter(Protocol):
    """Optional: the platform has its own way to show a reply as it is written."""

    def open_stream(self, chat: ChatRef, reply_to: str | None) -> ReplyStream: ...


@runtime_checkable
class ShowsActivity(Protocol):
    """Optional, on a ReplyStream: the platform can say what the assistant is doing while
    no text shows it (a terminal's status line: "thinking…", "running web_search…")."""

    async def activity(self, text: str) -> None: ...


@runtime_checkable
class FileSender(Protocol):
    """Optional: the platform can send a file (e.g. /export's JSON)."""

    async def send_file(
        self, chat: ChatRef, name: str, data: bytes, caption: str = ""
    ) -> MessageRef: ...


@runtime_checkable
class VoiceSender(Protocol):
    """Optional: the platform plays Ogg/Opus audio as a voice note (Telegram). Elsewhere
    spoken replies go as an audio file (`FileSender`)."""

    async def send_voice(self, chat: ChatRef, audio: bytes) -> MessageRef: ...


@runtime_checkable
class DirectChats(Protocol):
    """Optional: the platform can name a person's private chat with the assistant from
    their account id (Telegram: the user id is the chat; Slack: conversations.open), so
    the assistant can write to someone who has not written first (owners asked to let a
    stranger in)."""

    async def direct_chat(self, account_id: str) -> ChatRef: ...


@runtime_checkable
class ReportsConnection(Protocol):
    """Optional: the adapter knows whether it is connected to its platform (/readyz)."""

    def is_connected(self) -> bool: ...


@runtime_checkable
class SelfChecking(Protocol):
    """Optional: the adapter can test its credentials without starting (`clawling doctor`).

    Returns who the assistant is on the platform; raises ConfigError naming the fix.
    """

    async def check(self) -> str: ...


# Hands one stored event's payload to its adapter, as the adapter's route did before.
InboxHandler = Callable[[dict[str, Any]], Awaitable[None]]


class Inbox(Protocol):
    """Where webhook and HTTP routes store an event before answering 200 (bot/chat/inbox.py).

    Whichever replica claims it later calls the handler its platform subscribed; one
    chat's events one at a time, in the order they were stored."""

    async def put(self, platform: str, event_id: str, chat: str, payload: dict[str, Any]) -> bool:
        """Store an event, durably when this returns. False: it was stored before."""
        ...

    async def put_many(
        self, platform: str, events: Sequence[tuple[str, str, dict[str, Any]]]
    ) -> int:
        """Store (event id, chat, payload) events at once, in order, durably when this
        returns (a polled batch). Returns how many were new."""
        ...

    def subscribe(self, platform: str, handler: InboxHandler) -> None:
        """Take `platform`'s events from now on (an adapter, once it can handle them)."""
        ...


@runtime_checkable
class SoleReceiver(Protocol):
    """Optional: the adapter takes messages over a connection that one process per bot
    may hold (Telegram's long polling: a second poller is answered 409; Slack's Socket
    Mode: every open connection gets each event). With several replicas on one database
    only the holder of the receivers' lock receives (bot/chat/receivers.py); the others
    still send. Built with its receiving left to that holder, `start()` only connects for
    sending; `start_receiving()` and `stop_receiving()` may then follow each other any
    number of times."""

    @property
    def receives_alone(self) -> bool:
        """True in the mode that needs a sole receiver (polling, Socket Mode); False when
        the platform calls us (webhooks, Slack's HTTP mode), which every replica serves."""
        ...

    async def start_receiving(self) -> None: ...

    async def stop_receiving(self) -> None: ...
