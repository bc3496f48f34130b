"""The model's Markdown for the terminal, shown as written.

rich's `Markdown` reads `<b>` as an HTML tag and drops it, and decodes `&amp;`, so
"x<y>z" would print as "xz" and `/forget <id or text>` as "/forget ". Here the same
renderer parses with HTML and character references turned off: tags and references
print as the text they are, while Markdown formatting (bold, code, lists, links)
renders as before. A single line break stays a line break, as in the chat apps
(Markdown would join the lines of a list such as /help into one paragraph).
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from rich.markdown import Markdown


def _parser() -> MarkdownIt:
    return (
        MarkdownIt("commonmark", {"html": False})
        .enable("strikethrough")
        .enable("table")
        .disable("entity")
    )


_PARSER = _parser()


class LiteralMarkdown(Markdown):
    """rich's Markdown, with `<…>` and `&…;` kept as text."""

    def __init__(self, markup: str) -> None:
        super().__init__("")
        self.markup = markup
        self.parsed = _PARSER.parse(markup)
        for token in self.parsed:
            for child in token.children or ():
                if child.type == "softbreak":
                    child.type = "hardbreak"


def render(text: str) -> Markdown:
    """What the terminal prints for a reply (interactive mode)."""
    return LiteralMarkdown(text)
