"""The overview: what the assistant is doing for the person now."""

from __future__ import annotations

from aiohttp import web

from bot.dashboard.access import Viewer
from bot.dashboard.site import ROOT, Site


def install(site: Site) -> None:
    site.menu(ROOT, "Overview")

    @site.page(ROOT)
    async def overview(request: web.Request, viewer: Viewer) -> web.StreamResponse:
        return site.render(request, viewer, "overview.html", title="Overview")
