"""Files that come with messages, the same way for every chat app.

Text files are read into the message (so they are stored and searchable), and so
are documents (PDF, Word, spreadsheets, CSV, HTML: converted by bot/chat/documents.py in a
thread, so a big file does not hold up other chats); images are kept under the data dir and shown to vision-capable models; what
cannot be read is described honestly, so the model can say so. A file's content is
not the person's own words (a forwarded document can carry instructions): it is
marked as untrusted data, and so is the message that carries it.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.chat.channels import Attachment
from bot.chat.documents import document_kind, read_document
from bot.safety.untrusted import mark_untrusted
from memory.conversations import SavedFile

IMAGE_TYPES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
}
TEXT_TYPES = (
    "text/",
    "application/json",
    "application/xml",
    "application/x-yaml",
    "application/yaml",
)
TEXT_SUFFIXES = {
    ".txt",
    ".md",
    ".csv",
    ".json",
    ".yaml",
    ".yml",
    ".xml",
    ".log",
    ".py",
    ".ini",
    ".toml",
    ".html",
}
# Models bill an image as roughly this many tokens, whatever its base64 length.
IMAGE_TOKENS = 1000


@dataclass(frozen=True)
class Absorbed:
    """A message's text with its files read in, and the images kept."""

    text: str
    saved: list[SavedFile]
    untrusted: bool  # it carries file content or images: outside content


@dataclass(frozen=True)
class FileLimits:
    max_text_chars: int = 100_000
    max_image_bytes: int = 10 * 1024 * 1024
    vision: bool = True


def _is_text(item: Attachment) -> bool:
    return (
        item.kind == "text"
        or item.mime_type.startswith(TEXT_TYPES)
        or (Path(item.name).suffix.lower() in TEXT_SUFFIXES)
    )


def _size(n: int) -> str:
    return f"{n / 1024:.0f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


class FileKeeper:
    """Turns attachments into message text plus files saved under `root`."""

    def __init__(self, root: Path, limits: FileLimits) -> None:
        self._root = root
        self.limits = limits
        self._cache: OrderedDict[str, str] = OrderedDict()

    async def absorb(
        self, conversation_id: int, text: str, attachments: Sequence[Attachment]
    ) -> Absorbed:
        """The message text with file contents or notes appended, and the saved images."""
        parts = [text] if text else []
        saved: list[SavedFile] = []
        untrusted = False
        for item in attachments:
            if item.note:
                parts.append(f"[{item.name}: {item.note}]")
            elif item.kind == "image" or item.mime_type in IMAGE_TYPES:
                note, kept = self._image(conversation_id, item)
                if kept is not None:
                    saved.append(kept)
                    # The model reads what an image shows, text included.
                    note, untrusted = mark_untrusted(f"image {item.name}", note), True
                parts.append(note)
            elif item.kind == "audio":
                parts.append(
                    f"[Voice/audio message {item.name}: speech transcription is not "
                    "configured, so its content is unknown. Tell the person you can't listen "
                    "to audio and ask them to type it.]"
                )
            elif (kind := document_kind(item.name, item.mime_type)) is not None:
                note, read = await self._document(kind, item)
                parts.append(note)
                untrusted = untrusted or read
            elif _is_text(item):
                note, read = self._text(item)
                parts.append(note)
                untrusted = untrusted or read
            else:
                parts.append(
                    f"[File {item.name} ({item.mime_type}, {_size(len(item.data))}) attached; "
                    "only text files, documents and images can be read.]"
                )
        return Absorbed("\n\n".join(parts), saved, untrusted)

    def _text(self, item: Attachment) -> tuple[str, bool]:
        """The file's text for the message (cut at the limit, saying so), and that it was read."""
        content = item.data.decode("utf-8", errors="replace")
        head = f"[File {item.name}]"
        if len(content) > self.limits.max_text_chars:
            head = (
                f"[File {item.name}: it has {len(content):,} characters; only its first "
                f"{self.limits.max_text_chars:,} were read (the limit); ask for the part that "
                "matters if the rest is needed]"
            )
            content = content[: self.limits.max_text_chars]
        return head + "\n" + mark_untrusted(f"file {item.name}", content), True

    async def _document(self, kind: str, item: Attachment) -> tuple[str, bool]:
        """The document as text for the message, and whether any of its content was read in."""
        reading = await asyncio.to_thread(
            read_document, kind, item.data, self.limits.max_text_chars
        )
        if not reading.text:
            return f"[File {item.name}: {reading.note}.]", False
        head = f"[File {item.name}: {reading.note}]" if reading.note else f"[File {item.name}]"
        return head + "\n" + mark_untrusted(f"file {item.name}", reading.text), True

    def _image(self, conversation_id: int, item: Attachment) -> tuple[str, SavedFile | None]:
        if not self.limits.vision:
            return f"[Image {item.name}: this model cannot see images.]", None
        if len(item.data) > self.limits.max_image_bytes:
            return (
                f"[Image {item.name} ({_size(len(item.data))}) is larger than the "
                f"{_size(self.limits.max_image_bytes)} limit and was not read.]",
                None,
            )
        mime = item.mime_type if item.mime_type in IMAGE_TYPES else "image/jpeg"
        relative = Path("files") / str(conversation_id) / f"{uuid.uuid4().hex}{IMAGE_TYPES[mime]}"
        path = self._root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(item.data)
        kept = SavedFile("image", item.name, mime, relative.as_posix(), len(item.data))
        return f"[Image {item.name}]", kept

    def image_part(self, file: SavedFile) -> dict[str, Any] | None:
        """The image as a chat-completions content part, or None if it is gone."""
        url = self._cache.get(file.path)
        if url is None:
            try:
                data = (self._root / file.path).read_bytes()
            except OSError:
                return None
            url = f"data:{file.mime_type};base64,{base64.b64encode(data).decode()}"
            self._cache[file.path] = url
            if len(self._cache) > 64:
                self._cache.popitem(last=False)
        return {"type": "image_url", "image_url": {"url": url}}
