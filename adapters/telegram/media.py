"""Files that come with a Telegram message → Attachments, downloaded within limits."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from telegram import Audio, Document, Message, PhotoSize, Voice

from adapters.telegram import retry
from bot.chat.attachments import IMAGE_TYPES, TEXT_SUFFIXES, TEXT_TYPES, document_kind
from bot.chat.channels import Attachment
from bot.errors import TransportError

log = logging.getLogger(__name__)

# The official Bot API server hands out files up to 20 MB.
BOT_API_DOWNLOAD_LIMIT = 20 * 1024 * 1024


@dataclass(frozen=True)
class MediaLimits:
    max_text_bytes: int  # text files larger than this are not downloaded
    # PDFs, Word files, spreadsheets and web pages carry far more bytes than text, and are
    # cut to the character limit after converting: they are capped by what Telegram serves.
    max_download_bytes: int = BOT_API_DOWNLOAD_LIMIT


def _size(n: int) -> str:
    return f"{n / 1024:.0f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


async def _download(item: PhotoSize | Document | Voice | Audio, policy: retry.RetryPolicy) -> bytes:
    file = await retry.call("getFile", item.get_file, policy)
    data = await retry.call("download", file.download_as_bytearray, policy)
    return bytes(data)


async def collect(
    message: Message, limits: MediaLimits, policy: retry.RetryPolicy
) -> list[Attachment]:
    """The message's files as attachments; what cannot be read carries a note saying why."""
    found: list[Attachment] = []
    if message.photo:
        biggest = message.photo[-1]
        name = f"photo_{biggest.file_unique_id}.jpg"
        found.append(await _fetch(biggest, "image", name, "image/jpeg", limits, policy))
    if message.document is not None:
        found.append(await _document(message.document, limits, policy))
    if message.voice is not None:
        # Recorded by the sender: their own words, unless forwarded from someone else.
        own = message.forward_origin is None
        found.append(await _audio(message.voice, "voice.ogg", limits, policy, recorded=own))
    if message.audio is not None:
        name = message.audio.file_name or "audio file"
        found.append(await _audio(message.audio, name, limits, policy, recorded=False))
    if message.video_note is not None:
        found.append(
            Attachment("file", "video message", "video/mp4", note="videos cannot be watched")
        )
    if message.video is not None:
        name = message.video.file_name or "video"
        found.append(
            Attachment(
                "file",
                name,
                message.video.mime_type or "video/mp4",
                note="videos cannot be watched",
            )
        )
    return found


async def _audio(
    audio: Voice | Audio,
    name: str,
    limits: MediaLimits,
    policy: retry.RetryPolicy,
    *,
    recorded: bool,
) -> Attachment:
    """A voice note (recorded in the app) or an audio file, downloaded with its length."""
    mime = audio.mime_type or "audio/ogg"
    fetched = await _fetch(audio, "audio", name, mime, limits, policy)
    length = audio.duration  # seconds, or a timedelta when PTB_TIMEDELTA is set
    seconds = length.total_seconds() if isinstance(length, timedelta) else float(length)
    return replace(fetched, seconds=seconds, recorded=recorded)


async def _document(
    document: Document, limits: MediaLimits, policy: retry.RetryPolicy
) -> Attachment:
    name = document.file_name or "document"
    mime = (document.mime_type or "application/octet-stream").lower()
    size = document.file_size or 0
    if mime in IMAGE_TYPES:
        return await _fetch(document, "image", name, mime, limits, policy)
    if document_kind(name, mime) is not None:
        return await _fetch(document, "document", name, mime, limits, policy)
    if mime.startswith(TEXT_TYPES) or Path(name).suffix.lower() in TEXT_SUFFIXES:
        if size > limits.max_text_bytes:
            note = (
                f"this text file is {_size(size)}, more than the {_size(limits.max_text_bytes)} "
                "that can be read; ask for a smaller file or the part that matters"
            )
            return Attachment("text", name, mime, note=note)
        return await _fetch(document, "text", name, mime, limits, policy)
    note = f"a {mime} file of {_size(size)}; only text files, documents and images can be read"
    return Attachment("file", name, mime, note=note)


async def _fetch(
    item: PhotoSize | Document | Voice | Audio,
    kind: str,
    name: str,
    mime: str,
    limits: MediaLimits,
    policy: retry.RetryPolicy,
) -> Attachment:
    size = item.file_size or 0
    if size > limits.max_download_bytes:
        note = f"{_size(size)} is more than the {_size(limits.max_download_bytes)} Telegram lets bots download"
        return Attachment(kind, name, mime, note=note)
    try:
        data = await _download(item, policy)
    except TransportError as exc:
        log.warning("could not download %s: %s", name, exc)
        return Attachment(kind, name, mime, note="it could not be downloaded from Telegram")
    return Attachment(kind, name, mime, data=data)
