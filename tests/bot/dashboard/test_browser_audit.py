"""Filtering the audit trail in a real browser (headless chromium)."""

from __future__ import annotations

from playwright.async_api import Page as BrowserPage

from bot.app import App
from bot.people.trail import person_actor
from memory.audit import Actor
from memory.people import Person
from tests.bot.dashboard.harness import Screens


async def test_an_owner_filters_the_audit_trail(
    app_: App, owner: Person, member: Person, page: BrowserPage, screens: Screens
) -> None:
    assert app_.dashboard is not None
    olga, max_ = person_actor(owner, "test"), person_actor(member, "test")
    trail = app_.trail
    await trail.record("pairing.allowed", olga, subject=member, code="K7Q2XM")
    await trail.record("skill.drafted", max_, skill="weekly-review")
    await trail.record(
        "skill.approved",
        Actor(olga.label, "dashboard", owner.id),
        subject=member,
        skill="weekly-review",
    )
    await trail.record("quota.changed", Actor("cli", "cli"), subject=member, daily_tokens=200000)
    await trail.record("tool.called", max_, tool="web_search", outcome="done")
    await trail.record("person.role", olga, subject=member, role="member")

    await page.goto(await app_.dashboard.access.link(owner.id))
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url("**/dashboard")
    await page.get_by_role("link", name="Audit").click()
    await page.wait_for_url("**/dashboard/audit")
    assert await page.locator("table.audit tbody tr").count() == 6
    await screens.shoot(page, "audit")

    await page.get_by_label("Action").select_option("skill.approved")
    await page.get_by_label("Person").fill("test:max")
    await page.get_by_label("Since").fill("24h")
    await page.get_by_role("button", name="Filter").click()
    await page.wait_for_url("**/dashboard/audit?person=test%3Amax&action=skill.approved&since=24h")
    rows = page.locator("table.audit tbody tr")
    assert await rows.count() == 1
    assert "via dashboard" in await rows.first.inner_text()
    await screens.shoot(page, "audit-filtered")

    await page.get_by_role("link", name="Clear filters").click()
    await page.wait_for_url("**/dashboard/audit")
    assert await page.locator("table.audit tbody tr").count() == 6
