"""Charts drawn on the server as inline SVG: no script, no library, readable on a phone.

Rules:
- Widths are percentages and heights pixels, with no viewBox: the chart fills its card
  on a phone and on a desktop alike, and its text stays the page's size instead of
  shrinking or swelling with the drawing.
- Colours come from classes (`bar-<series>`), never from attributes: the style sheet
  gives each class a colour for light and for dark mode, and the page's CSP forbids
  inline styles anyway.
- The SVG is one image to a screen reader (`role="img"`, a title and a summary); the
  numbers themselves are in the table the page puts beside it. Each bar also carries a
  `<title>` with its day's figures, shown when pointed at.
- Only every seventh day is labelled (today always): five short labels fit a phone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

HEIGHT = 200  # px; the width is the card's
_TOP, _BOTTOM = 16, 20  # room for the top figure and for the day labels
LABEL_EVERY = 7


@dataclass(frozen=True)
class Series:
    """One kind of value stacked in every bar: its class suffix and its name."""

    key: str
    label: str


@dataclass(frozen=True)
class Column:
    """One bar: a short label for the axis, a full one for its tooltip, and one value per
    series (bottom first)."""

    label: str
    name: str
    values: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.values)


def compact(number: float) -> str:
    """`950`, `1.2k`, `35k`, `2M`: short enough for an axis."""
    for size, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if number >= size:
            shown = f"{number / size:.1f}".removesuffix(".0")
            return f"{shown}{suffix}" if float(shown) < 10 else f"{number / size:.0f}{suffix}"
    return f"{number:.0f}"


def nice_ceiling(number: int) -> int:
    """The smallest of 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k at or above `number` (at least
    1): the axis reads in round figures and the tallest bar fills most of it."""
    scale = 1
    while True:
        for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8):
            if step * scale >= number:
                return int(step * scale)
        scale *= 10


def stacked_bars(
    columns: Sequence[Column], series: Sequence[Series], *, title: str, summary: str, ident: str
) -> Markup:
    """A stacked bar chart of `columns`, left to right; `ident` makes its ids unique on
    the page."""
    top = nice_ceiling(max((column.total for column in columns), default=0))
    plot = HEIGHT - _TOP - _BOTTOM
    base = _TOP + plot
    parts = [
        f'<svg class="chart" width="100%" height="{HEIGHT}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(summary)}</desc>',
    ]
    scale = []
    for share in (0, 0.5, 1):
        y = base - share * plot
        parts.append(f'<line class="grid" x1="0" x2="100%" y1="{y:.1f}" y2="{y:.1f}"/>')
        if share:  # the figure sits on its line, at the left, over any bar there
            scale.append(f'<text class="axis" x="0" y="{y - 3:.1f}">{compact(top * share)}</text>')
    slot = 100 / max(len(columns), 1)
    bar = slot * 0.7
    for index, column in enumerate(columns):
        x = index * slot + (slot - bar) / 2
        figures = ", ".join(
            f"{value:,} {kind.label.lower()}"
            for kind, value in zip(series, column.values, strict=True)
        )
        parts.append(f"<g><title>{escape(column.name)}: {escape(figures)}</title>")
        y = float(base)
        for kind, value in zip(series, column.values, strict=True):
            if value <= 0:
                continue
            height = value / top * plot
            y -= height
            parts.append(
                f'<rect class="bar-{kind.key}" x="{x:.2f}%" y="{y:.1f}" '
                f'width="{bar:.2f}%" height="{height:.1f}"/>'
            )
        parts.append("</g>")
        from_end = len(columns) - 1 - index
        if from_end % LABEL_EVERY == 0:
            # The first and last labels keep inside the drawing rather than run past it.
            anchor, at = ("middle", x + bar / 2)
            if from_end == 0:
                anchor, at = "end", 100.0
            elif x < 2 * slot:
                anchor, at = "start", x
            parts.append(
                f'<text class="axis day" x="{at:.2f}%" y="{HEIGHT - 5}" text-anchor="{anchor}">'
                f"{escape(column.label)}</text>"
            )
    parts.extend(scale)
    if not any(column.total for column in columns):
        parts.append(
            f'<text class="empty" x="50%" y="{_TOP + plot / 2:.1f}" '
            'text-anchor="middle">Nothing used yet</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
