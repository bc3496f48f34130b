"""Logging in with a one-time link, sessions, form tokens and the security headers."""

from __future__ import annotations

from collections.abc import Callable

from bot.app import App
from memory.people import Person
from tests.bot.dashboard.harness import Browser


async def test_a_login_link_logs_in_once(
    app_: App, member: Person, browser: Callable[[], Browser]
) -> None:
    assert app_.dashboard is not None
    link = await app_.dashboard.access.link(member.id)
    assert link.startswith(f"http://localhost:{app_.http.port}/dashboard/login?token=")
    first = browser()
    assert (await first.open_link(link)).status == 303
    home = await first.get("/dashboard")
    assert home.status == 200 and "Max" in home.text
    second = browser()
    refused = await second.open_link(link)
    assert refused.status == 410 and "used or has expired" in refused.text
    assert (await second.get("/dashboard")).location == "/dashboard/welcome"
