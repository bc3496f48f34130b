"""Driving the dashboard over real HTTP: a `Browser` is an aiohttp client with its own
cookie jar, logged in as one person through a real one-time link; `Screens` takes
screenshots in Debian's chromium (Playwright) at phone and desktop width."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy

from bot.app import App

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_NONCE = re.compile(r'name="nonce" value="([^"]+)"')
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
CHROMIUM = "/usr/bin/chromium"


@dataclass
class Page:
    status: int
    text: str
    headers: CIMultiDictProxy[str]
    location: str = ""  # where a redirect points

    @property
    def csrf(self) -> str:
        found = _CSRF.search(self.text)
        assert found, "the page has no form token"
        return found[1]


@dataclass
class Browser:
    app: App
    http: aiohttp.ClientSession = field(
        default_factory=lambda: aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    )
    csrf: str = ""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.app.http.port}"

    async def get(self, path: str, *, follow: bool = False) -> Page:
        async with self.http.get(self.base + path, allow_redirects=follow) as response:
            page = Page(
                response.status,
                await response.text(),
                response.headers,
                response.headers.get("Location", ""),
            )
        if 'name="csrf"' in page.text:
            self.csrf = page.csrf
        return page

    async def post(
        self, path: str, data: dict[str, Any] | None = None, *, csrf: str | None = None
    ) -> Page:
        """A form sent with this browser's form token (or `csrf`, when given)."""
        form = dict(data or {})
        form.setdefault("csrf", self.csrf if csrf is None else csrf)
        async with self.http.post(self.base + path, data=form, allow_redirects=False) as response:
            return Page(
                response.status,
                await response.text(),
                response.headers,
                response.headers.get("Location", ""),
            )

    async def open_link(self, link: str) -> Page:
        """Open a login link and press its button: logged in (303) or refused (410)."""
        token = link.split("token=", 1)[1]
        confirm = await self.get(f"/dashboard/login?token={token}")
        assert confirm.status in (200, 410), confirm.status
        if confirm.status == 410:
            return confirm  # used or expired: the page has no Log in button to press
        nonce = _NONCE.search(confirm.text)
        assert nonce, "the confirm page has no login form"
        # Behind https the confirm page's cookie is Secure, which this plain-http client
        # keeps to itself: send it as the browser would.
        cookies = {"clawling_login": nonce[1]}
        async with self.http.post(
            self.base + "/dashboard/login",
            data={"token": token, "nonce": nonce[1]},
            cookies=cookies,
            allow_redirects=False,
        ) as response:
            answer = Page(
                response.status,
                await response.text(),
                response.headers,
                response.headers.get("Location", ""),
            )
        if answer.status == 303:
            await self.get("/dashboard")  # picks up the form token
        return answer

    async def log_in(self, user_id: int) -> Browser:
        assert self.app.dashboard is not None
        answer = await self.open_link(await self.app.dashboard.access.link(user_id))
        assert answer.status == 303, answer.text
        return self

    async def close(self) -> None:
        await self.http.close()


class Screens:
    """Screenshots of the pages at phone and desktop width, light and dark: kept under
    the test's temp folder, and copied to CLAWLING_TEST_SCREENSHOTS (the README's docs/) when
    that is set."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.taken: list[Path] = []

    async def shoot(self, page: Any, name: str) -> list[Path]:
        paths = []
        for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
            await page.set_viewport_size(size)
            path = self.folder / f"{name}-{label}.png"
            await page.screenshot(path=str(path), full_page=label == "desktop")
            paths.append(path)
        await page.set_viewport_size(DESKTOP)
        copy_to = os.environ.get("CLAWLING_TEST_SCREENSHOTS")
        for path in paths if copy_to else []:
            shutil.copy(path, Path(copy_to) / path.name)
        self.taken += paths
        return paths
