"""Splitting long Markdown replies under Slack's limit."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.slack.markdown import preview, split_markdown


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
