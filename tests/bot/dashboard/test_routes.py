"""Every page and action of the dashboard, walked from its registry (so a page added later
is covered too): logged out, it redirects or refuses; a member is refused every owner's
page and action; an id that is nobody's answers 404."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest

from bot.app import App
from bot.dashboard.site import Route
from memory.people import Person
from tests.bot.dashboard.harness import Browser

_PARAMETER = re.compile(r"\{[^}]+\}")
NOBODYS = "987654"


def _routes(app: App) -> list[Route]:
    assert app.dashboard is not None
    return app.dashboard.routes


def _filled(route: Route) -> str:
    return _PARAMETER.sub(NOBODYS, route.path)


async def test_every_route_needs_a_session(app_: App, browser: Callable[[], Browser]) -> None:
    visitor = browser()
    routes = _routes(app_)
    assert any(r.method == "POST" for r in routes) and any(r.method == "GET" for r in routes)
    for route in routes:
        if route.method == "GET":
            page = await visitor.get(_filled(route))
            assert (page.status, page.location) == (303, "/dashboard/welcome"), route
        else:
            assert (await visitor.post(_filled(route), csrf="x")).status == 401, route


async def test_members_are_refused_every_owners_route(
    app_: App, logged_in: Callable[[Person], Awaitable[Browser]], member: Person
) -> None:
    browser = await logged_in(member)
    for route in [r for r in _routes(app_) if r.owner]:
        if route.method == "GET":
            page = await browser.get(_filled(route))
        else:
            page = await browser.post(_filled(route))
        assert page.status == 403 and "owners" in page.text, route
    shown = await browser.get("/dashboard")
    for route in [r for r in _routes(app_) if r.owner and r.method == "GET"]:
        assert f'href="{route.path}"' not in shown.text  # not in a member's menu


@pytest.mark.parametrize("who", ["member", "owner"])
async def test_ids_that_are_nobodys_are_not_found(
    app_: App,
    logged_in: Callable[[Person], Awaitable[Browser]],
    member: Person,
    owner: Person,
    who: str,
) -> None:
    person = member if who == "member" else owner
    browser = await logged_in(person)
    for route in _routes(app_):
        if route.method != "GET" or "{" not in route.path or (route.owner and who == "member"):
            continue
        page = await browser.get(_filled(route))
        assert page.status == 404, route
