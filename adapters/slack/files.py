"""Downloading files people share with the assistant (they need the bot token)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import PurePath

import aiohttp

from adapters.slack.events import SlackFile
from bot.chat.attachments import IMAGE_TYPES, TEXT_SUFFIXES, TEXT_TYPES
from bot.chat.channels import Attachment

log = logging.getLogger(__name__)

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
DOWNLOAD_ATTEMPTS = 3


def file_kind(item: SlackFile) -> str:
    """image, text, audio or file (which the assistant cannot read)."""
    if item.mime_type in IMAGE_TYPES or item.mime_type.startswith("image/"):
        return "image"
    if item.mime_type.startswith("audio/"):
        return "audio"
    if item.mime_type.startswith(TEXT_TYPES) or PurePath(item.name).suffix.lower() in TEXT_SUFFIXES:
        return "text"
    return "file"


class FileFetcher:
    """Turns Slack file objects into Attachments, downloading the readable ones."""

    def __init__(self, token: str, *, max_bytes: int = MAX_DOWNLOAD_BYTES) -> None:
        self._headers = {"Authorization": f"Bearer {token}"}
        self._max_bytes = max_bytes
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(self, files: Sequence[SlackFile]) -> list[Attachment]:
        return [await self._one(item) for item in files]

    async def _one(self, item: SlackFile) -> Attachment:
        kind = file_kind(item)
        if kind == "audio":
            return Attachment(kind, item.name, item.mime_type)  # described, not read
        if kind == "file":
            return Attachment(
                kind,
                item.name,
                item.mime_type,
                note=f"{item.mime_type} file; only text files and images can be read",
            )
        if item.size > self._max_bytes:
            return Attachment(
                kind,
                item.name,
                item.mime_type,
                note=f"too large to read ({item.size // (1024 * 1024)} MB)",
            )
        if not item.url:
            return Attachment(kind, item.name, item.mime_type, note="Slack gave no download link")
        try:
            data = await self._download(item)
        except (aiohttp.ClientError, TimeoutError, _NotTheFile) as exc:
            log.warning("could not download Slack file %s: %s", item.id, exc)
            return Attachment(kind, item.name, item.mime_type, note="could not be downloaded")
        return Attachment(kind, item.name, item.mime_type, data=data)

    async def _download(self, item: SlackFile) -> bytes:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers=self._headers, timeout=aiohttp.ClientTimeout(total=60)
            )
        for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
            async with self._session.get(item.url) as response:
                if response.status == 429 and attempt < DOWNLOAD_ATTEMPTS:
                    await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
                    continue
                if response.status != 200:
                    raise _NotTheFile(f"HTTP {response.status}")
                # Without a valid token (or the files:read scope) Slack answers with its
                # sign-in page instead of the file.
                if response.content_type == "text/html" and "html" not in item.mime_type:
                    raise _NotTheFile("got a web page: check the files:read scope")
                data = await response.content.read(self._max_bytes + 1)
                if len(data) > self._max_bytes:
                    raise _NotTheFile("larger than announced")
                return data
        raise _NotTheFile("rate limited")


class _NotTheFile(Exception):
    pass
