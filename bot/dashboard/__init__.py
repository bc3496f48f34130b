"""The web dashboard (issue 19) under /dashboard on the app's HTTP server: each person sees
their own assistant (overview, memories, conversations, tasks, usage); owners also run the
house (people, health, skills, audit).

`access.py` logs people in (one-time links, sessions, form tokens); `site.py` is the frame
every page passes through (session, role, CSRF, security headers, rendering); `parts.py`
what pages read and act through — the stores and rules the chat commands use; `pages/` one
module per page; `templates/` and `static/` what the browser gets. Server-rendered HTML:
the reading pages work with JavaScript off.
"""

from __future__ import annotations

from bot.dashboard.access import Access
from bot.dashboard.pages import PAGES
from bot.dashboard.parts import Parts
from bot.dashboard.site import Site
from bot.http.server import HttpServer

__all__ = ["Access", "Parts", "Site", "install"]


def install(http: HttpServer, access: Access, parts: Parts) -> Site:
    """Add the dashboard's routes to the HTTP server (before it starts)."""
    site = Site(http, access, parts)
    for install_page in PAGES:
        install_page(site)
    return site
