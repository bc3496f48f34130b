"""MCP servers' tools, offered to the model (official `mcp` SDK, stdio and streamable HTTP).

Each server in CLAWLING_MCP_SERVERS is connected at start-up and kept open; the
tools on its allowlist become tools named `<server>_<tool>`, with the schema the
server gives. Their results are untrusted data, and a tool the server does not
mark read-only counts as having side effects. A server that cannot be reached, or
drops, is logged and connected again with backoff (`mcp_link.Link`); meanwhile its
tools answer at once that it is unavailable, and the others keep working.

A `shared` server has one connection for everyone: what one person stores there,
everyone reads (so it is for public, read-only data). A `per_user` server gets one
connection per person, opened at their first call with their own credentials (the
server's `env`/`headers` plus theirs); people without credentials get a refusal, and
nothing of anyone else's session.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

import anyio
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CONNECTION_CLOSED
from mcp_types import Tool as McpTool
from pydantic import BaseModel, ConfigDict, Field, create_model

from bot.errors import ToolError
from bot.settings.tools import McpServerSettings, mcp_tool_name
from bot.tools import Tool, ToolContext, ToolRegistry, strip_keywords
from bot.tools.mcp_link import Link, Unavailable

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 30.0


def clean_schema(schema: Any) -> Any:
    """The server's schema without what tells the model nothing (`title` annotations,
    `$schema`); a parameter that happens to be named `title` stays."""
    return strip_keywords(schema, {"title", "$schema"})


def args_model(name: str, schema: dict[str, Any]) -> type[BaseModel]:
    """A pydantic model that checks the top level of the server's schema (required and
    unknown keys); the server validates the rest itself."""
    required = set(schema.get("required", []))
    fields: dict[str, Any] = {}
    for index, prop in enumerate(schema.get("properties", {})):
        default = ... if prop in required else None
        fields[f"p{index}"] = (Any, Field(default, alias=prop))
    closed = schema.get("additionalProperties") is False
    config = ConfigDict(extra="forbid" if closed else "allow", populate_by_name=True)
    return create_model(f"{name}_args", __config__=config, **fields)


def result_text(content: list[Any], structured: Any) -> str:
    parts = []
    for block in content:
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(block.text)
        elif kind == "resource" and hasattr(block.resource, "text"):
            parts.append(block.resource.text)
        else:
            parts.append(f"[{kind or 'unknown'} content not shown]")
    if not parts and structured is not None:
        parts.append(json.dumps(structured, ensure_ascii=False))
    return "\n".join(parts)


ClientFor = Callable[[ToolContext], Awaitable[Link]]
# Identities of a person as platform:id ("telegram:42"), to find their credentials.
Identities = Callable[[int], Awaitable[list[str]]]
SHARED = ""  # the session key of a shared server's one connection


def _dropped(exc: BaseException) -> bool:
    """Whether a failed call means the connection is gone (not that the tool refused)."""
    if isinstance(exc, MCPError):
        return exc.code == CONNECTION_CLOSED
    return isinstance(exc, OSError | anyio.ClosedResourceError | anyio.BrokenResourceError)


def wrap_tool(server: str, link_for: ClientFor, spec: McpTool) -> Tool:
    """One of the server's tools as ours; each call goes through the caller's session."""
    name = mcp_tool_name(server, spec.name)
    schema = clean_schema(spec.input_schema or {"type": "object", "properties": {}})
    model = args_model(name, schema)
    read_only = bool(spec.annotations and spec.annotations.read_only_hint)

    async def run(ctx: ToolContext, args: BaseModel) -> str:
        arguments = args.model_dump(by_alias=True, exclude_unset=True)
        link = await link_for(ctx)
        try:
            client = await link.client()
            result = await client.call_tool(spec.name, arguments)
        except Unavailable as exc:
            raise ToolError(f"the MCP server {server!r} is unavailable right now: {exc}") from None
        except Exception as exc:
            if not _dropped(exc):
                if isinstance(exc, MCPError):
                    raise ToolError(f"the MCP server {server!r} refused: {exc.message}") from None
                raise
            link.lost(client)
            raise ToolError(
                f"the MCP server {server!r} is unavailable right now: its connection closed; "
                "it is being connected again"
            ) from None
        text = result_text(list(result.content), result.structured_content)
        if result.is_error:
            raise ToolError(text or f"{spec.name} failed on the MCP server {server!r}")
        return text

    def summary(args: BaseModel) -> str:
        shown = json.dumps(args.model_dump(by_alias=True, exclude_unset=True), ensure_ascii=False)
        return f"{server}: {spec.name} {shown[:200]}"

    description = (spec.description or spec.name).strip()
    return Tool(
        name,
        f"{description} (from the MCP server {server})"[:1024],
        model,
        run,
        side_effects=not read_only,
        declared=True,  # by the server's readOnlyHint; missing or false = side effects
        untrusted_output=True,
        summary=summary,
        parameters=schema,
    )


class McpServers:
    """A `Service`: connects the configured servers on start, keeps them connected (see
    `Link`), disconnects on stop."""

    def __init__(
        self,
        servers: dict[str, McpServerSettings],
        registry: ToolRegistry,
        log_dir: Path,
        *,
        call_timeout: float,
        identities: Identities,
        check_every: float = 30.0,
    ) -> None:
        self._servers = {name: c for name, c in servers.items() if not c.disabled}
        self._registry = registry
        self._log_dir = log_dir
        self._call_timeout = call_timeout
        self._identities = identities
        self._check_every = check_every
        # (server, person's key or SHARED) -> its supervised connection.
        self._links: dict[tuple[str, str], Link] = {}
        self.connected: dict[str, list[str]] = {}
        self.failed: dict[str, str] = {}

    async def start(self) -> None:
        for name, config in self._servers.items():
            if "scope" not in config.model_fields_set:
                log.warning(
                    'MCP server %s does not say its "scope": it is shared by everyone who '
                    'may use the assistant (set "scope": "per_user" for personal accounts)',
                    name,
                )
            # A per-person server lists its tools through its first person's session.
            key = SHARED if config.scope == "shared" else sorted(config.users)[0]
            link = self._link(name, key)
            await link.first_outcome()
            if not link.up:
                self.failed[name] = link.reason or "no answer"
                log.warning(
                    "MCP server %s is not available: %s; its tools are added when it connects",
                    name,
                    self.failed[name],
                )

    async def stop(self) -> None:
        links = list(self._links.values())
        self._links.clear()
        await asyncio.gather(*(link.stop() for link in links), return_exceptions=True)

    def status(self, name: str) -> str:
        """How a server is doing, in a few words (for doctor and /readyz)."""
        links = [link for (server, _), link in self._links.items() if server == name]
        if any(link.up for link in links):
            return "connected"
        reasons = [link.reason for link in links if link.reason]
        return f"unavailable: {reasons[0]}" if reasons else "connecting"

    async def _register(self, name: str, client: Client) -> None:
        """On a server's first connection: offer its allowlisted tools."""
        if name in self.connected:
            return
        config = self._servers[name]
        listed = await self._list(client)
        allowed = set(config.tools)
        missing = allowed - {"*"} - {spec.name for spec in listed}
        if missing:
            log.warning("MCP server %s has no tools %s", name, sorted(missing))
        link_for = self._link_for(name, config)
        tools = [
            wrap_tool(name, link_for, spec)
            for spec in listed
            if "*" in allowed or spec.name in allowed
        ]
        for item in tools:
            self._registry.add(item)
        self.connected[name] = [t.name for t in tools]
        self.failed.pop(name, None)
        log.info("MCP server %s (%s): %d tools", name, config.scope, len(tools))

    def _link_for(self, name: str, config: McpServerSettings) -> ClientFor:
        async def link_for(ctx: ToolContext) -> Link:
            if config.scope == "shared":
                return self._link(name, SHARED)
            mine = [key for key in await self._identities(ctx.user.id) if key in config.users]
            if not mine:
                raise ToolError(
                    f"the MCP server {name!r} is set up for each person with their own "
                    "access, and this person has none; the owner can add them to its users"
                )
            return self._link(name, mine[0])

        return link_for

    def _link(self, name: str, key: str) -> Link:
        """The supervised connection of `key` (a person, or SHARED) to server `name`,
        started on first use."""
        link = self._links.get((name, key))
        if link is None:
            config = self._config(name, key)

            async def on_up(client: Client) -> None:
                await self._register(name, client)

            link = Link(
                name if key == SHARED else f"{name} ({key})",
                lambda: self._open(name, config),
                connect_timeout=CONNECT_TIMEOUT,
                check_every=self._check_every,
                on_up=on_up,
            )
            self._links[(name, key)] = link
            link.start()
        return link

    def _config(self, name: str, key: str) -> McpServerSettings:
        config = self._servers[name]
        if key == SHARED:
            return config
        mine = config.users[key]
        return config.model_copy(
            update={
                "env": {**config.env, **mine.env},
                "headers": {**config.headers, **mine.headers},
            }
        )

    @contextlib.asynccontextmanager
    async def _open(self, name: str, config: McpServerSettings) -> AsyncIterator[Client]:
        """One session; the server's stderr goes to its own log file."""
        self._log_dir.mkdir(parents=True, exist_ok=True)
        with open(self._log_dir / f"mcp-{name}.log", "a", encoding="utf-8") as errlog:  # noqa: ASYNC230
            async with Client(
                self._transport(config, errlog),
                read_timeout_seconds=self._call_timeout,
                mode="legacy",
            ) as client:
                yield client

    def _transport(self, config: McpServerSettings, errlog: TextIO) -> Any:
        if config.url is not None:
            import httpx2

            http = httpx2.AsyncClient(headers=config.headers, timeout=self._call_timeout)
            return streamable_http_client(config.url, http_client=http)
        params = StdioServerParameters(
            command=config.command or "", args=config.args, env=config.env or None, cwd=config.cwd
        )
        return stdio_client(params, errlog=errlog)

    @staticmethod
    async def _list(client: Client) -> list[McpTool]:
        tools: list[McpTool] = []
        cursor = None
        for _ in range(50):
            page = await client.list_tools(cursor=cursor)
            tools.extend(page.tools)
            cursor = page.next_cursor
            if cursor is None:
                break
        return tools
