"""Downloading files people share with the assistant (they need the bot token).

The token goes only to Slack's file hosts over HTTPS (files.slack.com, and
files.slack-gov.com for GovSlack) and to the origin of SLACK_API_URL (a
self-hosted gateway, or the fake Slack in tests). A file's link comes from the
event, and a remote file's (mode "external") is whatever its owner registered,
so any other host is refused before a request is made. Redirects are followed
by hand and each hop is checked the same way: aiohttp 3.14 drops the header on a
cross-origin redirect, but that is its choice to change, and a same-host
redirect to an unchecked port or scheme would still carry it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import PurePath

import aiohttp
from yarl import URL

from adapters.slack.events import SlackFile
from bot.chat.attachments import IMAGE_TYPES, TEXT_SUFFIXES, TEXT_TYPES, document_kind
from bot.chat.channels import Attachment

log = logging.getLogger(__name__)

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
DOWNLOAD_ATTEMPTS = 3
MAX_REDIRECTS = 3
MAX_RETRY_AFTER = 30.0
REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Where Slack serves url_private / url_private_download (commercial Slack and GovSlack).
SLACK_FILE_HOSTS = frozenset({"files.slack.com", "files.slack-gov.com"})


def file_kind(item: SlackFile) -> str:
    """image, document, text, audio or file (which the assistant cannot read)."""
    if item.mime_type in IMAGE_TYPES or item.mime_type.startswith("image/"):
        return "image"
    if item.mime_type.startswith("audio/"):
        return "audio"
    if document_kind(item.name, item.mime_type) is not None:
        return "document"  # up to max_bytes like any file: converting cuts it to the limit
    if item.mime_type.startswith(TEXT_TYPES) or PurePath(item.name).suffix.lower() in TEXT_SUFFIXES:
        return "text"
    return "file"


def token_may_go_to(url: URL, api_url: URL) -> bool:
    """Whether a request to `url` may carry the bot token: a Slack file host over HTTPS
    on its usual port, or exactly the origin (scheme, host, port) of the Web API."""
    if url.scheme == "https" and url.host in SLACK_FILE_HOSTS and url.port == 443:
        return True
    return url.is_absolute() and url.origin() == api_url.origin()


def _retry_after(value: str | None) -> float:
    try:
        return min(max(float(value or "1"), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        return 1.0


class FileFetcher:
    """Turns Slack file objects into Attachments, downloading the readable ones."""

    def __init__(
        self,
        token: str,
        *,
        api_url: str = "https://slack.com/api/",
        max_bytes: int = MAX_DOWNLOAD_BYTES,
    ) -> None:
        self._headers = {"Authorization": f"Bearer {token}"}
        self._api_url = URL(api_url)
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
        # Audio is downloaded like images; its length is unknown here, so bot/chat/voice.py
        # caps it by size, and treats it as a shared file (not the person's own words).
        if kind == "file":
            return Attachment(
                kind,
                item.name,
                item.mime_type,
                note=f"{item.mime_type} file; only text files, documents and images can be read",
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
        except (aiohttp.ClientError, TimeoutError, ValueError, _NotTheFile) as exc:
            log.warning("could not download Slack file %s: %s", item.id, exc)
            return Attachment(kind, item.name, item.mime_type, note="could not be downloaded")
        return Attachment(kind, item.name, item.mime_type, data=data)

    async def _download(self, item: SlackFile) -> bytes:
        if self._session is None:
            # No session-wide headers: the token is added per checked request.
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        try:
            url = URL(item.url)
        except ValueError:
            raise _NotTheFile("the link is not a URL") from None
        hops = attempts = 0
        while True:
            if not token_may_go_to(url, self._api_url):
                raise _NotTheFile(f"{url.host or 'the link'} is not a Slack file host")
            async with self._session.get(
                url, headers=self._headers, allow_redirects=False
            ) as response:
                if response.status in REDIRECTS:
                    hops += 1
                    location = response.headers.get("Location")
                    if hops > MAX_REDIRECTS or not location:
                        raise _NotTheFile(f"redirect {hops} without a usable Location")
                    url = url.join(URL(location))
                    continue
                attempts += 1
                if response.status == 429 and attempts < DOWNLOAD_ATTEMPTS:
                    await asyncio.sleep(_retry_after(response.headers.get("Retry-After")))
                    continue
                if response.status != 200:
                    raise _NotTheFile(f"HTTP {response.status}")
                # Without a valid token (or the files:read scope) Slack answers with its
                # sign-in page instead of the file.
                if response.content_type == "text/html" and "html" not in item.mime_type:
                    raise _NotTheFile("got a web page: check the files:read scope")
                # `content.read(n)` returns what is buffered (one chunk), not n bytes:
                # read to the end, stopping once it is over the limit.
                data = bytearray()
                async for chunk in response.content.iter_chunked(64 * 1024):
                    data += chunk
                    if len(data) > self._max_bytes:
                        raise _NotTheFile("larger than announced")
                return bytes(data)


class _NotTheFile(Exception):
    pass
