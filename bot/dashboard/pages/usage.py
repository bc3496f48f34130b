"""Usage: the person's own tokens per day, what is left of their budgets, and the cost."""

from __future__ import annotations

from aiohttp import web

from bot.dashboard.access import Viewer
from bot.dashboard.site import ROOT, NotFound, Site
from bot.dashboard.usage import usage_view


def install(site: Site) -> None:
    site.menu(f"{ROOT}/usage", "Usage")

    @site.page(f"{ROOT}/usage")
    async def usage(request: web.Request, viewer: Viewer) -> web.StreamResponse:
        person = await site.parts.people.person(viewer.user_id)
        if person is None:
            raise NotFound()
        view = await usage_view(site.parts, person)
        return site.render(request, viewer, "usage.html", title="Usage", view=view)
