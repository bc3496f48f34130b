"""Charts drawn on the server as inline SVG: no script, no library, readable on a phone.

Rules:
- The drawing is about as wide in its own units as a phone's card (WIDTH), so its 10-unit
  text is 10 px there; the style sheet caps how wide it grows on a desktop.
- Colours come from classes (`bar-<series>`), never from attributes: the style sheet
  gives each class a colour for light and for dark mode, and the page's CSP forbids
  inline styles anyway.
- The SVG is one image to a screen reader (`role="img"`, a title and a summary); the
  numbers themselves are in the table the page puts beside it. Each bar also carries a
  `<title>` with its day's figures, shown when pointed at.
- Only every seventh day is labelled (today always), so labels never overlap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 340
HEIGHT = 180
_LEFT, _RIGHT, _TOP, _BOTTOM = 36, 4, 8, 22
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
    """The smallest of 1, 2, 2.5, 5 × 10^k at or above `number` (at least 1), so the
    axis reads in round figures."""
    scale = 1
    while True:
        for step in (1, 2, 2.5, 5):
            if step * scale >= number:
                return int(step * scale)
        scale *= 10


def stacked_bars(
    columns: Sequence[Column], series: Sequence[Series], *, title: str, summary: str, ident: str
) -> Markup:
    """A stacked bar chart of `columns`, left to right; `ident` makes its ids unique on
    the page."""
    top = nice_ceiling(max((column.total for column in columns), default=0))
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    base = _TOP + plot_h
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(summary)}</desc>',
    ]
    for share in (0, 0.5, 1):
        y = base - share * plot_h
        parts.append(
            f'<line class="grid" x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{_LEFT - 4}" y="{y + 3.5:.1f}" text-anchor="end">'
            f"{compact(top * share)}</text>"
        )
    slot = plot_w / max(len(columns), 1)
    bar = max(slot * 0.7, 1)
    for index, column in enumerate(columns):
        x = _LEFT + index * slot + (slot - bar) / 2
        figures = ", ".join(
            f"{value:,} {kind.label.lower()}"
            for kind, value in zip(series, column.values, strict=True)
        )
        parts.append(f"<g><title>{escape(column.name)}: {escape(figures)}</title>")
        y = float(base)
        for kind, value in zip(series, column.values, strict=True):
            if value <= 0:
                continue
            height = value / top * plot_h
            y -= height
            parts.append(
                f'<rect class="bar-{kind.key}" x="{x:.1f}" y="{y:.1f}" '
                f'width="{bar:.1f}" height="{height:.1f}"/>'
            )
        parts.append("</g>")
        from_end = len(columns) - 1 - index
        if from_end % LABEL_EVERY == 0:
            # Today's label ends at the drawing's edge rather than running past it.
            anchor, at = ("end", x + bar) if from_end == 0 else ("middle", x + bar / 2)
            parts.append(
                f'<text class="axis" x="{at:.1f}" y="{HEIGHT - 6}" text-anchor="{anchor}">'
                f"{escape(column.label)}</text>"
            )
    if not any(column.total for column in columns):
        parts.append(
            f'<text class="empty" x="{_LEFT + plot_w / 2:.1f}" y="{_TOP + plot_h / 2:.1f}" '
            'text-anchor="middle">Nothing used yet</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
