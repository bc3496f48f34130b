"""Exporting and forgetting everything from the dashboard: the same file as /export, the
same erasure and audit entries as /forget_me, a confirmation first, logged out after."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from bot.app import App
from memory.people import Person
from tests.bot.dashboard.harness import Browser
from tests.bot.harness.memory import say
from tests.fakes.chat import RecordingChannel

LogIn = Callable[[Person], Awaitable[Browser]]
EXPORT = "/dashboard/memories/export"
FORGET_ALL = "/dashboard/memories/forget-everything"


async def test_logged_out_and_without_a_token_nothing_is_given_or_deleted(
    app_: App, owner: Person, browser: Callable[[], Browser], logged_in: LogIn
) -> None:
    await app_.memory.memories.remember(owner.id, "Lives in Porto")
    stranger = browser()
    page = await stranger.get(FORGET_ALL)
    assert (page.status, page.location) == (303, "/dashboard/welcome")
    assert (await stranger.post(EXPORT)).status == 401
    assert (await stranger.post(FORGET_ALL, {"confirm": "yes"})).status == 401
    olga = await logged_in(owner)
    for token in ("", "forged"):
        assert (await olga.post(EXPORT, csrf=token)).status == 403
        assert (await olga.post(FORGET_ALL, {"confirm": "yes"}, csrf=token)).status == 403
    assert await app_.memory.memories.count_current(owner.id) == 1
    assert await app_.audit.entries() == []


async def test_the_download_is_the_export_of_the_chat(
    app_: App, chat: RecordingChannel, owner: Person, member: Person, logged_in: LogIn
) -> None:
    await say(app_, chat, "I live in Porto", sender="own", chat="own")
    await app_.memory.memories.remember(owner.id, "Lives in Porto")
    await app_.memory.memories.remember(member.id, "Max's own fact")
    olga = await logged_in(owner)
    async with olga.http.post(f"{olga.base}{EXPORT}", data={"csrf": olga.csrf}) as answer:
        assert answer.status == 200
        assert answer.content_type == "application/json"
        disposition = answer.headers["Content-Disposition"]
        assert disposition.startswith('attachment; filename="clawling-export-')
        body = await answer.read()
        assert answer.headers["Content-Security-Policy"].startswith("default-src 'none'")
    downloaded = json.loads(body)
    expected = await app_.memory.privacy.export(owner.id, datetime.now(UTC))
    downloaded.pop("exported_at"), expected.pop("exported_at")
    assert downloaded == expected
    assert [m["text"] for m in downloaded["memories"]] == ["Lives in Porto"]
    assert body == json.dumps(json.loads(body), ensure_ascii=False, indent=2).encode()
    [entry] = await app_.audit.entries(actions=("memory.exported",))
    assert (entry.actor, entry.platform, entry.actor_id) == ("test:own", "dashboard", owner.id)
    assert entry.detail == {
        "memories": 1,
        "messages": len(expected["messages"]),
        "to": "downloaded from the dashboard",
    }


async def test_forgetting_everything_asks_then_erases_and_logs_out(
    app_: App, chat: RecordingChannel, owner: Person, member: Person, logged_in: LogIn
) -> None:
    await say(app_, chat, "remember my bike", sender="own", chat="own")
    await app_.memory.memories.remember(owner.id, "Owns a red bike")
    await app_.memory.memories.remember(member.id, "Max's own fact")
    olga, elsewhere = await logged_in(owner), await logged_in(owner)
    confirm = await olga.get(FORGET_ALL)
    assert confirm.status == 200 and "type <strong>yes</strong>" in confirm.text
    for word in ("", "no", "forget"):
        refused = await olga.post(FORGET_ALL, {"confirm": word})
        assert refused.location == FORGET_ALL
        assert "Nothing was deleted" in (await olga.get(FORGET_ALL)).text
    assert await app_.memory.memories.count_current(owner.id) == 1
    assert await app_.audit.entries(actions=("memory.forgotten",)) == []

    done = await olga.post(FORGET_ALL, {"confirm": " YES "})
    assert (done.status, done.location) == (303, "/dashboard/forgotten")
    landing = await olga.get(done.location)
    assert landing.status == 200 and "has been deleted" in landing.text
    assert "Log out" not in landing.text  # nobody is logged in there
    for browser in (olga, elsewhere):  # every session of the person ended
        assert (await browser.get("/dashboard/memories")).location == "/dashboard/welcome"
    export = await app_.memory.privacy.export(owner.id, datetime.now(UTC))
    assert export["memories"] == [] and export["messages"] == []
    assert await app_.memory.memories.count_current(member.id) == 1
    [entry] = await app_.audit.entries(actions=("memory.forgotten",))
    assert (entry.actor, entry.platform, entry.actor_id) == ("test:own", "dashboard", owner.id)
    # As /forget_me records it (its private chat's summary row is counted too).
    assert entry.detail == {"what": "everything", "memories": 1, "messages": 2, "summaries": 1}
    # The account stays, as after /forget_me: the person can log in again and starts empty.
    again = await logged_in(owner)
    assert (
        "does not remember anything about you yet" in (await again.get("/dashboard/memories")).text
    )
