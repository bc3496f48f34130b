"""Terminal chat: reads lines, prints replies (Markdown rendered, streamed when interactive).

Interactive, an answer streams into a live region with a status line (screen.py)
and lines are read on the event loop (lines.py), so Ctrl-C reaches the chat at any
moment; from a script, only the final texts are printed, as plain text.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from rich.console import Console

from adapters.console.lines import LineReader
from adapters.console.render import render
from adapters.console.screen import Screen
from bot.chat.channels import ChatRef, Inbound, MessageRef, Outbound
from bot.errors import TransportError

CHANNEL = "console"
EXIT_WORDS = {"/exit", "/quit", "exit", "quit"}

MessageHandler = Callable[[Inbound], Awaitable[object]]


class _ScreenStream:
    """A reply shown as it grows in the live region, then printed once for good."""

    def __init__(self, console: Console, screen: Screen, chat: ChatRef, ref_id: str) -> None:
        self._console = console
        self._screen = screen
        self._ref = MessageRef(chat, ref_id)

    async def update(self, text: str) -> None:
        self._screen.show_text(text)

    async def activity(self, text: str) -> None:
        self._screen.show_status(text)

    async def finish(self, text: str) -> list[MessageRef]:
        self._screen.clear()
        self._console.print(render(text))
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
        self._screen = Screen(console)
        self._lines: LineReader | None = None

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

    async def direct_chat(self, account_id: str) -> ChatRef:
        """DirectChats: the terminal is the private chat of the person typing in it;
        anyone else's message waits until they open one (`clawling chat --as NAME`)."""
        if account_id != self._user:
            raise TransportError(
                f"console:{account_id} is not at this terminal", "They are not here."
            )
        return self.chat

    def open_stream(self, chat: ChatRef, reply_to: str | None) -> _ScreenStream | _PlainStream:
        ref_id = str(next(self._ids))
        if self._interactive:
            return _ScreenStream(self._console, self._screen, chat, ref_id)
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

    async def read_line(self, prompt: str) -> str | None:
        """Show `prompt` and read the next line typed; None at the end of input (Ctrl-D)."""
        if self._lines is None:
            self._lines = LineReader(sys.stdin.fileno())
        self._console.print(prompt, end="")
        return await self._lines.read()

    @contextmanager
    def working(self) -> Iterator[None]:
        """While an answer is worked on: a status line, and its text as it streams in."""
        self._screen.begin()
        try:
            yield
        finally:
            self._screen.end()

    def _print(self, text: str) -> None:
        if self._interactive:
            self._console.print(render(text))
        else:
            self._console.print(text, markup=False, highlight=False, soft_wrap=True)
