"""web_fetch: read a web page as text, without letting the model reach private networks.

A URL chosen by the model must not reach this machine, the local network or
cloud metadata services (SSRF). Every host is resolved once, every address is
checked (bot/tools/addresses.py says which may be reached), and the
connection goes to exactly the checked addresses (aiohttp connects to what our
resolver returns), so a DNS answer that changes between check and connect (DNS
rebinding) cannot slip through. Redirects are followed
by hand, one hop at a time, each checked the same way. Networks listed in
CLAWLING_WEB_ALLOWED_NETWORKS are allowed on purpose.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from pydantic import BaseModel, Field
from yarl import URL

from bot.errors import ToolError
from bot.tools import Tool, ToolContext, tool
from bot.tools.addresses import AddressPolicy

Lookup = Callable[[str, int], Awaitable[list[str]]]

MAX_REDIRECTS = 5
USER_AGENT = "Mozilla/5.0 (compatible; Clawling/0.1; personal assistant)"
HTML_TYPES = ("text/html", "application/xhtml+xml")
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/rss+xml")


class BlockedAddress(Exception):
    """The URL leads to an address the assistant may not reach."""


async def system_lookup(host: str, port: int) -> list[str]:
    """The host's addresses from the system resolver."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _CheckingResolver(AbstractResolver):
    """Resolves once, refuses the host if any address is not allowed, and hands aiohttp
    the checked addresses to connect to."""

    def __init__(self, lookup: Lookup, policy: AddressPolicy) -> None:
        self._lookup = lookup
        self._policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = await self._lookup(host, port)
        if not addresses:
            raise OSError(f"{host} has no address")
        results: list[ResolveResult] = []
        for address in addresses:
            reason = self._policy.refusal(address)
            if reason is not None:
                raise BlockedAddress(f"{host} resolves to an address off limits: {reason}")
            results.append(
                {
                    "hostname": host,
                    "host": address,
                    "port": port,
                    "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                    "proto": 0,
                    "flags": socket.AI_NUMERICHOST,
                }
            )
        return results

    async def close(self) -> None:
        return None


@dataclass(frozen=True)
class Page:
    url: str
    content_type: str
    charset: str | None
    body: bytes
    truncated: bool


class WebFetcher:
    """Fetches URLs within size and time caps, refusing addresses the policy forbids."""

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        max_bytes: int,
        timeout: float,
        lookup: Lookup = system_lookup,
    ) -> None:
        self._policy = policy
        self._max_bytes = max_bytes
        self._timeout = timeout
        self._lookup = lookup

    def _check_url(self, url: URL) -> None:
        if url.scheme not in ("http", "https") or not url.host:
            raise ToolError(f"only http and https URLs can be fetched, not {str(url)[:100]!r}")
        try:
            ipaddress.ip_address(url.host.strip("[]").split("%", 1)[0])
        except ValueError:
            return  # a name: checked when it is resolved
        reason = self._policy.refusal(url.host.strip("[]"))
        if reason is not None:
            raise BlockedAddress(reason)

    async def fetch(self, url: str) -> Page:
        """The page at `url` after at most MAX_REDIRECTS checked redirects."""
        connector = aiohttp.TCPConnector(
            resolver=_CheckingResolver(self._lookup, self._policy),
            use_dns_cache=False,
            force_close=True,
        )
        timeout = aiohttp.ClientTimeout(total=self._timeout)
        try:
            async with (
                asyncio.timeout(self._timeout),
                aiohttp.ClientSession(
                    connector=connector, timeout=timeout, trust_env=False
                ) as session,
            ):
                return await self._follow(session, URL(url))
        except BlockedAddress as exc:
            raise ToolError(
                f"refused: {exc}. Private, local and special-purpose addresses are off limits."
            ) from None
        except TimeoutError:
            raise ToolError(f"the page did not load within {self._timeout:g} s") from None
        except aiohttp.ClientError as exc:
            raise ToolError(f"could not fetch the page: {exc}") from None
        except ValueError as exc:
            raise ToolError(f"not a valid URL: {exc}") from None

    async def _follow(self, session: aiohttp.ClientSession, url: URL) -> Page:
        for _ in range(MAX_REDIRECTS + 1):
            self._check_url(url)
            headers = {"User-Agent": USER_AGENT, "Accept": "text/html,text/plain;q=0.9,*/*;q=0.5"}
            async with session.get(url, allow_redirects=False, headers=headers) as response:
                if response.status in (301, 302, 303, 307, 308):
                    location = response.headers.get("Location")
                    if not location:
                        raise ToolError(f"HTTP {response.status} redirect without a Location")
                    url = url.join(URL(location))
                    continue
                if response.status >= 400:
                    raise ToolError(f"the server answered HTTP {response.status}")
                body, truncated = await self._read(response)
                return Page(str(url), response.content_type, response.charset, body, truncated)
        raise ToolError(f"more than {MAX_REDIRECTS} redirects")

    async def _read(self, response: aiohttp.ClientResponse) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(65_536):
            chunks.append(chunk)
            size += len(chunk)
            if size > self._max_bytes:
                return b"".join(chunks)[: self._max_bytes], True
        return b"".join(chunks), False


def _decode(page: Page) -> str:
    return page.body.decode(page.charset or "utf-8", errors="replace")


def _title(html: str) -> str:
    found = re.search(r"<title[^>]*>(.*?)</title>", html, re.I | re.S)
    return " ".join(found.group(1).split())[:200] if found else ""


def readable_text(page: Page) -> str:
    """The page as readable text: main content of HTML (trafilatura), text as it is."""
    kind = page.content_type.lower()
    if kind in HTML_TYPES:
        import trafilatura  # heavy: loaded on first use

        html = _decode(page)
        text = trafilatura.extract(
            html, url=page.url, output_format="markdown", include_tables=True, favor_recall=True
        ) or trafilatura.html2txt(html)
        title = _title(html)
        head = f"Title: {title}\n" if title else ""
        return f"URL: {page.url}\n{head}\n{text.strip()}"
    if kind.startswith(TEXT_TYPES) or kind.endswith(("+json", "+xml")):
        return f"URL: {page.url}\n\n{_decode(page)}"
    raise ToolError(f"{page.url} is not a text page (its type is {kind or 'unknown'})")


class WebFetchArgs(BaseModel):
    url: str = Field(description="The full http(s) URL of the page.")


def web_fetch_tool(fetcher: WebFetcher) -> Tool:
    """The web_fetch tool over this fetcher."""

    @tool(read_only=True, untrusted_output=True, summary=lambda args: f"web page {args.url[:200]}")
    async def web_fetch(ctx: ToolContext, args: WebFetchArgs) -> str:
        """Fetch a web page and return its main text."""
        page = await fetcher.fetch(args.url.strip())
        text = await asyncio.to_thread(readable_text, page)
        if page.truncated:
            text += "\n[the page was cut at the size limit]"
        return text

    return web_fetch
