"""MCP servers (a real server built with the official SDK) over stdio and streamable
HTTP: allowlisted tools are offered with the server's schemas, results are untrusted,
tools not marked read-only count as having side effects."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import App
from bot.tools.mcp import McpServers
from tests.bot.conftest import AppMaker, wait_for_message
from tests.bot.harness.background import is_task_step, state_of
from tests.fakes.openai_server import FakeOpenAI, Reply, echo

ROOT = Path(__file__).resolve().parents[3]
SERVER = [sys.executable, "-m", "tests.fakes.mcp_server"]
ALLOWED = ["lookup", "add_note", "fail"]


def stdio_server(**extra: Any) -> dict[str, Any]:
    return {
        "command": SERVER[0],
        "args": [*SERVER[1:], "stdio"],
        "cwd": str(ROOT),
        "scope": "shared",
        **extra,
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def serve_http(port: int) -> Iterator[None]:
    """The fake MCP server on streamable HTTP at `port`, until the block ends."""
    process = subprocess.Popen(
        [*SERVER, "http", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(400):
            with socket.socket() as client:
                if client.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None:
                raise RuntimeError("the MCP test server stopped")
            time.sleep(0.05)
        yield
    finally:
        process.kill()
        process.wait(10)


@pytest.fixture(scope="module")
def http_server() -> Iterator[str]:
    port = free_port()
    with serve_http(port):
        yield f"http://127.0.0.1:{port}/mcp"


def tool_results(fake_llm: FakeOpenAI) -> list[str]:
    return [m["content"] for m in fake_llm.requests[-1]["messages"] if m["role"] == "tool"]


async def started(make_app: AppMaker, server: dict[str, Any]) -> App:
    app, _ = await make_app(mcp_servers={"notes": server})
    await app.start()
    return app


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_allowlisted_tools_are_offered_and_called(
    make_app: AppMaker, fake_llm: FakeOpenAI, http_server: str, transport: str
) -> None:
    server = (
        stdio_server(tools=ALLOWED)
        if transport == "stdio"
        else {"url": http_server, "tools": ALLOWED, "scope": "shared"}
    )
    app = await started(make_app, server)
    channel = app.outbox.adapter("test")
    assert {"notes_lookup", "notes_add_note", "notes_fail"} <= set(app.tools.names)
    assert "notes_secret_admin" not in app.tools.names
    lookup = next(s for s in app.tools.schemas() if s["function"]["name"] == "notes_lookup")
    assert lookup["function"]["parameters"] == {
        "type": "object",
        "properties": {"word": {"type": "string"}, "limit": {"default": 3, "type": "integer"}},
        "required": ["word"],
    }
    assert "(from the MCP server notes)" in lookup["function"]["description"]
    assert app.tools.get("notes_add_note").side_effects  # type: ignore[union-attr]
    assert not app.tools.get("notes_lookup").side_effects  # type: ignore[union-attr]

    fake_llm.add(
        Reply(
            tool_calls=[
                ("notes_lookup", {"word": "otter"}),
                ("notes_fail", {"reason": "testing"}),
                ("notes_lookup", {"limit": 2}),
            ]
        )
    )
    await app.sessions.handle(channel.inbound("look it up"))  # type: ignore[attr-defined]
    await app.sessions.drain()
    found, failed, invalid = tool_results(fake_llm)
    assert found == (
        '<untrusted_data source="notes: lookup {\\"word\\": \\"otter\\"}">\n'
        "otter: a word of 5 letters (limit 3)\n</untrusted_data>"
    ).replace('\\"', "'")
    assert "cannot do it: testing" in failed and failed.startswith("<untrusted_data")
    assert invalid.startswith("Error: invalid arguments: word: Field required")


async def test_an_mcp_tool_with_side_effects_asks_after_untrusted_content(
    make_app: AppMaker, fake_llm: FakeOpenAI
) -> None:
    app = await started(make_app, stdio_server(tools=["*"]))
    channel = app.outbox.adapter("test")
    assert "notes_secret_admin" in app.tools.names  # "*" offers everything
    fake_llm.add(
        Reply(tool_calls=[("notes_lookup", {"word": "x"})]),
        Reply(tool_calls=[("notes_add_note", {"text": "planted"})]),
    )
    await app.sessions.handle(channel.inbound("go"))  # type: ignore[attr-defined]
    question = await wait_for_message(channel, "Confirmation needed")  # type: ignore[arg-type]
    assert 'notes: add_note {"text": "planted"}' in question
    await app.sessions.handle(channel.inbound("no"))  # type: ignore[attr-defined]
    await app.sessions.drain()
    assert tool_results(fake_llm)[-1].startswith("Not done: the person said no")


async def test_a_server_that_does_not_start_is_skipped(
    make_app: AppMaker, fake_llm: FakeOpenAI, tmp_path: Path
) -> None:
    app, _ = await make_app(
        mcp_servers={
            "broken": {
                "command": str(tmp_path / "no-such-server"),
                "tools": ["*"],
                "scope": "shared",
            },
            "crashes": {
                "command": sys.executable,
                "args": ["-c", "import sys; sys.exit(3)"],
                "tools": ["*"],
                "scope": "shared",
            },
            "notes": stdio_server(tools=["lookup"]),
        }
    )
    await asyncio.wait_for(app.start(), 60)
    mcp = mcp_service(app)
    assert set(mcp.failed) == {"broken", "crashes"}
    assert mcp.connected == {"notes": ["notes_lookup"]}


async def test_background_tasks_get_the_mcp_tools_too(
    make_app: AppMaker, fake_llm: FakeOpenAI
) -> None:
    offered: list[set[str]] = []

    def respond(request: dict[str, Any]) -> Reply:
        if not is_task_step(request):
            return echo(request)
        offered.append({t["function"]["name"] for t in request.get("tools", [])})
        if "a word of 5 letters" in state_of(request):
            return Reply(tool_calls=[("finish", {"result": "the notes know otter"})])
        return Reply(tool_calls=[("notes_lookup", {"word": "otter"})])

    fake_llm.responder = respond
    app = await started(make_app, stdio_server(tools=ALLOWED))
    channel = app.outbox.adapter("test")
    await app.sessions.handle(channel.inbound("/task look up otter"))  # type: ignore[attr-defined]
    done = await wait_for_message(channel, "is done")  # type: ignore[arg-type]
    assert "the notes know otter" in done
    assert len(offered) == 2 and all("notes_lookup" in names for names in offered)
    assert not any("start_task" in names for names in offered), "tasks do not start tasks"


async def test_a_per_user_server_gives_each_person_their_own_session(
    make_app: AppMaker, fake_llm: FakeOpenAI
) -> None:
    """What Ana stores through a per_user server, Bob cannot read; a person without
    credentials is refused; a shared server would show everyone the same notes."""
    users = {
        "test:ana": {"env": {"NOTES_USER": "ana"}},
        "test:bob": {"env": {"NOTES_USER": "bob"}},
    }
    server = stdio_server(tools=["add_note", "list_notes"], scope="per_user", users=users)
    app = await started(make_app, server)
    channel = app.outbox.adapter("test")

    async def use(sender: str, tool: str, args: dict[str, Any]) -> str:
        fake_llm.add(Reply(tool_calls=[(tool, args)]))
        inbound = channel.inbound(f"{tool} please", sender=sender, chat=f"dm-{sender}")  # type: ignore[attr-defined]
        await app.sessions.handle(inbound)
        await app.sessions.drain()
        return tool_results(fake_llm)[-1]

    assert "stored note 1" in await use("ana", "notes_add_note", {"text": "Ana's door code 4412"})
    assert "session of ana: Ana's door code 4412" in await use("ana", "notes_list_notes", {})
    bob = await use("bob", "notes_list_notes", {})
    assert "session of bob: no notes" in bob and "4412" not in bob
    carol = await use("carol", "notes_list_notes", {})
    assert "set up for each person" in carol and "4412" not in carol


def mcp_service(app: App) -> McpServers:
    [service] = [s for s in app.services if isinstance(s, McpServers)]
    return service


async def call(app: App, fake_llm: FakeOpenAI, tool: str, args: dict[str, Any]) -> str:
    channel = app.outbox.adapter("test")
    fake_llm.add(Reply(tool_calls=[(tool, args)]))
    await app.sessions.handle(channel.inbound(f"{tool} please"))  # type: ignore[attr-defined]
    await app.sessions.drain()
    return tool_results(fake_llm)[-1]


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 20) -> None:
    async with asyncio.timeout(seconds):
        while not await check():
            await asyncio.sleep(0.1)


async def test_a_snippet_copied_from_a_server_readme_works(
    make_app: AppMaker, fake_llm: FakeOpenAI, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The `mcpServers` shape other clients document, as a server's README prints it:
    `type`, no `tools` (all are offered), no `scope` (shared, and the log says so)."""
    snippet = {
        "mcpServers": {
            "notes": {
                "type": "stdio",
                "command": SERVER[0],
                "args": [*SERVER[1:], "stdio"],
                "cwd": str(ROOT),
                "env": {"NOTES_USER": "from-the-snippet"},
                "alwaysAllow": ["lookup"],
            }
        }
    }
    caplog.set_level(logging.WARNING, logger="bot.tools.mcp")
    app, _ = await make_app(mcp_servers=json.dumps(snippet, indent=2))
    await app.start()
    assert {"notes_lookup", "notes_create_page", "notes_secret_admin"} <= set(app.tools.names)
    assert "session of from-the-snippet" in await call(app, fake_llm, "notes_list_notes", {})
    [warning] = [r.getMessage() for r in caplog.records if "scope" in r.getMessage()]
    assert "notes" in warning and "shared by everyone" in warning


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        ({"type": "sse", "url": "http://x/sse"}, "sse"),
        ({"type": "websocket", "command": "x"}, '"type" must be "stdio" or "http"'),
        ({"type": "http", "command": "x"}, '"type": "http" needs "url"'),
        ({"command": "x", "tools": ["*"], "scope": "everyone"}, "scope"),
        ({"command": "x", "colour": "red"}, "colour"),
    ],
)
async def test_a_server_entry_that_cannot_work_is_one_line(
    tmp_path: Path, server: dict[str, Any], expected: str
) -> None:
    from bot.errors import ConfigError
    from bot.settings import load_settings

    servers = json.dumps({"mcpServers": {"notes": server}})
    with pytest.raises(ConfigError) as error:
        load_settings(tmp_path / "none.env", clawling={"mcp_servers": servers})
    [line] = str(error.value).splitlines()
    assert "CLAWLING_MCP_SERVERS" in line and expected in line and "Fix:" in line


async def test_a_parameter_named_title_reaches_the_server(
    make_app: AppMaker, fake_llm: FakeOpenAI
) -> None:
    app = await started(make_app, stdio_server(tools=["create_page"]))
    [schema] = [s for s in app.tools.schemas() if s["function"]["name"] == "notes_create_page"]
    parameters = schema["function"]["parameters"]
    assert set(parameters["properties"]) == {"title", "body"}
    assert parameters["required"] == ["title"]
    assert "title" not in parameters["properties"]["title"], "annotations still go"
    result = await call(app, fake_llm, "notes_create_page", {"title": "Trip", "body": "hi"})
    assert "created page 'Trip' (2 characters)" in result


def test_our_own_schemas_keep_a_field_named_title() -> None:
    from pydantic import BaseModel

    from bot.tools import compact_schema

    class Page(BaseModel):
        title: str
        tags: list[str] | None = None

    schema = compact_schema(Page.model_json_schema())
    assert schema == {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["title"],
    }


async def test_a_server_that_crashes_is_connected_again(
    make_app: AppMaker, fake_llm: FakeOpenAI
) -> None:
    """The call that finds the server gone says it is unavailable at once (no hang), and
    the server is started again in the background: a later call works."""
    app = await started(make_app, stdio_server(tools=["lookup", "crash"]))
    assert "a word of 5 letters" in await call(app, fake_llm, "notes_lookup", {"word": "otter"})
    crashed = await asyncio.wait_for(call(app, fake_llm, "notes_crash", {}), 20)
    assert "unavailable right now" in crashed
    service = mcp_service(app)

    async def back() -> bool:
        return service.status("notes") == "connected"

    await eventually(back)
    assert "a word of 3 letters" in await call(app, fake_llm, "notes_lookup", {"word": "owl"})


async def test_a_server_down_at_start_is_added_when_it_comes_up(
    make_app: AppMaker, fake_llm: FakeOpenAI
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    app = await started(make_app, {"url": url, "tools": ["lookup"], "scope": "shared"})
    service = mcp_service(app)
    assert "notes" in service.failed and "notes_lookup" not in app.tools.names
    assert service.status("notes").startswith("unavailable")
    with serve_http(port):

        async def added() -> bool:
            return "notes_lookup" in app.tools.names

        await eventually(added)
        assert service.failed == {}
        assert "a word of 3 letters" in await call(app, fake_llm, "notes_lookup", {"word": "owl"})


async def test_an_idle_connection_that_drops_is_noticed_and_reopened() -> None:
    """The idle check finds a server gone while nobody calls it, and the link comes back
    when the server does; meanwhile callers are told why at once."""
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    from bot.tools.mcp_link import Link, Unavailable

    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    link = Link(
        "notes",
        lambda: Client(streamable_http_client(url), mode="legacy"),
        connect_timeout=5,
        check_every=0.2,
    )
    try:
        with serve_http(port):
            await link.first_outcome()
            assert link.up
        async with asyncio.timeout(10):
            while link.up:
                await asyncio.sleep(0.05)
        with pytest.raises(Unavailable) as refused:
            await asyncio.wait_for(link.client(), 1)
        assert "next attempt" in str(refused.value)
        with serve_http(port):
            async with asyncio.timeout(20):
                while not link.up:
                    await asyncio.sleep(0.1)
            client = await link.client()
            listed = await client.list_tools()
            assert "lookup" in {tool.name for tool in listed.tools}
    finally:
        await link.stop()
