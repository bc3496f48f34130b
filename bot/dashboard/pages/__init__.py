"""The dashboard's pages, one module each; `PAGES` installs them in menu order."""

from __future__ import annotations

from collections.abc import Callable

from bot.dashboard.pages import login, overview, people, usage
from bot.dashboard.site import Site

PAGES: list[Callable[[Site], None]] = [
    login.install,
    overview.install,
    usage.install,
    people.install,
]
