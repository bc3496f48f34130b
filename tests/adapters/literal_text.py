"""Text a model may write that holds characters Markdown or a chat app treats as markup
(`<`, `>`, `&`, quotes, slashes), for checking that every renderer shows it as written."""

from __future__ import annotations

from hypothesis import strategies as st

# Placeholders as help texts write them, tags, character references, comparisons.
TRICKY = [
    "/forget <id or text>",
    "/task <goal>",
    "x<y>z",
    "<b>",
    "</div>",
    "<br/>",
    "<!-- note -->",
    "<?php",
    "?>",
    "<a href='x'>",
    "&amp;",
    "&lt;",
    "&#60;",
    "&#x3C;",
    "&nbsp;",
    "&foo;",
    "AT&T",
    "5<6",
    "7>3",
    "a->b",
    "<=",
    '"quoted"',
    "it's",
    "snake_case_name",
    "/etc/hosts",
    "100%",
    "@here",
]
_WORDS = st.one_of(
    st.sampled_from(TRICKY),
    st.text(alphabet="abcxyz<>&;#/\"'=!?-", min_size=1, max_size=12),
)
# Paragraphs start with a plain word, so no generated text starts a heading, a list or
# a quote: those are Markdown the model means, not text to show as written.
_PARAGRAPH = st.builds(
    lambda first, rest: " ".join([first, *rest]),
    st.sampled_from(["Hello", "Note", "so", "Then"]),
    st.lists(_WORDS, max_size=12),
)
MODEL_TEXT = st.lists(_PARAGRAPH, min_size=1, max_size=4).map("\n\n".join)


def words(text: str) -> list[str]:
    """The text as a reader sees it, whatever the line wrapping and spacing."""
    return text.split()
