"""The bottom of the terminal while an answer is being worked on.

One live region holds both things that change during an answer: the reply as it
streams in and, below it, a status line with a spinner ("thinking…", "running
web_search…"). Two separate live displays would redraw over each other; one
region drawn by one renderer cannot. The region is transient: when the answer is
done its final text is printed once above it, the region empties, and nothing of
the status is left on the screen.

Lines printed meanwhile (a confirmation question, "Stopped.") go above the region
(rich's Live does that for every `console.print`). Without a real terminal (input
piped from a script) nothing is drawn live: only the final texts are printed.
"""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderResult
from rich.live import Live
from rich.spinner import Spinner
from rich.text import Text

from adapters.console.render import Tail, render

THINKING = "thinking…"


class Screen:
    """The live region of the interactive chat: streamed text above a status line."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._live: Live | None = None
        self._text = ""
        self._status = ""
        # The reply laid out, again only when drawn with new text (at most
        # refresh_per_second times), not for every streamed piece.
        self._parsed: tuple[str, Tail] = ("", Tail(""))
        self._spinner = Spinner("dots", style="cyan")

    def begin(self) -> None:
        """An answer is being worked on: show "thinking…" until there is more to show."""
        if self._live is not None or not self._console.is_terminal:
            return
        self._text, self._status = "", THINKING
        self._live = Live(self, console=self._console, transient=True, refresh_per_second=10)
        self._live.start()

    def end(self) -> None:
        """The answer is done (or waits for the person): clear the region."""
        if self._live is not None:
            self._text, self._status = "", ""
            self._live.stop()
            self._live = None

    def show_text(self, text: str) -> None:
        """The reply so far; it replaces the status until the next activity. Drawn at
        the next refresh: pieces arrive faster than it is worth redrawing."""
        self._text, self._status = text, ""

    def show_status(self, status: str) -> None:
        self._status = status
        self._refresh()

    def clear(self) -> None:
        """The reply was printed for good: nothing left to show live."""
        self._text, self._status = "", ""
        self._refresh()

    def _refresh(self) -> None:
        if self._live is not None:
            self._live.refresh()

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        # Read once: the Live's refresh thread draws while the loop's thread updates.
        text, status = self._text, self._status
        if text:
            if self._parsed[0] != text:
                self._parsed = (text, Tail(render(text)))
            tail = self._parsed[1]
            tail.room = console.size.height - (3 if status else 2)
            yield tail
        if status:
            self._spinner.update(text=Text(status, style="dim"))
            yield self._spinner
