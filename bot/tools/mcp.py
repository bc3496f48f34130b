"""MCP servers' tools, offered to the model (official `mcp` SDK, stdio and streamable HTTP).

Each server in CLAWLING_MCP_SERVERS is connected at start-up and kept open; the
tools on its allowlist become tools named `<server>_<tool>`, with the schema the
server gives. Their results are untrusted data, and a tool the server does not
mark read-only counts as having side effects. A server that cannot be reached
is logged and skipped; the others keep working.

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
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

from mcp import Client, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import Tool as McpTool
from pydantic import BaseModel, ConfigDict, Field, create_model

from bot.errors import ToolError
from bot.settings.tools import McpServerSettings, mcp_tool_name
from bot.tools import Tool, ToolContext, ToolRegistry

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 30.0


def _clean(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _clean(v) for k, v in schema.items() if k not in ("title", "$schema")}
    if isinstance(schema, list):
        return [_clean(v) for v in schema]
    return schema


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


ClientFor = Callable[[ToolContext], Awaitable[Client]]
# Identities of a person as platform:id ("telegram:42"), to find their credentials.
Identities = Callable[[int], Awaitable[list[str]]]
SHARED = ""  # the session key of a shared server's one connection


def wrap_tool(server: str, client_for: ClientFor, spec: McpTool) -> Tool:
    """One of the server's tools as ours; each call goes through the caller's session."""
    name = mcp_tool_name(server, spec.name)
    schema = _clean(spec.input_schema or {"type": "object", "properties": {}})
    model = args_model(name, schema)
    read_only = bool(spec.annotations and spec.annotations.read_only_hint)

    async def run(ctx: ToolContext, args: BaseModel) -> str:
        arguments = args.model_dump(by_alias=True, exclude_unset=True)
        client = await client_for(ctx)
        try:
            result = await client.call_tool(spec.name, arguments)
        except MCPError as exc:
            raise ToolError(f"the MCP server {server!r} refused: {exc}") from None
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
    """A `Service`: connects the configured servers on start, disconnects on stop."""

    def __init__(
        self,
        servers: dict[str, McpServerSettings],
        registry: ToolRegistry,
        log_dir: Path,
        *,
        call_timeout: float,
        identities: Identities,
    ) -> None:
        self._servers = servers
        self._registry = registry
        self._log_dir = log_dir
        self._call_timeout = call_timeout
        self._identities = identities
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        # (server, person's key or SHARED) -> the open session, once it is ready.
        self._sessions: dict[tuple[str, str], asyncio.Future[Client]] = {}
        self.connected: dict[str, list[str]] = {}
        self.failed: dict[str, str] = {}

    async def start(self) -> None:
        for name, config in self._servers.items():
            # A per-person server lists its tools through its first person's session.
            key = SHARED if config.scope == "shared" else sorted(config.users)[0]
            try:
                client = await self._session(name, key)
                async with asyncio.timeout(CONNECT_TIMEOUT):
                    listed = await self._list(client)
            except Exception as exc:  # noqa: BLE001 - any failure means: skip this server
                reason = str(exc) or type(exc).__name__
                self.failed[name] = reason
                log.warning("MCP server %s is not available: %s", name, reason)
                continue
            allowed = set(config.tools)
            missing = allowed - {"*"} - {spec.name for spec in listed}
            if missing:
                log.warning("MCP server %s has no tools %s", name, sorted(missing))
            client_for = self._client_for(name, config)
            tools = [
                wrap_tool(name, client_for, spec)
                for spec in listed
                if "*" in allowed or spec.name in allowed
            ]
            for item in tools:
                self._registry.add(item)
            self.connected[name] = [t.name for t in tools]
            log.info("MCP server %s (%s): %d tools", name, config.scope, len(tools))

    async def stop(self) -> None:
        self._stopping.set()
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=10)
            for task in late:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self._sessions.clear()

    def _client_for(self, name: str, config: McpServerSettings) -> ClientFor:
        async def client_for(ctx: ToolContext) -> Client:
            if config.scope == "shared":
                return await self._session(name, SHARED)
            mine = [key for key in await self._identities(ctx.user.id) if key in config.users]
            if not mine:
                raise ToolError(
                    f"the MCP server {name!r} is set up for each person with their own "
                    "access, and this person has none; the owner can add them to its users"
                )
            return await self._session(name, mine[0])

        return client_for

    async def _session(self, name: str, key: str) -> Client:
        """The open session of `key` (a person, or SHARED) on server `name`, opened on
        first use; a session that closed is opened again."""
        ready = self._sessions.get((name, key))
        if ready is None:
            ready = asyncio.get_running_loop().create_future()
            self._sessions[(name, key)] = ready
            config = self._config(name, key)
            self._tasks.append(asyncio.create_task(self._hold(name, key, config, ready)))
        async with asyncio.timeout(CONNECT_TIMEOUT):
            return await asyncio.shield(ready)

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

    def _transport(self, config: McpServerSettings, errlog: TextIO) -> Any:
        if config.url is not None:
            import httpx2

            http = httpx2.AsyncClient(headers=config.headers, timeout=self._call_timeout)
            return streamable_http_client(config.url, http_client=http)
        params = StdioServerParameters(
            command=config.command or "", args=config.args, env=config.env or None, cwd=config.cwd
        )
        return stdio_client(params, errlog=errlog)

    async def _hold(
        self, name: str, key: str, config: McpServerSettings, ready: asyncio.Future[Client]
    ) -> None:
        """Open one session and keep it open until stop (the SDK's task groups must be
        entered and left by the same task)."""
        self._log_dir.mkdir(parents=True, exist_ok=True)
        # The server's stderr goes to its own log file (opening it does not block for long).
        with open(self._log_dir / f"mcp-{name}.log", "a", encoding="utf-8") as errlog:  # noqa: ASYNC230
            try:
                transport = self._transport(config, errlog)
                async with Client(
                    transport, read_timeout_seconds=self._call_timeout, mode="legacy"
                ) as client:
                    ready.set_result(client)
                    await self._stopping.wait()
            except Exception as exc:
                if not ready.done():
                    ready.set_exception(exc)
                else:
                    log.warning("MCP server %s disconnected: %s", name, exc)
            finally:
                if not ready.done():
                    ready.cancel()
                if self._sessions.get((name, key)) is ready:
                    del self._sessions[(name, key)]  # the next call opens a new one
                with contextlib.suppress(Exception):
                    errlog.flush()

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
