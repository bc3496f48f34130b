"""Splitting long Markdown replies under Slack's limit."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from adapters.slack.markdown import for_slack, preview, split_markdown
from tests.adapters.literal_text import MODEL_TEXT, words


def test_short_text_is_one_piece() -> None:
    assert split_markdown("hello", 100) == ["hello"]


def test_a_code_block_cut_in_two_is_closed_and_reopened() -> None:
    text = "Intro\n\n```python\n" + "\n".join(f"x{i} = {i}" for i in range(200)) + "\n```\nEnd"
    parts = split_markdown(text, 500)
    assert len(parts) > 2
    assert all(len(p) <= 500 for p in parts)
    assert all(p.count("```") % 2 == 0 for p in parts)
    assert parts[1].startswith("```python\n")


def test_pieces_prefer_paragraph_breaks() -> None:
    text = "\n\n".join(["a" * 80, "b" * 80, "c" * 80])
    assert split_markdown(text, 200) == ["a" * 80 + "\n\n" + "b" * 80, "c" * 80]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(alphabet="abc xyz*_`\n", min_size=0, max_size=400),
            st.just("```"),
            st.just("```js"),
            st.just(""),
        ),
        max_size=60,
    ),
    st.integers(min_value=100, max_value=600),
)
def test_pieces_fit_and_keep_every_word(lines: list[str], limit: int) -> None:
    text = "\n".join(lines)
    parts = split_markdown(text, limit)
    assert all(len(p) <= limit for p in parts)
    words = [w for w in text.split() if not w.startswith("```")]
    kept = [w for p in parts for w in p.split() if not w.startswith("```")]
    assert kept == words


def test_preview_fits_one_message() -> None:
    assert preview("abc", 100) == "abc ▍"
    assert len(preview("x" * 500, 100)) == 100


# -- text shown as written -------------------------------------------------------------


def shown(payload: str) -> str:
    """What a reader sees of a markdown_text payload: Markdown rendered, tags hidden,
    entities decoded (Slack's own escapes decode the same way)."""
    tokens = MarkdownIt("commonmark").parse(payload)
    parts: list[str] = []
    for token in tokens:
        if token.type in ("fence", "code_block"):
            parts.append(token.content)
        for child in token.children or []:
            if child.type in ("text", "code_inline"):
                parts.append(child.content)
            elif child.type in ("softbreak", "hardbreak"):
                parts.append("\n")
        parts.append("\n")
    return "".join(parts)


def test_placeholders_go_as_slack_entities() -> None:
    assert for_slack("/forget <id or text>") == "/forget &lt;id or text&gt;"
    assert for_slack("x<y>z & a &amp; b") == "x&lt;y&gt;z &amp; a &amp;amp; b"
    assert shown(for_slack("a &amp; <b> c")).strip() == "a &amp; <b> c"


def test_code_autolinks_links_and_quotes_are_left_as_markdown() -> None:
    text = (
        "> quoted <q>\n\n**bold** `a<b && c` <https://example.org/?a&b> "
        "[link](https://example.org/?x=1&y=2)\n\n```\nif a < b && c > d:\n```"
    )
    assert for_slack(text) == (
        "> quoted &lt;q&gt;\n\n**bold** `a<b && c` <https://example.org/?a&b> "
        "[link](https://example.org/?x=1&y=2)\n\n```\nif a < b && c > d:\n```"
    )


@settings(max_examples=200, deadline=None)
@given(MODEL_TEXT)
def test_any_model_text_survives_slack_escaping(text: str) -> None:
    payload = for_slack(text)
    # mrkdwn: no raw control character is left outside the entities Slack asks for.
    assert not set(re.sub(r"&(amp|lt|gt);", "", payload)) & set("&<>")
    assert words(shown(payload)) == words(text)


def test_commands_are_written_as_slack_users_type_them_outside_code() -> None:
    names = ["new", "forget", "forget_me", "help"]
    text = (
        "Use /new or /forget_me (see /help).\n\n`/new` and /etc/new and a/new stay; "
        "/newer and /frob too.\n\n```\nls /new\n```"
    )
    assert for_slack(text, names) == (
        "Use /clawling new or /clawling forget_me (see /clawling help).\n\n`/new` and "
        "/etc/new and a/new stay; /newer and /frob too.\n\n```\nls /new\n```"
    )
    assert for_slack("/forget <id or text>", names) == "/clawling forget &lt;id or text&gt;"
    assert for_slack("/clawling new", names) == "/clawling new"
