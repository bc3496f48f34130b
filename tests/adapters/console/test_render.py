"""The terminal prints the model's Markdown with `<…>` and `&…;` as written."""

from __future__ import annotations

import io
from pathlib import Path

from hypothesis import given, settings
from rich.console import Console

from adapters.console.render import render
from bot.app import add_console, build_app
from tests.adapters.literal_text import MODEL_TEXT, words
from tests.conftest import make_settings
from tests.fakes.openai_server import FakeOpenAI


def printed(text: str) -> str:
    console = Console(record=True, width=10_000, file=io.StringIO())
    console.print(render(text))
    return console.export_text()


def test_placeholders_and_tags_print_as_written() -> None:
    assert printed("/forget <id or text>").strip() == "/forget <id or text>"
    assert printed("x<y>z a <b> c &amp; d").strip() == "x<y>z a <b> c &amp; d"


def test_markdown_still_renders() -> None:
    out = printed("**bold** `code <c>` [link](https://example.org)\n\n- item <x>\n- two")
    assert "**" not in out and "`" not in out and "](" not in out
    assert "bold code <c> link" in out
    assert "• item <x>" in out


@settings(max_examples=150, deadline=None)
@given(MODEL_TEXT)
def test_any_model_text_survives_the_terminal(text: str) -> None:
    assert words(printed(text)) == words(text)


async def test_help_and_usage_print_in_the_terminal_as_written(
    fake_llm: FakeOpenAI, sqlite_url: str, tmp_path: Path
) -> None:
    app = build_app(make_settings(fake_llm, sqlite_url, tmp_path / "data"))
    try:
        await app.prepare_database()
        output = io.StringIO()
        console = Console(record=True, width=10_000, file=output)
        adapter = add_console(app, console, user_name="ann", interactive=True)
        for line in ("/help", "/forget", "/answer", "/nonsense"):
            await adapter.say(line)
            await app.sessions.drain()
        lines = [line.strip() for line in console.export_text().splitlines() if line.strip()]
        # ann is a member: the owners' commands are not listed for her.
        help_lines = [
            f"/{c.name} — {c.description}" for c in app.commands.commands if not c.owner_only
        ]
        assert lines == [
            "Commands:",
            *help_lines,
            "Usage: /forget <id or text> (see /memory for ids).",
            "Usage: /answer ID <your answer>",
            "unknown command — /help lists them",
        ]
        assert "/forget — forget a memory: /forget <id or text>" in help_lines
        assert fake_llm.requests == []
    finally:
        await app.close()
