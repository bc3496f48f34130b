"""How replies look in the interactive terminal: Markdown that keeps its line breaks.

Markdown joins the lines of a paragraph (a single newline is a "soft break", drawn
as a space). Replies and command answers (/help, /usage, /task) are written line by
line, so joined they run together. `markdown()` keeps the formatting (bold, code
blocks, lists, headings) and turns every soft break into a hard one: each line
break of the text stays one on the screen, as `chat -m` prints it.
"""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.markdown import Markdown
from rich.segment import Segment


class _KeptBreaks(Markdown):
    """rich's Markdown, with soft breaks rendered as line breaks."""

    def __init__(self, markup: str) -> None:
        super().__init__(markup)
        for block in self.parsed:
            for token in block.children or ():
                if token.type == "softbreak":
                    token.type = "hardbreak"


def markdown(text: str) -> RenderableType:
    """A reply as the terminal shows it."""
    return _KeptBreaks(text)


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
