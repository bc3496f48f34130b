"""An in-memory chat channel that records what the assistant sends, for session tests.

It implements the ChatAdapter protocol the way a platform adapter does; it is
a fake platform, not a stand-in for any of our own code.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

from bot.chat.channels import ChatRef, Inbound, MessageRef, Outbound
from bot.errors import TransportError


@dataclass
class Sent:
    chat: ChatRef
    message_id: str
    text: str
    edits: list[str] = field(default_factory=list)

    @property
    def final(self) -> str:
        return self.edits[-1] if self.edits else self.text


class RecordingChannel:
    def __init__(self, name: str = "test") -> None:
        self.name = name
        self.sent: list[Sent] = []
        self.typing_count = 0
        self.fail_sends = 0  # the next N sends raise TransportError
        self._ids = itertools.count(1)
        self.arrived = asyncio.Event()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, message: Outbound) -> MessageRef:
        if self.fail_sends:
            self.fail_sends -= 1
            raise TransportError("platform down", "platform down")
        sent = Sent(message.chat, str(next(self._ids)), message.text)
        self.sent.append(sent)
        self.arrived.set()
        return MessageRef(message.chat, sent.message_id)

    async def edit(self, ref: MessageRef, text: str) -> None:
        for sent in self.sent:
            if sent.message_id == ref.message_id:
                sent.edits.append(text)
                return
        raise TransportError("no such message", "no such message")

    async def typing(self, chat: ChatRef) -> None:
        self.typing_count += 1

    def texts(self, chat_id: str | None = None) -> list[str]:
        return [s.final for s in self.sent if chat_id is None or s.chat.chat_id == chat_id]

    def inbound(
        self,
        text: str,
        *,
        chat: str = "c1",
        sender: str = "u1",
        msg_id: str | None = None,
        thread: str = "",
        direct: bool = True,
    ) -> Inbound:
        return Inbound(
            channel=self.name,
            chat_id=chat,
            sender_id=sender,
            sender_name=sender.title(),
            text=text,
            thread_id=thread,
            platform_message_id=msg_id,
            is_direct=direct,
        )


@dataclass
class SentFile:
    chat: ChatRef
    name: str
    data: bytes
    caption: str


class FileChannel(RecordingChannel):
    """A recording channel whose platform can also receive files (FileSender)."""

    def __init__(self, name: str = "files") -> None:
        super().__init__(name)
        self.files: list[SentFile] = []

    async def send_file(
        self, chat: ChatRef, name: str, data: bytes, caption: str = ""
    ) -> MessageRef:
        self.files.append(SentFile(chat, name, data, caption))
        return MessageRef(chat, str(next(self._ids)))
