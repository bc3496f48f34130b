"""Logging in and out: the welcome page, the login link's confirm page, logout."""

from __future__ import annotations

from aiohttp import web
from multidict import MultiDictProxy

from bot.dashboard.access import COOKIE, SESSION_IDLE, Viewer
from bot.dashboard.site import ROOT, WELCOME, Done, Site


def install(site: Site) -> None:
    @site.public("GET", WELCOME)
    async def welcome(request: web.Request) -> web.StreamResponse:
        viewer = await site.access.viewer(request.cookies.get(COOKIE))
        if viewer is not None:
            raise web.HTTPSeeOther(ROOT)
        return site.render(request, None, "welcome.html", title="Log in")

    @site.public("GET", f"{ROOT}/login")
    async def confirm(request: web.Request) -> web.StreamResponse:
        # Opening the link uses nothing: a chat app's preview of it must not log anyone in.
        token = request.query.get("token", "")
        usable = await site.access.link_usable(token)
        return site.render(
            request,
            None,
            "login.html",
            title="Log in",
            status=200 if usable else 410,
            usable=usable,
            token=token,
        )

    @site.public("POST", f"{ROOT}/login")
    async def log_in(request: web.Request) -> web.StreamResponse:
        form = await request.post()
        token = form.get("token")
        login = await site.access.log_in(token if isinstance(token, str) else "")
        if login is None:
            return site.render(
                request, None, "login.html", title="Log in", status=410, usable=False, token=""
            )
        response = web.HTTPSeeOther(ROOT)
        response.set_cookie(
            COOKIE,
            login.cookie,
            path=ROOT,
            max_age=int(SESSION_IDLE.total_seconds()),
            httponly=True,
            samesite="Lax",
            secure=site.access.secure,
        )
        raise response

    @site.action(f"{ROOT}/logout")
    async def log_out(_request: web.Request, viewer: Viewer, _form: MultiDictProxy[str]) -> Done:
        await site.access.log_out(viewer)
        return Done(WELCOME)
