"""A small MCP server built with the official SDK, for the MCP client tests.

Run as `python -m tests.fakes.mcp_server stdio` (the client starts it) or
`python -m tests.fakes.mcp_server http PORT` (streamable HTTP on 127.0.0.1).
"""

from __future__ import annotations

import os
import sys

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

server = MCPServer("notes")
NOTES: list[str] = []


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def lookup(word: str, limit: int = 3) -> str:
    """Look a word up in the fake dictionary."""
    return f"{word}: a word of {len(word)} letters (limit {limit})"


@server.tool()
def add_note(text: str) -> str:
    """Store a note on the server."""
    NOTES.append(text)
    return f"stored note {len(NOTES)}"


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def list_notes() -> str:
    """The notes stored in this session, and whose credentials it runs with."""
    owner = os.environ.get("NOTES_USER", "nobody")
    return f"session of {owner}: " + ("; ".join(NOTES) or "no notes")


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def fail(reason: str) -> str:
    """Always fails."""
    raise ToolError(f"cannot do it: {reason}")


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def secret_admin() -> str:
    """Not on the allowlist in the tests."""
    return "should never be called"


@server.tool()
def create_page(title: str, body: str = "") -> str:
    """Create a page (a tool with a parameter named title)."""
    return f"created page {title!r} ({len(body)} characters)"


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def crash() -> str:
    """The server process dies, as a crashing server would."""
    os._exit(3)


def main() -> None:
    if sys.argv[1] == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))


if __name__ == "__main__":
    main()
