"""Logging in with a one-time link, sessions, form tokens and the security headers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from sqlalchemy import select

from bot.app import App
from bot.dashboard.access import Access
from bot.people.trail import CLI_ACTOR
from bot.settings import Settings
from memory.dashboard import DashboardStore
from memory.db.models import DashboardSession
from memory.people import Person
from tests.bot.app.test_lifecycle import started
from tests.bot.dashboard.harness import Browser
from tests.conftest import make_settings
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI

LoggedIn = Callable[[Person], Awaitable[Browser]]


async def test_a_login_link_logs_in_once(
    app_: App, member: Person, browser: Callable[[], Browser]
) -> None:
    assert app_.dashboard is not None
    link = await app_.dashboard.access.link(member.id)
    assert link.startswith(f"http://localhost:{app_.http.port}/dashboard/login?token=")
    first = browser()
    # Opening the link (as a chat app's preview does) uses nothing up.
    assert (await first.get("/dashboard/login?token=" + link.split("token=")[1])).status == 200
    assert (await first.open_link(link)).status == 303
    home = await first.get("/dashboard")
    assert home.status == 200 and "Max" in home.text
    second = browser()
    refused = await second.open_link(link)
    assert refused.status == 410 and "used or has expired" in refused.text
    assert (await second.get("/dashboard")).location == "/dashboard/welcome"
    assert (await second.open_link(link.replace("token=", "token=x"))).status == 410


async def test_links_expire_after_ten_minutes(app: App) -> None:
    """On both databases: a link works until 10 minutes after it was made, not after."""
    clock = [datetime(2026, 12, 5, 12, 0, tzinfo=UTC)]
    access = Access(DashboardStore(app.engine), lambda: "https://x.example", lambda: clock[0])
    person = await app.people.add("test", "ann", "Ann")
    late, in_time = await access.link(person.id), await access.link(person.id)
    clock[0] += timedelta(minutes=9, seconds=59)
    login = await access.log_in(in_time.split("token=")[1])
    assert login is not None and login.viewer.user_id == person.id
    clock[0] += timedelta(seconds=2)
    assert not await access.link_usable(late.split("token=")[1])
    assert await access.log_in(late.split("token=")[1]) is None
    # The session itself lasts a week unused, then ends.
    assert await access.viewer(login.cookie) is not None
    clock[0] += timedelta(days=7, seconds=1)
    assert await access.viewer(login.cookie) is None


async def test_logged_out_pages_redirect_and_actions_are_refused(
    browser: Callable[[], Browser],
) -> None:
    stranger = browser()
    page = await stranger.get("/dashboard")
    assert (page.status, page.location) == (303, "/dashboard/welcome")
    welcome = await stranger.get("/dashboard/welcome")
    assert welcome.status == 200 and "/dashboard" in welcome.text
    assert (await stranger.post("/dashboard/logout", csrf="anything")).status == 401


async def test_forms_need_the_session_form_token(logged_in: LoggedIn, member: Person) -> None:
    browser = await logged_in(member)
    for wrong in ("", "not-the-token"):
        refused = await browser.post("/dashboard/logout", csrf=wrong)
        assert refused.status == 403 and "expired" in refused.text
    assert (await browser.get("/dashboard")).status == 200  # still logged in
    done = await browser.post("/dashboard/logout")
    assert (done.status, done.location) == (303, "/dashboard/welcome")
    assert (await browser.get("/dashboard")).location == "/dashboard/welcome"


async def test_a_cookie_is_useless_after_logout(
    app_: App, logged_in: LoggedIn, member: Person
) -> None:
    browser = await logged_in(member)
    cookie = {c.key: c.value for c in browser.http.cookie_jar}["clawling_dashboard"]
    # Only its digest is stored.
    async with app_.engine.connect() as connection:
        stored = (await connection.execute(select(DashboardSession.token_hash))).scalars().all()
    assert stored and cookie not in stored
    await browser.post("/dashboard/logout")
    async with aiohttp.ClientSession(cookies={"clawling_dashboard": cookie}) as replay:
        url = f"{browser.base}/dashboard"
        async with replay.get(url, allow_redirects=False) as response:
            assert response.headers["Location"] == "/dashboard/welcome"


async def test_blocking_or_removing_a_person_ends_their_sessions(
    app_: App, logged_in: LoggedIn, owner: Person, member: Person
) -> None:
    blocked = await logged_in(member)
    await app_.admin.block(CLI_ACTOR, member)
    assert (await blocked.get("/dashboard")).location == "/dashboard/welcome"
    assert await DashboardStore(app_.engine).count(member.id) == 0
    again = await app_.people.person(member.id)
    assert again is not None
    await app_.admin.unblock(CLI_ACTOR, again)
    removed = await logged_in(member)
    await app_.admin.remove(CLI_ACTOR, again)
    assert (await removed.get("/dashboard")).location == "/dashboard/welcome"
    assert app_.dashboard is not None
    assert await app_.dashboard.access.log_in("") is None


async def test_cookie_flags_and_security_headers(logged_in: LoggedIn, member: Person) -> None:
    browser = await logged_in(member)
    answer = await browser.open_link(await _link(browser, member))
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/dashboard" in cookie
    assert "Secure" not in cookie  # plain http on localhost
    for path in ("/dashboard", "/dashboard/welcome", "/dashboard/no-such-page"):
        page = await browser.get(path)
        csp = page.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert page.headers["X-Frame-Options"] == "DENY"
        assert page.headers["Referrer-Policy"] == "no-referrer"
        assert page.headers["Cache-Control"] == "no-store"
    assert "<script>" not in (await browser.get("/dashboard")).text  # scripts are files
    assert "Content-Security-Policy" not in (await browser.get("/healthz")).headers


async def _link(browser: Browser, person: Person) -> str:
    assert browser.app.dashboard is not None
    return await browser.app.dashboard.access.link(person.id)


async def test_cookies_are_secure_behind_https(
    fake_llm: FakeOpenAI, sqlite_url: str, tmp_path: Path
) -> None:
    settings: Settings = make_settings(
        fake_llm, sqlite_url, tmp_path / "data", public_url="https://bot.example.org"
    )
    app, _channel = await started(settings)
    try:
        person = await app.people.add("test", "ann", "Ann")
        assert app.dashboard is not None
        link = await app.dashboard.access.link(person.id)
        assert link.startswith("https://bot.example.org/dashboard/login?token=")
        browser = Browser(app)
        answer = await browser.open_link(link)
        assert "Secure" in answer.headers["Set-Cookie"]
        await browser.close()
    finally:
        await app.close()


async def test_the_dashboard_command_sends_a_link_in_private_chats_only(
    app_: App, chat: RecordingChannel, member: Person, browser: Callable[[], Browser]
) -> None:
    await app_.sessions.handle(chat.inbound("/dashboard", sender="max", chat="g1", direct=False))
    await app_.sessions.drain()
    assert "private chat" in chat.texts()[-1] and "token=" not in chat.texts()[-1]
    await app_.sessions.handle(chat.inbound("/dashboard", sender="max", chat="max"))
    await app_.sessions.drain()
    reply = chat.texts()[-1]
    assert "works once, for 10 minutes" in reply
    link = reply.splitlines()[-1]
    visitor = browser()
    assert (await visitor.open_link(link)).status == 303
    assert "Max" in (await visitor.get("/dashboard")).text


async def test_a_login_form_from_another_site_logs_nobody_in(
    app_: App, member: Person, browser: Callable[[], Browser]
) -> None:
    """Login CSRF: someone posts their own link's token from their site to a visitor's
    browser. Without the confirm page's SameSite=Strict cookie it is refused, and the
    link still works for its owner."""
    assert app_.dashboard is not None
    link = await app_.dashboard.access.link(member.id)
    token = link.split("token=")[1]
    visitor = browser()
    for nonce in ("", "guessed"):
        refused = await visitor.post("/dashboard/login", {"token": token, "nonce": nonce}, csrf="")
        assert refused.status == 403 and "Open your login link again" in refused.text
    assert (await visitor.get("/dashboard")).location == "/dashboard/welcome"
    owner_browser = browser()
    assert (await owner_browser.open_link(link)).status == 303
    cookies = {c.key: c for c in owner_browser.http.cookie_jar}
    assert "clawling_login" not in cookies or not cookies["clawling_login"].value
