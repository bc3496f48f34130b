"""Markdown → Telegram text + entities, and splitting that keeps every piece of formatting."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.telegram.render import Chunk, render, shortened, to_entities, units
from tests.adapters.literal_text import MODEL_TEXT, words

BLOCKS = st.sampled_from(
    [
        "plain words here",
        "some **bold text** and _italics_",
        "`inline code` and [a link](https://example.org)",
        "emoji 😀👍🏽 and ünïcödé",
        "```python\nprint('hi')\nfor i in range(3):\n    pass\n```",
        "> a quoted line\n> and another",
        "- item one\n- item **two**\n- item three",
        "# A heading",
        "word " * 40,
        "𝒜𝓁𝓅𝒽𝒶 " * 30,
    ]
)


def _styled(chunk: Chunk) -> list[tuple[str, frozenset[str]]]:
    """Each non-space character with the formatting applied to it."""
    starts = []
    total = 0
    for char in chunk.text:
        starts.append(total)
        total += units(char)
    styled = []
    for char, start in zip(chunk.text, starts, strict=True):
        if char.isspace():
            continue
        kinds = frozenset(
            f"{e.type}:{e.url or ''}:{e.language or ''}"
            for e in chunk.entities
            if e.offset <= start < e.offset + e.length
        )
        styled.append((char, kinds))
    return styled


@settings(max_examples=60, deadline=None)
@given(st.lists(BLOCKS, min_size=1, max_size=60), st.integers(min_value=60, max_value=600))
def test_split_parts_fit_and_keep_every_character_and_its_formatting(
    blocks: list[str], limit: int
) -> None:
    markdown = "\n\n".join(blocks)
    whole = to_entities(markdown)
    parts = render(markdown, limit)

    for part in parts:
        size = units(part.text)
        assert 0 < size <= limit
        assert part.text == part.text.strip()
        for entity in part.entities:
            assert entity.length > 0 and entity.offset + entity.length <= size
    rejoined = [item for part in parts for item in _styled(part)]
    assert rejoined == _styled(whole)


def test_short_reply_is_one_message() -> None:
    assert render("Hello **there**") == [to_entities("Hello **there**")]


def test_parts_prefer_paragraph_breaks() -> None:
    first = "First paragraph " * 10
    second = "Second paragraph " * 10
    parts = render(f"{first}\n\n{second}", limit=300)
    assert [p.text for p in parts] == [first.strip(), second.strip()]


def test_a_code_block_longer_than_a_message_is_cut_between_lines() -> None:
    code = "\n".join(f"line_{i} = {i}" for i in range(100))
    parts = render(f"```\n{code}\n```", limit=200)
    assert len(parts) > 1
    for part in parts:
        assert [e.type for e in part.entities] == ["pre"]
        assert part.text.startswith("line_") and part.text.split("\n")[-1].startswith("line_")


def test_empty_or_blank_markdown_still_gives_something_to_send() -> None:
    assert render("   ") == [Chunk("…")]


def test_shortened_fits_one_message_and_says_it_was_cut() -> None:
    long = "**Bold start** " + "more words " * 1000
    cut = shortened(long, limit=100)
    assert units(cut.text) <= 100 and cut.text.endswith("…")
    assert cut.entities[0].type == "bold" and cut.text.startswith("Bold start")
    assert shortened("short **one**") == to_entities("short **one**")


# -- text shown as written -------------------------------------------------------------


def test_placeholders_and_tags_in_text_arrive_as_written() -> None:
    for text in [
        "/forget <id or text>",
        "x<y>z",
        "a <b> c",
        "a & b &amp; c &#60;",
        "<div>\nhi\n</div>",
        "<!-- not a comment to hide -->",
    ]:
        assert words(to_entities(text).text) == words(text), text


def test_markdown_formatting_still_renders_around_literal_text() -> None:
    chunk = to_entities(
        "**bold <b>** and `code <c> &amp;` and [a link](https://example.org?a=1&b=2)\n\n"
        "- item <x>\n- two\n\n```\n<pre> &amp;\n```"
    )
    assert chunk.text.splitlines()[0] == "bold <b> and code <c> &amp; and a link"
    kinds = {e.type: chunk.text[e.offset : e.offset + e.length] for e in chunk.entities}
    assert kinds["bold"] == "bold <b>"
    assert kinds["code"] == "code <c> &amp;"
    assert kinds["text_link"] == "a link"
    assert kinds["pre"].strip() == "<pre> &amp;"
    assert "item <x>" in chunk.text
    links = [e.url for e in chunk.entities if e.type == "text_link"]
    assert links == ["https://example.org?a=1&b=2"]


@settings(max_examples=200, deadline=None)
@given(MODEL_TEXT)
def test_any_model_text_survives_rendering(text: str) -> None:
    shown = "\n".join(chunk.text for chunk in render(text))
    assert words(shown) == words(text)
