"""web_search through a configured provider: a SearXNG instance or the Brave Search API.

The provider's address is the administrator's choice, so it is not subject to
web_fetch's private-address rule (SearXNG often runs next to the assistant).
Without a provider the tool is not offered at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
from pydantic import BaseModel, Field

from bot.errors import ToolError
from bot.tools import Tool, ToolContext, tool
from bot.tools.web import USER_AGENT


@dataclass(frozen=True)
class SearchHit:
    title: str
    url: str
    snippet: str


class SearchProvider(Protocol):
    name: str

    async def search(self, query: str, count: int) -> list[SearchHit]: ...


async def _get_json(
    url: str, params: dict[str, str], headers: dict[str, str], limit: float, service: str
) -> Any:
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=limit)) as session,
            session.get(url, params=params, headers={"User-Agent": USER_AGENT, **headers}) as r,
        ):
            if r.status != 200:
                raise ToolError(f"{service} answered HTTP {r.status}; try again later")
            return await r.json(content_type=None)
    except TimeoutError:
        raise ToolError(f"{service} did not answer within {limit:g} s") from None
    except (aiohttp.ClientError, ValueError) as exc:
        raise ToolError(f"{service} could not be reached or answered garbage ({exc})") from None


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value else ""


class SearxngSearch:
    name = "SearXNG"

    def __init__(self, base_url: str, timeout: float) -> None:
        self._url = f"{base_url.rstrip('/')}/search"
        self._timeout = timeout

    async def search(self, query: str, count: int) -> list[SearchHit]:
        data = await _get_json(
            self._url, {"q": query, "format": "json"}, {}, self._timeout, self.name
        )
        results = data.get("results", []) if isinstance(data, dict) else []
        return [
            SearchHit(_text(r.get("title")), str(r.get("url", "")), _text(r.get("content")))
            for r in results[:count]
            if isinstance(r, dict) and r.get("url")
        ]


class BraveSearch:
    name = "Brave Search"

    def __init__(self, api_url: str, api_key: str, timeout: float) -> None:
        self._url = api_url
        self._key = api_key
        self._timeout = timeout

    async def search(self, query: str, count: int) -> list[SearchHit]:
        data = await _get_json(
            self._url,
            {"q": query, "count": str(count)},
            {"X-Subscription-Token": self._key, "Accept": "application/json"},
            self._timeout,
            self.name,
        )
        web = data.get("web", {}) if isinstance(data, dict) else {}
        results = web.get("results", []) if isinstance(web, dict) else []
        return [
            SearchHit(_text(r.get("title")), str(r.get("url", "")), _text(r.get("description")))
            for r in results[:count]
            if isinstance(r, dict) and r.get("url")
        ]


class WebSearchArgs(BaseModel):
    query: str = Field(description="What to search for, as you would type it into a search box.")
    count: int = Field(5, ge=1, le=10, description="How many results (1-10).")


def format_hits(query: str, hits: list[SearchHit]) -> str:
    if not hits:
        return f"No results for {query!r}."
    lines = [f"Results for {query!r}:"]
    for number, hit in enumerate(hits, start=1):
        lines.append(f"{number}. {hit.title or hit.url}\n   {hit.url}")
        if hit.snippet:
            lines.append(f"   {hit.snippet[:400]}")
    return "\n".join(lines)


def web_search_tool(provider: SearchProvider) -> Tool:
    """The web_search tool over this provider."""

    @tool(
        read_only=True,
        untrusted_output=True,
        summary=lambda args: f"web search {args.query[:150]!r}",
    )
    async def web_search(ctx: ToolContext, args: WebSearchArgs) -> str:
        """Search the web; returns titles, links and snippets. Use web_fetch to read a page."""
        query = args.query.strip()
        if not query:
            raise ToolError("the query is empty")
        return format_hits(query, await provider.search(query, args.count))

    return web_search
