"""The Health page in a real browser (headless chromium), with a failure to show."""

from __future__ import annotations

from playwright.async_api import Page as BrowserPage

from bot.app import App
from memory.people import Person
from memory.usage import LLMCallRecord
from tests.bot.dashboard.harness import Screens


async def test_an_owner_reads_the_health_page(
    app_: App, owner: Person, page: BrowserPage, screens: Screens
) -> None:
    assert app_.dashboard is not None
    await page.goto(await app_.dashboard.access.link(owner.id))
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url("**/dashboard")
    await page.get_by_role("link", name="Health").click()
    await page.wait_for_url("**/dashboard/health")
    assert "All is well." in await page.get_by_role("status").inner_text()
    await screens.shoot(page, "health")

    await app_.usage.record_llm_call(LLMCallRecord("chat", "fake-model", ok=True))
    await app_.usage.record_llm_call(
        LLMCallRecord(
            "chat",
            "fake-model",
            ok=False,
            error="rate limit: the endpoint answered 429 (too many requests)",
        )
    )
    await page.get_by_role("link", name="Check again").click()
    await page.wait_for_load_state()
    assert "1 thing to look at" in await page.get_by_role("status").inner_text()
    part = page.get_by_role("region", name="Errors, last hour check")
    assert "Failed model calls: 1 of 2." in await part.inner_text()
    await screens.shoot(page, "health-warned")
