"""The terminal prints the model's Markdown with `<…>` and `&…;` as written."""

from __future__ import annotations

import io

from hypothesis import given, settings
from rich.console import Console

from adapters.console.render import render
from tests.adapters.literal_text import MODEL_TEXT, words


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
