"""Who is looking at the dashboard: one-time login links, browser sessions, form tokens.

No passwords: a person asks the assistant (/dashboard) or an owner runs `clawling
dashboard link --user`, and gets a link that works once, for 10 minutes. Opening it shows
a page with one button (a chat app's link preview fetches the page but never presses the
button); pressing it starts a session: a random cookie (HttpOnly, SameSite=Lax, Secure on
https) whose SHA-256 the database keeps, with a random form token for CSRF. A session
ends on logout, after a week unused, and at once when the person is no longer active
(blocked or removed: every request reads their status and role from SQL).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from memory.dashboard import DashboardStore
from memory.people import ACTIVE, OWNER

LINK_LIFETIME = timedelta(minutes=10)
SESSION_IDLE = timedelta(days=7)
# A session's "last seen" is written at most this often (not on every page).
_SEEN_EVERY = timedelta(minutes=5)
COOKIE = "clawling_dashboard"
LOGIN_PATH = "/dashboard/login"


@dataclass(frozen=True)
class Viewer:
    """The person a request is from, as the database has them at that moment."""

    user_id: int
    name: str
    role: str
    session_id: int
    csrf: str

    @property
    def is_owner(self) -> bool:
        return self.role == OWNER


@dataclass(frozen=True)
class Login:
    """A started session: the cookie to set and when it lapses if unused."""

    cookie: str
    viewer: Viewer


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Access:
    def __init__(
        self, store: DashboardStore, base_url: Callable[[], str], now: Callable[[], datetime]
    ) -> None:
        self._store = store
        self._base_url = base_url  # CLAWLING_PUBLIC_URL, or http://localhost:PORT
        self._now = now

    @property
    def secure(self) -> bool:
        """Whether cookies are marked Secure (the dashboard is reached over https)."""
        return self._base_url().startswith("https://")

    async def link(self, user_id: int) -> str:
        """A new one-time login link for the person (valid LINK_LIFETIME)."""
        token = secrets.token_urlsafe(32)
        now = self._now()
        await self._store.add_link(user_id, _digest(token), now, now + LINK_LIFETIME)
        return f"{self._base_url().rstrip('/')}{LOGIN_PATH}?token={token}"

    async def link_usable(self, token: str) -> bool:
        return bool(token) and await self._store.link_usable(_digest(token), self._now())

    async def log_in(self, token: str) -> Login | None:
        """Use the link's token (once) and start a session; None if it does not work."""
        if not token:
            return None
        now = self._now()
        user_id = await self._store.use_link(_digest(token), now)
        if user_id is None:
            return None
        cookie = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        await self._store.start(user_id, _digest(cookie), csrf, now, now + SESSION_IDLE)
        viewer = await self.viewer(cookie)
        return None if viewer is None else Login(cookie, viewer)

    async def viewer(self, cookie: str | None) -> Viewer | None:
        """Who holds this cookie, if their session is alive and they are active."""
        if not cookie:
            return None
        now = self._now()
        session = await self._store.find(_digest(cookie), now)
        if session is None:
            return None
        if session.status != ACTIVE:
            await self._store.end_all(session.user_id)
            return None
        if now - session.seen_at >= _SEEN_EVERY:
            await self._store.seen(session.id, now, now + SESSION_IDLE)
        return Viewer(session.user_id, session.name, session.role, session.id, session.csrf)

    async def log_out(self, viewer: Viewer) -> None:
        await self._store.end(viewer.session_id)

    async def log_out_everywhere(self, user_id: int) -> int:
        return await self._store.end_all(user_id)


def csrf_matches(viewer: Viewer, sent: str | None) -> bool:
    return sent is not None and hmac.compare_digest(viewer.csrf.encode(), sent.encode())
