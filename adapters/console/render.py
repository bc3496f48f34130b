"""How replies look in the interactive terminal: the model's Markdown, shown as written,
keeping its line breaks.

rich's `Markdown` reads `<b>` as an HTML tag and drops it, and decodes `&amp;`, so
"x<y>z" would print as "xz" and `/forget <id or text>` as "/forget ". Here the same
renderer parses with HTML and character references turned off: tags and references
print as the text they are, while Markdown formatting (bold, code, lists, links)
renders as before.

Markdown also joins the lines of a paragraph (a single newline is a "soft break",
drawn as a space). Replies and command answers (/help, /usage, /task) are written line
by line, so joined they run together: every soft break becomes a hard one, and each
line break of the text stays one on the screen, as `chat -m` prints it.
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.markdown import Markdown
from rich.segment import Segment


def _parser() -> MarkdownIt:
    return (
        MarkdownIt("commonmark", {"html": False})
        .enable("strikethrough")
        .enable("table")
        .disable("entity")
    )


_PARSER = _parser()


class LiteralMarkdown(Markdown):
    """rich's Markdown, with `<…>` and `&…;` kept as text and soft breaks as line breaks."""

    def __init__(self, markup: str) -> None:
        super().__init__("")
        self.markup = markup
        self.parsed = _PARSER.parse(markup)
        for token in self.parsed:
            for child in token.children or ():
                if child.type == "softbreak":
                    child.type = "hardbreak"


def render(text: str) -> Markdown:
    """A reply as the terminal shows it (interactive mode)."""
    return LiteralMarkdown(text)


class Tail:
    """The last `room` lines of a renderable (a reply still being written can be taller
    than the screen; its newest lines are the ones to see). Lines are laid out once per
    width, as a live display draws the same text several times a second."""

    def __init__(self, renderable: RenderableType) -> None:
        self._renderable = renderable
        self._width = -1
        self._lines: list[list[Segment]] = []
        self.room = 1

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if options.max_width != self._width:
            self._lines = console.render_lines(
                self._renderable, options.update(height=None), pad=False
            )
            self._width = options.max_width
        for line in self._lines[-max(1, self.room) :]:
            yield from line
            yield Segment.line()
