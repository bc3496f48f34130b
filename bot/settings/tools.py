"""`CLAWLING_*` settings of skills and tools: web access, search, MCP servers, shell,
approvals. `CoreSettings` inherits them, so they read like every other core setting."""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from bot.settings.fields import CommaList, split_commas

BRAVE_DEFAULT_API_URL = "https://api.search.brave.com/res/v1/web/search"
MCP_SERVER_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,30}$")


def mcp_tool_name(server: str, tool: str) -> str:
    """How an MCP server's tool is named for the model: `<server>_<tool>`, in the
    characters and length function names allow."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"{server}_{tool}")[:64]


class McpUserSettings(BaseModel):
    """One person's own credentials for a `per_user` MCP server, added to the server's."""

    model_config = ConfigDict(extra="forbid")

    env: dict[str, str] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)


# Keys other MCP clients put in their server entries that mean nothing here: accepted so
# that a snippet copied from a server's README works as it is.
_FOREIGN_KEYS = frozenset({"alwaysAllow", "autoApprove", "description", "timeout"})
_TRANSPORT_TYPES = {
    "stdio": "command",
    "http": "url",
    "streamable-http": "url",
    "streamable_http": "url",
    "streamableHttp": "url",
}


class McpServerSettings(BaseModel):
    """One MCP server: a command to start (stdio) or a URL (streamable HTTP)."""

    model_config = ConfigDict(extra="forbid")

    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    # Tools of this server offered to the model; ["*"] (the default) offers all of them.
    tools: list[str] = Field(default_factory=lambda: ["*"])
    # "shared": one connection for everyone (public, read-only data only: what one person
    # stores there, everyone reads). "per_user": a connection of each person's own, with
    # their credentials from `users` (platform:id -> env/headers); off for anyone else.
    # Left out, a server is shared, and start-up says so in the log.
    scope: Literal["shared", "per_user"] = "shared"
    users: dict[str, McpUserSettings] = Field(default_factory=dict)
    disabled: bool = False

    @model_validator(mode="before")
    @classmethod
    def _as_other_clients_write_it(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        value = {k: v for k, v in value.items() if k not in _FOREIGN_KEYS}
        kind = value.pop("type", value.pop("transport", None))
        if kind is None:
            return value
        if kind == "sse":
            raise ValueError(
                'the "sse" transport is not supported; use the server\'s streamable HTTP '
                'URL with "type": "http"'
            )
        if kind not in _TRANSPORT_TYPES:
            raise ValueError(f'"type" must be "stdio" or "http", not {kind!r}')
        if _TRANSPORT_TYPES[kind] not in value:
            raise ValueError(f'"type": "{kind}" needs "{_TRANSPORT_TYPES[kind]}"')
        return value

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerSettings:
        if (self.command is None) == (self.url is None):
            raise ValueError('each server needs exactly one of "command" (stdio) or "url" (HTTP)')
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            # Not echoed: the URL may carry a token (userinfo or a query parameter).
            raise ValueError('"url" must start with http:// or https://')
        if not self.tools:
            raise ValueError('"tools" lists the tools to offer; use ["*"] for all of them')
        if self.scope == "shared" and self.users:
            raise ValueError('"users" is only for servers with "scope": "per_user"')
        if self.scope == "per_user" and not self.users:
            raise ValueError(
                '"per_user" needs "users": {"telegram:12345": {"env": {...}}} with each '
                "person's own credentials"
            )
        bad = [key for key in self.users if ":" not in key or not key.split(":", 1)[1]]
        if bad:
            raise ValueError('"users" keys are platform:id, e.g. telegram:12345')
        return self


class ToolSettings(BaseModel):
    """Settings of the tools and skills (see README, "Skills and tools")."""

    model_config = ConfigDict(extra="ignore")

    web_allowed_networks: CommaList = Field(default_factory=list)
    web_max_bytes: int = Field(2_000_000, ge=10_000)
    web_timeout: float = Field(20.0, gt=0)
    searxng_url: str | None = None
    brave_api_key: SecretStr | None = None
    brave_api_url: str = BRAVE_DEFAULT_API_URL
    mcp_servers: Annotated[dict[str, McpServerSettings], NoDecode] = Field(default_factory=dict)
    shell: bool = False
    shell_allowlist: CommaList = Field(default_factory=list)
    shell_timeout: float = Field(30.0, gt=0)
    approval_timeout: float = Field(600.0, gt=0)

    _split_tool_lists = field_validator("web_allowed_networks", "shell_allowlist", mode="before")(
        split_commas
    )

    @field_validator("mcp_servers", mode="before")
    @classmethod
    def _json_object(cls, value: Any) -> Any:
        if isinstance(value, str):
            if not value.strip():
                return {}
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not valid JSON ({exc.msg} at character {exc.pos})") from None
        if isinstance(value, dict):
            # The shape most MCP clients document: {"mcpServers": {...}} ("servers" in
            # some editors).
            for wrapper in ("mcpServers", "servers"):
                if set(value) == {wrapper} and isinstance(value[wrapper], dict):
                    return value[wrapper]
        return value

    @field_validator("web_allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an address or network") from None
        return value

    @field_validator("searxng_url", "brave_api_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("brave_api_key")
    @classmethod
    def _key(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value is not None and value.get_secret_value().strip() else None

    @field_validator("mcp_servers")
    @classmethod
    def _server_names(cls, value: dict[str, McpServerSettings]) -> dict[str, McpServerSettings]:
        for name in value:
            if not MCP_SERVER_NAME.match(name):
                raise ValueError(
                    f"server name {name!r} must be lowercase letters, digits, - or _ "
                    "(at most 31 characters)"
                )
        return value

    @property
    def search_configured(self) -> bool:
        return self.searxng_url is not None or self.brave_api_key is not None


TOOL_SETTING_FIXES: dict[str, str] = {
    "CLAWLING_WEB_ALLOWED_NETWORKS": "list addresses or networks such as 192.168.1.20/32",
    "CLAWLING_SEARXNG_URL": "use your SearXNG instance's URL, e.g. http://searxng:8080",
    "CLAWLING_MCP_SERVERS": (
        'use a JSON object such as {"files": {"command": "mcp-files", "tools": ["read"], '
        '"scope": "shared"}} '
        "(see README, MCP servers)"
    ),
    "CLAWLING_SHELL_ALLOWLIST": "list commands separated by commas, e.g. ls,cat,head,tail,wc,grep",
}
