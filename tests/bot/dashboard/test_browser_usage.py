"""The Usage page in a real browser: the chart, its legend and its table of numbers."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page as BrowserPage

from bot.app import App
from bot.settings import Settings
from memory.people import Person
from tests.bot.dashboard.harness import Screens
from tests.bot.dashboard.people import a_month_of_use
from tests.bot.dashboard.test_browser_people import log_in
from tests.conftest import make_settings
from tests.fakes.openai_server import FakeOpenAI


@pytest.fixture
def board_settings(fake_llm: FakeOpenAI, sqlite_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        fake_llm,
        sqlite_url,
        tmp_path / "data",
        daily_tokens=10_000,
        monthly_tokens=200_000,
        model_prices="fake-model=1/0.5/2",
    )


async def test_a_person_reads_their_usage_chart_and_its_numbers(
    app_: App, member: Person, page: BrowserPage, screens: Screens
) -> None:
    await a_month_of_use(app_, member)
    await log_in(app_, page, member)
    await page.get_by_role("link", name="Usage").click()
    await page.wait_for_url("**/dashboard/usage")

    chart = page.get_by_role("img", name="Tokens per day, last 30 days (UTC)")
    assert await chart.is_visible()
    box = await chart.bounding_box()
    assert box is not None and box["width"] > 900 and box["height"] == 200  # fills the card
    today = page.get_by_role("meter", name="24% of the today budget used")
    assert await today.is_visible()  # 2,350 of 10,000
    assert await page.get_by_text("7,650 tokens left").is_visible()
    legend = page.get_by_role("list", name="Legend")
    assert await legend.inner_text() == "Cached input\nUncached input\nOutput"
    await screens.shoot(page, "usage")

    table = page.get_by_role("table")
    assert not await table.is_visible()  # folded away until asked for
    await page.get_by_text("The numbers, day by day").click()
    assert await table.is_visible()
    rows = table.locator("tbody tr")
    assert await rows.count() == 30
    first = await rows.first.locator("td").all_inner_texts()
    assert first == ["700", "1,300", "350"]  # today: 2,000 in (700 cached), 350 out

    # On a phone the chart fits the screen and its day labels stay apart.
    await page.set_viewport_size({"width": 390, "height": 844})
    box = await chart.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    labels = [await label.bounding_box() for label in await chart.locator("text.day").all()]
    days = sorted((label for label in labels if label), key=lambda label: label["x"])
    assert len(days) == 5
    assert all(a["x"] + a["width"] < b["x"] for a, b in zip(days, days[1:], strict=False))
    assert days[-1]["x"] + days[-1]["width"] <= box["x"] + box["width"] + 4  # its halo

    # Dark mode: the same chart, its colours from the style sheet's dark palette.
    bar = chart.locator("rect.bar-uncached").first
    light = await bar.evaluate("rect => getComputedStyle(rect).fill")
    await page.emulate_media(color_scheme="dark")
    dark = await bar.evaluate("rect => getComputedStyle(rect).fill")
    assert (light, dark) == ("rgb(36, 87, 197)", "rgb(111, 155, 255)")  # --chart-1
    await screens.shoot(page, "usage-dark")
