"""The dashboard's pages, one module each; `PAGES` installs them in menu order."""

from __future__ import annotations

from collections.abc import Callable

from bot.dashboard.pages import (
    audit,
    conversations,
    health,
    login,
    memories,
    overview,
    people,
    privacy,
    skills,
    tasks,
    usage,
)
from bot.dashboard.site import Site

PAGES: list[Callable[[Site], None]] = [
    login.install,
    overview.install,
    tasks.install,
    memories.install,
    privacy.install,
    conversations.install,
    usage.install,
    people.install,
    health.install,
    skills.install,
    audit.install,
]
