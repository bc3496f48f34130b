"""Logging in and out: the welcome page, the login link's confirm page, logout.

The confirm page sets a short-lived SameSite=Strict cookie and puts the same random
value in its form; the login only counts when both arrive together. A form on another
site cannot send that cookie, so nobody can log a visitor in to *their* session with a
link of their own (login CSRF)."""

from __future__ import annotations

import hmac
import secrets

from aiohttp import web
from multidict import MultiDictProxy

from bot.dashboard.access import COOKIE, LINK_LIFETIME, SESSION_IDLE, Viewer
from bot.dashboard.site import ROOT, WELCOME, Done, Site

PRESSED = "clawling_login"  # the confirm page's cookie (see the module's docstring)
LOGIN = f"{ROOT}/login"


def install(site: Site) -> None:
    @site.public("GET", WELCOME)
    async def welcome(request: web.Request) -> web.StreamResponse:
        viewer = await site.access.viewer(request.cookies.get(COOKIE))
        if viewer is not None:
            raise web.HTTPSeeOther(ROOT)
        return site.render(request, None, "welcome.html", title="Log in")

    @site.public("GET", LOGIN)
    async def confirm(request: web.Request) -> web.StreamResponse:
        # Opening the link uses nothing: a chat app's preview of it must not log anyone in.
        token = request.query.get("token", "")
        usable = await site.access.link_usable(token)
        nonce = secrets.token_urlsafe(24)
        page = site.render(
            request,
            None,
            "login.html",
            title="Log in",
            status=200 if usable else 410,
            usable=usable,
            token=token,
            nonce=nonce,
        )
        page.set_cookie(
            PRESSED,
            nonce,
            path=LOGIN,
            max_age=int(LINK_LIFETIME.total_seconds()),
            httponly=True,
            samesite="Strict",
            secure=site.access.secure,
        )
        return page

    @site.public("POST", LOGIN)
    async def log_in(request: web.Request) -> web.StreamResponse:
        form = await request.post()
        token, nonce = form.get("token"), form.get("nonce")
        pressed = request.cookies.get(PRESSED, "")
        if not (isinstance(nonce, str) and pressed and hmac.compare_digest(nonce, pressed)):
            # Not pressed on our own confirm page: the link stays usable.
            return site.bare(request, 403, "Log in", _OPEN_AGAIN)
        login = await site.access.log_in(token if isinstance(token, str) else "")
        if login is None:
            return site.render(
                request,
                None,
                "login.html",
                title="Log in",
                status=410,
                usable=False,
                token="",
                nonce="",
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
        response.del_cookie(PRESSED, path=LOGIN)
        raise response

    @site.action(f"{ROOT}/logout")
    async def log_out(_request: web.Request, viewer: Viewer, _form: MultiDictProxy[str]) -> Done:
        await site.access.log_out(viewer)
        return Done(WELCOME)


_OPEN_AGAIN = "Open your login link again and press Log in on that page."
