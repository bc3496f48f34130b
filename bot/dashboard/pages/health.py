"""Health (owners): is every part of the assistant well, and what to do when one is not."""

from __future__ import annotations

from aiohttp import web

from bot.dashboard.access import Viewer
from bot.dashboard.health import BAD, WARN
from bot.dashboard.site import ROOT, Site

PATH = f"{ROOT}/health"


def install(site: Site) -> None:
    site.menu(PATH, "Health", owner=True)

    @site.page(PATH, owner=True)
    async def health(request: web.Request, viewer: Viewer) -> web.StreamResponse:
        statuses = await site.parts.health.report()
        bad = [s for s in statuses if s.state == BAD]
        warned = [s for s in statuses if s.state == WARN]
        return site.render(
            request,
            viewer,
            "health.html",
            title="Health",
            statuses=statuses,
            bad=bad,
            warned=warned,
            checked=site.when(site.parts.now()),
        )
