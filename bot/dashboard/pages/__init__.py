"""The dashboard's pages, one module each; `PAGES` installs them in menu order."""

from __future__ import annotations

from collections.abc import Callable

from bot.dashboard.pages import conversations, login, memories, overview, privacy, tasks
from bot.dashboard.site import Site

PAGES: list[Callable[[Site], None]] = [
    login.install,
    overview.install,
    tasks.install,
    memories.install,
    privacy.install,
    conversations.install,
]
