"""MCP servers (a real server built with the official SDK) over stdio and streamable
HTTP: allowlisted tools are offered with the server's schemas, results are untrusted,
tools not marked read-only count as having side effects."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import App
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


@pytest.fixture(scope="module")
def http_server() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [*SERVER, "http", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(200):
            with socket.socket() as client:
                if client.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None:
                raise RuntimeError("the MCP test server stopped")
            import time

            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(10)


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
    from bot.tools.mcp import McpServers

    [mcp] = [s for s in app.services if isinstance(s, McpServers)]
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


async def test_every_mcp_server_must_say_whether_it_is_shared(tmp_path: Path) -> None:
    from bot.errors import ConfigError
    from bot.settings import load_settings

    servers = '{"notes": {"command": "notes-server", "tools": ["*"]}}'
    with pytest.raises(ConfigError) as error:
        load_settings(tmp_path / "none.env", clawling={"mcp_servers": servers})
    [line] = str(error.value).splitlines()
    assert "CLAWLING_MCP_SERVERS" in line and "scope" in line and "Fix:" in line
