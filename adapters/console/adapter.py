"""Terminal chat: reads lines, prints replies (Markdown rendered, streamed when interactive)."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable

from rich.console import Console
from rich.live import Live

from adapters.console.render import render
from bot.chat.channels import ChatRef, Inbound, MessageRef, Outbound

CHANNEL = "console"
EXIT_WORDS = {"/exit", "/quit", "exit", "quit"}

MessageHandler = Callable[[Inbound], Awaitable[object]]


class _LiveStream:
    """A reply redrawn in place as it grows."""

    def __init__(self, console: Console, chat: ChatRef, ref_id: str) -> None:
        self._live = Live(console=console, refresh_per_second=8, transient=False)
        self._ref = MessageRef(chat, ref_id)
        self._started = False

    async def update(self, text: str) -> None:
        if not self._started:
            self._live.start()
            self._started = True
        self._live.update(render(text))

    async def finish(self, text: str) -> list[MessageRef]:
        if not self._started:
            self._live.start()
        self._live.update(render(text))
        self._live.stop()
        return [self._ref]


class _PlainStream:
    """For scripts: nothing while the reply is written, then the plain text once."""

    def __init__(self, console: Console, chat: ChatRef, ref_id: str) -> None:
        self._console = console
        self._ref = MessageRef(chat, ref_id)

    async def update(self, text: str) -> None:
        return None

    async def finish(self, text: str) -> list[MessageRef]:
        self._console.print(text, markup=False, highlight=False, soft_wrap=True)
        return [self._ref]


class ConsoleAdapter:
    """The terminal as a chat: one person, one direct conversation."""

    name = CHANNEL

    def __init__(
        self, console: Console, *, user_name: str, interactive: bool, on_message: MessageHandler
    ) -> None:
        self._console = console
        self._user = user_name
        self._interactive = interactive
        self._on_message = on_message
        self._ids = itertools.count(1)
        self.chat = ChatRef(CHANNEL, user_name)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, message: Outbound) -> MessageRef:
        self._print(message.text)
        return MessageRef(message.chat, str(next(self._ids)))

    async def edit(self, ref: MessageRef, text: str) -> None:
        # A terminal cannot change what scrolled past: show the new version below.
        self._print(text)

    async def typing(self, chat: ChatRef) -> None:
        return None

    def open_stream(self, chat: ChatRef, reply_to: str | None) -> _LiveStream | _PlainStream:
        ref_id = str(next(self._ids))
        if self._interactive:
            return _LiveStream(self._console, chat, ref_id)
        return _PlainStream(self._console, chat, ref_id)

    def inbound(self, text: str) -> Inbound:
        return Inbound(
            channel=CHANNEL,
            chat_id=self._user,
            sender_id=self._user,
            sender_name=self._user,
            text=text,
            is_direct=True,
        )

    async def say(self, text: str) -> None:
        """Hand one line typed by the person to the assistant."""
        await self._on_message(self.inbound(text))

    def _print(self, text: str) -> None:
        if self._interactive:
            self._console.print(render(text))
        else:
            self._console.print(text, markup=False, highlight=False, soft_wrap=True)
