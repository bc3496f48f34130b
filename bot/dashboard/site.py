"""The dashboard's frame: routes under /dashboard, the session and role checks every page
and action passes, CSRF on every form, security headers, and rendering with Jinja2.

A page is `@site.page(path, owner=...)`: its handler gets the request and the `Viewer`
and returns a response (usually `site.render(...)`). An action is `@site.action(path,
owner=...)`: a POST whose form token was checked; its handler returns where to go next
and what to say there (`Done`). Without a session a page redirects to the "ask the
assistant for a link" page and an action answers 401; a member asking for an owner's
page gets 403; a person asking for another person's thing gets 404 (`NotFound`), the
same as for a thing that does not exist.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from bot.dashboard.access import COOKIE, Access, Viewer, csrf_matches
from bot.dashboard.parts import Parts
from bot.http.server import HttpServer
from memory.audit import Actor

ROOT = "/dashboard"
PLATFORM = "dashboard"  # where the audit trail says the dashboard's actions were done
WELCOME = f"{ROOT}/welcome"
_HERE = Path(__file__).parent

# No inline scripts or styles anywhere: every script and sheet is a file under /static.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Login links carry their token in the address: never pass it on to another site.
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}

PageHandler = Callable[[web.Request, Viewer], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Done:
    """What an action did: the page to go to next and the line to show there."""

    to: str
    message: str = ""
    failed: bool = False


# An action answers where to go next (`Done`), or with a response of its own (a download).
ActionHandler = Callable[
    [web.Request, Viewer, MultiDictProxy[str]], Awaitable[Done | web.StreamResponse]
]


@dataclass(frozen=True)
class Route:
    """A page or action, as registered (tests walk them all)."""

    method: str
    path: str
    owner: bool


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str
    owner: bool


class NotFound(Exception):
    """Raised by a handler for a thing that is not there or not the viewer's to see."""


class Site:
    def __init__(self, http: HttpServer, access: Access, parts: Parts) -> None:
        self.http = http
        self.access = access
        self.parts = parts
        self.nav: list[NavItem] = []
        self.routes: list[Route] = []
        self._flash: dict[int, tuple[str, bool]] = {}  # session id → the next page's line
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(_HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters["when"] = self.when
        http.before_sending(_security_headers)
        http.app.router.add_static(f"{ROOT}/static", _HERE / "static", append_version=False)

    # -- registering ---------------------------------------------------------------

    def menu(self, path: str, label: str, *, owner: bool = False) -> None:
        """Show the page in the navigation (owners' pages only to owners)."""
        self.nav.append(NavItem(path, label, owner))

    def public(self, method: str, path: str) -> Callable[[Callable[..., Any]], Any]:
        """A route anyone may open (the welcome and login pages)."""

        def register(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> Any:
            self.http.add_route(method, path, handler)
            return handler

        return register

    def page(self, path: str, *, owner: bool = False) -> Callable[[PageHandler], PageHandler]:
        def register(handler: PageHandler) -> PageHandler:
            async def guarded(request: web.Request) -> web.StreamResponse:
                viewer = await self.access.viewer(request.cookies.get(COOKIE))
                if viewer is None:
                    raise web.HTTPSeeOther(WELCOME)
                if owner and not viewer.is_owner:
                    return self.refuse(request, viewer)
                try:
                    return await handler(request, viewer)
                except NotFound:
                    return self.not_found(request, viewer)

            self.http.add_route("GET", path, guarded)
            self.routes.append(Route("GET", path, owner))
            return handler

        return register

    def action(self, path: str, *, owner: bool = False) -> Callable[[ActionHandler], ActionHandler]:
        def register(handler: ActionHandler) -> ActionHandler:
            async def guarded(request: web.Request) -> web.StreamResponse:
                viewer = await self.access.viewer(request.cookies.get(COOKIE))
                if viewer is None:
                    return self.bare(request, 401, "Logged out", _LOGGED_OUT)
                form = await request.post()
                sent = form.get("csrf")
                if not csrf_matches(viewer, sent if isinstance(sent, str) else None):
                    return self.bare(request, 403, "Form expired", _STALE_FORM, viewer)
                if owner and not viewer.is_owner:
                    return self.refuse(request, viewer)
                fields = _text_fields(form)
                try:
                    done = await handler(request, viewer, fields)
                except NotFound:
                    return self.not_found(request, viewer)
                if isinstance(done, web.StreamResponse):
                    return done
                if done.message:
                    self._flash[viewer.session_id] = (done.message, done.failed)
                raise web.HTTPSeeOther(done.to if done.to.startswith(ROOT) else ROOT)

            self.http.add_route("POST", path, guarded)
            self.routes.append(Route("POST", path, owner))
            return handler

        return register

    # -- answering -----------------------------------------------------------------

    def render(
        self,
        request: web.Request,
        viewer: Viewer | None,
        template: str,
        *,
        title: str,
        status: int = 200,
        **context: Any,
    ) -> web.Response:
        flash = self._flash.pop(viewer.session_id, None) if viewer is not None else None
        html = self.templates.get_template(template).render(
            viewer=viewer,
            title=title,
            assistant=self.parts.settings.core.assistant_name,
            nav=[item for item in self.nav if viewer and (viewer.is_owner or not item.owner)],
            here=request.path,
            flash=flash,
            **context,
        )
        return web.Response(text=html, status=status, content_type="text/html")

    def bare(
        self,
        request: web.Request,
        status: int,
        title: str,
        message: str,
        viewer: Viewer | None = None,
    ) -> web.Response:
        return self.render(
            request, viewer, "message.html", title=title, status=status, message=message
        )

    def refuse(self, request: web.Request, viewer: Viewer) -> web.Response:
        return self.bare(request, 403, "Owners only", _OWNERS_ONLY, viewer)

    def not_found(self, request: web.Request, viewer: Viewer) -> web.Response:
        return self.bare(request, 404, "Not found", _NOT_FOUND, viewer)

    async def actor(self, viewer: Viewer) -> Actor:
        """The viewer as the audit trail names them: their first account, on "dashboard"."""
        return await self.parts.trail.actor(viewer.user_id, PLATFORM)

    async def zone(self, viewer: Viewer) -> str:
        """The viewer's time zone (what /timezone set, else the deployment's)."""
        return (await self.parts.jobs.zone_of(viewer.user_id)).key

    def when(self, moment: datetime | None, timezone: str | None = None) -> str:
        """A time as people read it, in their time zone (the deployment's by default)."""
        if moment is None:
            return "—"
        zone = ZoneInfo(timezone or self.parts.settings.core.timezone or "UTC")
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _text_fields(form: Mapping[str, object]) -> MultiDictProxy[str]:
    """The form's text fields (no action takes files)."""
    fields: MultiDict[str] = MultiDict()
    for key, value in form.items():
        if isinstance(value, str):
            fields.add(key, value)
    return MultiDictProxy(fields)


_LOGGED_OUT = "You are not logged in. Send /dashboard to the assistant in a private chat."
_STALE_FORM = "This form has expired. Go back, reload the page and try again."
_OWNERS_ONLY = "Only the assistant's owners can open this page."
_NOT_FOUND = "There is nothing here, or it is not yours to see."


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    if not request.path.startswith(ROOT):
        return
    response.headers.update(SECURITY_HEADERS)
    static = request.path.startswith(f"{ROOT}/static/")
    response.headers["Cache-Control"] = "public, max-age=3600" if static else "no-store"
