"""Logging in through a link in a real browser (headless chromium)."""

from __future__ import annotations

from playwright.async_api import Page as BrowserPage

from bot.app import App
from memory.people import Person
from tests.bot.dashboard.harness import Screens


async def test_log_in_through_a_link_and_out_again(
    app_: App, owner: Person, page: BrowserPage, screens: Screens
) -> None:
    assert app_.dashboard is not None
    await page.goto(f"http://localhost:{app_.http.port}/dashboard")
    assert page.url.endswith("/dashboard/welcome")
    await screens.shoot(page, "welcome")
    await page.goto(await app_.dashboard.access.link(owner.id))
    await screens.shoot(page, "login")
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url("**/dashboard")
    assert await page.get_by_role("heading", name="Overview").is_visible()
    await screens.shoot(page, "overview")
    await page.get_by_role("button", name="Log out").click()
    await page.wait_for_url("**/dashboard/welcome")


async def tab_to(page: BrowserPage, text: str, limit: int = 8) -> int:
    """Press Tab until the focused element reads `text`; how many presses it took."""
    for presses in range(1, limit + 1):
        await page.keyboard.press("Tab")
        if (await page.evaluate("document.activeElement.textContent")).strip() == text:
            return presses
    raise AssertionError(f"{text!r} not reached with {limit} presses of Tab")


async def test_the_keyboard_reaches_the_content_and_the_menu(
    app_: App, owner: Person, page: BrowserPage
) -> None:
    assert app_.dashboard is not None
    await page.goto(await app_.dashboard.access.link(owner.id))
    await tab_to(page, "Log in")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/dashboard")
    assert await tab_to(page, "Skip to content") == 1  # the first stop on every page
    assert await tab_to(page, "Tasks") == 3  # then the name, Overview, Tasks
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/dashboard/tasks")
