"""The server-drawn SVG chart: well-formed, bars stacked in proportion, colours by class
only, labels that cannot overlap, and a title and summary for screen readers."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from bot.dashboard.charts import HEIGHT, Column, Series, compact, nice_ceiling, stacked_bars

SVG = "{http://www.w3.org/2000/svg}"
KINDS = (Series("cached", "Cached input"), Series("output", "Output"))


def _draw(columns: list[Column]) -> ET.Element:
    svg = stacked_bars(columns, KINDS, title="Tokens <per> day", summary="In all: 9", ident="t")
    return ET.fromstring(str(svg))


def _days(count: int) -> list[Column]:
    return [Column(f"{n} Dec", f"Day {n} Dec", (n * 10, n)) for n in range(1, count + 1)]


def test_axis_figures_are_short_and_round() -> None:
    assert [compact(n) for n in (0, 950, 1_000, 1_250, 35_000, 2_000_000)] == [
        "0",
        "950",
        "1k",
        "1.2k",
        "35k",
        "2M",
    ]
    assert [nice_ceiling(n) for n in (0, 1, 3, 7, 12, 240, 251, 9_001, 11_811)] == [
        1,
        1,
        3,
        8,
        15,
        250,
        300,
        10_000,
        15_000,
    ]


def test_bars_stack_in_proportion_with_their_figures_as_tooltips() -> None:
    svg = _draw([Column("1 Dec", "Tue 1 Dec", (300, 100)), Column("2 Dec", "Wed 2 Dec", (0, 0))])
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "t-title t-desc"
    assert svg.findtext(f"{SVG}title") == "Tokens <per> day"  # escaped, read back as text
    groups = svg.findall(f"{SVG}g")
    assert [g.findtext(f"{SVG}title") for g in groups] == [
        "Tue 1 Dec: 300 cached input, 100 output",
        "Wed 2 Dec: 0 cached input, 0 output",
    ]
    cached, output = groups[0].findall(f"{SVG}rect")
    assert (cached.get("class"), output.get("class")) == ("bar-cached", "bar-output")
    # 400 tokens on an axis up to 400: the bars are 3/4 and 1/4 of the plot, output on top.
    height = {rect.get("class"): float(rect.get("height", 0)) for rect in (cached, output)}
    assert height["bar-cached"] == pytest.approx(3 * height["bar-output"], abs=0.1)
    assert height["bar-cached"] == pytest.approx((HEIGHT - 36) * 3 / 4, abs=0.1)
    top_of_cached = float(cached.get("y", 0))
    assert float(output.get("y", 0)) + height["bar-output"] == pytest.approx(top_of_cached, abs=0.1)
    assert groups[1].findall(f"{SVG}rect") == []  # an empty day draws nothing


def test_only_every_seventh_day_is_labelled_today_always() -> None:
    svg = _draw(_days(30))
    labels = [t.text for t in svg.findall(f"{SVG}text") if t.get("y") == str(HEIGHT - 5)]
    assert labels == ["2 Dec", "9 Dec", "16 Dec", "23 Dec", "30 Dec"]
    xs = [
        float(t.get("x", "0").rstrip("%"))
        for t in svg.findall(f"{SVG}text")
        if t.get("y") == str(HEIGHT - 5)
    ]
    # A week of bars apart: on a 320 px phone, 75 px for labels of about 40.
    assert min(b - a for a, b in zip(xs, xs[1:], strict=False)) > 23
    assert xs[-1] == 100.0  # today's label ends at the right edge


def test_colours_come_from_classes_never_from_inline_styles() -> None:
    text = str(stacked_bars(_days(30), KINDS, title="t", summary="s", ident="x"))
    assert "style=" not in text and "fill=" not in text


def test_a_chart_with_nothing_used_says_so() -> None:
    svg = _draw([Column("1 Dec", "Tue 1 Dec", (0, 0))])
    assert "Nothing used yet" in [t.text for t in svg.findall(f"{SVG}text")]
    assert "Nothing used yet" not in str(
        stacked_bars(_days(2), KINDS, title="t", summary="s", ident="x")
    )
