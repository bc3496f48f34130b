"""The outbox: how everything in bot/ talks back to a chat, whatever the platform."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import cast

from bot.chat.channels import (
    Button,
    ChatAdapter,
    ChatRef,
    DirectChats,
    FileSender,
    MessageRef,
    Outbound,
    ReplyStream,
    StreamingAdapter,
    VoiceSender,
)
from bot.errors import TransportError

log = logging.getLogger(__name__)

CURSOR = " ▍"


class EditStream:
    """A reply shown by sending a message and editing it as the text grows.

    Edits are throttled (platforms rate-limit them); the final text is always
    delivered, by one last edit or, if nothing was shown yet, one message.
    """

    def __init__(
        self,
        adapter: ChatAdapter,
        chat: ChatRef,
        reply_to: str | None = None,
        *,
        min_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._adapter = adapter
        self._chat = chat
        self._reply_to = reply_to
        self._min_interval = min_interval
        self._clock = clock
        self._ref: MessageRef | None = None
        self._shown = ""
        self._last_edit = float("-inf")
        self._broken = False

    async def update(self, text: str) -> None:
        if self._broken or not text.strip() or self._clock() - self._last_edit < self._min_interval:
            return
        self._last_edit = self._clock()
        try:
            await self._show(text + CURSOR)
        except TransportError as exc:
            # Progress is a nicety; the final text is still delivered by finish().
            log.warning("streaming to %s stopped: %s", self._chat, exc)
            self._broken = True

    async def finish(self, text: str) -> list[MessageRef]:
        if self._ref is not None:
            try:
                if text != self._shown:
                    await self._adapter.edit(self._ref, text)
                return [self._ref]
            except TransportError as exc:
                log.warning("final edit failed, sending instead: %s", exc)
        return [await self._adapter.send(Outbound(self._chat, text, self._reply_to))]

    async def _show(self, text: str) -> None:
        if self._ref is None:
            self._ref = await self._adapter.send(Outbound(self._chat, text, self._reply_to))
        else:
            await self._adapter.edit(self._ref, text)
        self._shown = text


class Outbox:
    """The registered chat adapters, by channel name."""

    def __init__(self) -> None:
        self._adapters: dict[str, ChatAdapter] = {}
        # Adapters that stream replies themselves; asked once (a Protocol isinstance
        # check is slow, and every turn opens a stream).
        self._streaming: set[str] = set()

    def register(self, adapter: ChatAdapter) -> None:
        if adapter.name in self._adapters:
            raise ValueError(f"channel {adapter.name!r} is registered twice")
        self._adapters[adapter.name] = adapter
        if isinstance(adapter, StreamingAdapter):
            self._streaming.add(adapter.name)

    @property
    def adapters(self) -> list[ChatAdapter]:
        return list(self._adapters.values())

    @property
    def channels(self) -> list[str]:
        return list(self._adapters)

    def adapter(self, channel: str) -> ChatAdapter:
        try:
            return self._adapters[channel]
        except KeyError:
            raise TransportError(
                f"no adapter for channel {channel!r}", "That chat app is not connected."
            ) from None

    async def send(
        self,
        chat: ChatRef,
        text: str,
        reply_to: str | None = None,
        buttons: tuple[Button, ...] = (),
    ) -> MessageRef:
        return await self.adapter(chat.channel).send(Outbound(chat, text, reply_to, buttons))

    async def direct_chat(self, channel: str, account_id: str) -> ChatRef:
        """The private chat of the account `channel:account_id` with the assistant."""
        adapter = self.adapter(channel)
        if isinstance(adapter, DirectChats):
            return await adapter.direct_chat(account_id)
        raise TransportError(
            f"channel {channel!r} cannot open a private chat",
            "This chat app cannot start a private chat.",
        )

    async def edit(self, ref: MessageRef, text: str) -> None:
        """Replace the text of a message sent earlier (task status messages)."""
        await self.adapter(ref.chat.channel).edit(ref, text)

    async def send_file(
        self, chat: ChatRef, name: str, data: bytes, caption: str = ""
    ) -> MessageRef:
        """Send a file where the platform can (see FileSender)."""
        adapter = self.adapter(chat.channel)
        if isinstance(adapter, FileSender):
            return await adapter.send_file(chat, name, data, caption)
        raise TransportError(
            f"channel {chat.channel!r} cannot send files",
            "This chat app cannot receive files from me.",
        )

    async def send_voice(self, chat: ChatRef, audio: bytes) -> MessageRef:
        """Ogg/Opus audio as a voice note where the platform has them (VoiceSender),
        else as an audio file."""
        adapter = self.adapter(chat.channel)
        if isinstance(adapter, VoiceSender):
            return await adapter.send_voice(chat, audio)
        return await self.send_file(chat, "reply.ogg", audio)

    async def typing(self, chat: ChatRef) -> None:
        await self.adapter(chat.channel).typing(chat)

    def open_stream(self, chat: ChatRef, reply_to: str | None = None) -> ReplyStream:
        adapter = self.adapter(chat.channel)
        if adapter.name in self._streaming:
            return cast(StreamingAdapter, adapter).open_stream(chat, reply_to)
        return EditStream(adapter, chat, reply_to)
