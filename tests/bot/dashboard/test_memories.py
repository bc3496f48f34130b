"""The memories page over HTTP: list, search, edit and forget as the chat does, only the
viewer's own memories, form tokens, and the same audit entries as /forget."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.app import App
from memory.audit import Entry
from memory.memories import MemoryRecord
from memory.people import Person
from tests.bot.dashboard.harness import Browser
from tests.bot.harness.memory import say
from tests.fakes.chat import RecordingChannel

LogIn = Callable[[Person], Awaitable[Browser]]


async def _remember(app: App, person: Person, *texts: str) -> list[MemoryRecord]:
    return [(await app.memory.memories.remember(person.id, text)).memory for text in texts]


async def _entries(app: App, action: str) -> list[Entry]:
    return await app.audit.entries(actions=(action,))


async def test_logged_out_pages_redirect_and_actions_answer_401(
    app_: App, owner: Person, browser: Callable[[], Browser]
) -> None:
    [kept] = await _remember(app_, owner, "Lives in Porto")
    stranger = browser()
    for path in ("/dashboard/memories", f"/dashboard/memories/{kept.id}/edit"):
        page = await stranger.get(path)
        assert (page.status, page.location) == (303, "/dashboard/welcome"), path
    for path in (f"/dashboard/memories/{kept.id}/edit", f"/dashboard/memories/{kept.id}/forget"):
        assert (await stranger.post(path, {"text": "Lives in Faro"})).status == 401, path
    assert await app_.memory.memories.get(owner.id, kept.id) == kept


async def test_the_list_is_paged_and_holds_only_the_viewers_memories(
    app_: App, owner: Person, member: Person, logged_in: LogIn
) -> None:
    for n in range(23):
        await _remember(app_, owner, f"Olga fact {n:02d}")
    await _remember(app_, member, "Max likes <b>bold</b> tea")
    olga = await logged_in(owner)
    first = await olga.get("/dashboard/memories")
    assert first.status == 200
    assert "1–20 of 23" in first.text and "Olga fact 22" in first.text
    assert "Olga fact 02" not in first.text and "Max likes" not in first.text
    second = await olga.get("/dashboard/memories?page=2")
    assert "21–23 of 23" in second.text and "Olga fact 00" in second.text
    assert "Olga fact 22" not in second.text
    # A page number out of range or not a number shows a page, not an error.
    assert "21–23 of 23" in (await olga.get("/dashboard/memories?page=99")).text
    assert "1–20 of 23" in (await olga.get("/dashboard/memories?page=x")).text
    max_page = (await (await logged_in(member)).get("/dashboard/memories")).text
    assert "Max likes &lt;b&gt;bold&lt;/b&gt; tea" in max_page and "Olga fact" not in max_page


async def test_search_finds_the_viewers_memories_as_the_assistant_does(
    app_: App, owner: Person, member: Person, logged_in: LogIn
) -> None:
    await _remember(app_, owner, "Allergic to peanuts", "Plays the cello on Sundays")
    await _remember(app_, member, "Allergic to cats")
    olga = await logged_in(owner)
    found = await olga.get("/dashboard/memories?q=allergic")
    assert found.status == 200
    assert "1 memory matches" in found.text and "Allergic to peanuts" in found.text
    assert "cello" not in found.text and "cats" not in found.text
    expected = await app_.memory.searcher.search_memories(owner.id, "cello sundays")
    cello = await olga.get("/dashboard/memories?q=cello+sundays")
    assert [hit.memory.content for hit in expected] == ["Plays the cello on Sundays"]
    assert "Plays the cello on Sundays" in cello.text
    assert "0 memories match" in (await olga.get("/dashboard/memories?q=zebra")).text


async def test_an_edit_is_a_restated_fact_with_its_history_kept(
    app_: App, owner: Person, logged_in: LogIn
) -> None:
    old = (await app_.memory.memories.remember(owner.id, "Lives in Porto", key="home city")).memory
    olga = await logged_in(owner)
    form = await olga.get(f"/dashboard/memories/{old.id}/edit")
    assert form.status == 200 and "Lives in Porto" in form.text
    saved = await olga.post(f"/dashboard/memories/{old.id}/edit", {"text": "  Lives in   Lisbon "})
    assert (saved.status, saved.location) == (303, "/dashboard/memories")
    [now] = await app_.memory.memories.current(owner.id)
    assert (now.content, now.key, now.kind) == ("Lives in Lisbon", "home city", "fact")
    assert [m.content for m in await app_.memory.memories.history(owner.id, now.id)] == [
        "Lives in Porto"
    ]
    after = await olga.get("/dashboard/memories")
    assert f"Saved as memory #{now.id}" in after.text
    history = await olga.get(f"/dashboard/memories/{now.id}/edit")
    assert "Earlier versions" in history.text and "Lives in Porto" in history.text
    # The old version is history now: it is not edited or forgotten on its own.
    assert (await olga.get(f"/dashboard/memories/{old.id}/edit")).status == 404
    [entry] = await _entries(app_, "memory.changed")
    assert (entry.actor, entry.platform, entry.actor_id) == ("test:own", "dashboard", owner.id)
    assert entry.detail == {"id": now.id, "replaces": [old.id]}


async def test_bad_edits_say_why_and_change_nothing(
    app_: App, owner: Person, logged_in: LogIn
) -> None:
    [memory] = await _remember(app_, owner, "Lives in Porto")
    olga = await logged_in(owner)
    for text, said in (("   ", "needs some text"), ("x" * 2_001, "at most 2000")):
        answer = await olga.post(f"/dashboard/memories/{memory.id}/edit", {"text": text})
        assert answer.location == f"/dashboard/memories/{memory.id}/edit"
        assert said in (await olga.get(answer.location)).text
    assert await app_.memory.memories.current(owner.id) == [memory]
    assert await _entries(app_, "memory.changed") == []


async def test_forgetting_is_forget_with_its_audit_entry(
    app_: App, chat: RecordingChannel, owner: Person, logged_in: LogIn
) -> None:
    by_chat, by_page, kept = await _remember(
        app_, owner, "Owns a red bike", "Owns a cat", "Owns a boat"
    )
    assert "Forgotten" in await say(app_, chat, f"/forget {by_chat.id}", sender="own", chat="own")
    olga = await logged_in(owner)
    answer = await olga.post(f"/dashboard/memories/{by_page.id}/forget")
    assert (answer.status, answer.location) == (303, "/dashboard/memories")
    page = await olga.get("/dashboard/memories")
    assert f"Forgotten: #{by_page.id} Owns a cat" in page.text
    assert [m.id for m in await app_.memory.memories.current(owner.id)] == [kept.id]
    from_page, from_chat = await _entries(app_, "memory.forgotten")
    assert (from_page.actor, from_page.platform, from_page.actor_id) == (
        "test:own",
        "dashboard",
        owner.id,
    )
    assert (from_chat.actor, from_chat.platform) == ("test:own", "test")
    assert from_page.detail == {"what": "memories", "ids": [by_page.id]}
    assert from_chat.detail == {"what": "memories", "ids": [by_chat.id]}


async def test_another_persons_memory_is_not_found_and_stays(
    app_: App, owner: Person, member: Person, logged_in: LogIn
) -> None:
    [olgas] = await _remember(app_, owner, "Olga's secret")
    max_ = await logged_in(member)
    assert (await max_.get(f"/dashboard/memories/{olgas.id}/edit")).status == 404
    assert (await max_.get("/dashboard/memories/999999/edit")).status == 404
    assert (await max_.get("/dashboard/memories/abc/edit")).status == 404
    refused = await max_.post(f"/dashboard/memories/{olgas.id}/edit", {"text": "Max's now"})
    assert refused.status == 404 and "Olga" not in refused.text
    assert (await max_.post(f"/dashboard/memories/{olgas.id}/forget")).status == 404
    assert await app_.memory.memories.current(owner.id) == [olgas]
    assert await app_.memory.memories.current(member.id) == []
    assert await app_.audit.entries() == []


async def test_actions_need_the_form_token(app_: App, owner: Person, logged_in: LogIn) -> None:
    [memory] = await _remember(app_, owner, "Lives in Porto")
    olga = await logged_in(owner)
    for token in ("", "forged"):
        forget = await olga.post(f"/dashboard/memories/{memory.id}/forget", csrf=token)
        edit = await olga.post(f"/dashboard/memories/{memory.id}/edit", {"text": "x"}, csrf=token)
        assert (forget.status, edit.status) == (403, 403)
    async with olga.http.post(f"{olga.base}/dashboard/memories/{memory.id}/forget") as bare:
        assert bare.status == 403  # no token at all
    assert await app_.memory.memories.current(owner.id) == [memory]
