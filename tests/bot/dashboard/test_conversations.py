"""The conversations pages over HTTP: the person's chats and their side of groups, paged
messages in their time zone, search scoped as search_history's, nobody else's chats."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from zoneinfo import ZoneInfo

from bot.app import App
from memory.people import Person
from memory.transcripts import Transcripts
from tests.bot.dashboard.harness import Browser
from tests.bot.harness.memory import say
from tests.fakes.chat import RecordingChannel

LogIn = Callable[[Person], Awaitable[Browser]]


def _transcripts(app: App) -> Transcripts:
    assert app.dashboard is not None
    return app.dashboard.parts.transcripts


async def _chat_ids(app: App, person: Person) -> list[int]:
    return [chat.id for chat in await _transcripts(app).chats(person.id)]


async def test_logged_out_the_pages_redirect(
    app_: App, chat: RecordingChannel, owner: Person, browser: Callable[[], Browser]
) -> None:
    await say(app_, chat, "hello", sender="own", chat="own")
    [private] = await _chat_ids(app_, owner)
    stranger = browser()
    for path in ("/dashboard/conversations", f"/dashboard/conversations/{private}"):
        page = await stranger.get(path)
        assert (page.status, page.location) == (303, "/dashboard/welcome"), path


async def test_the_list_shows_private_chats_and_groups_taken_part_in(
    app_: App, chat: RecordingChannel, owner: Person, member: Person, logged_in: LogIn
) -> None:
    await say(app_, chat, "olga private words", sender="own", chat="own")
    await say(app_, chat, "max private words", sender="max", chat="max")
    await say(app_, chat, "max in the group", sender="max", chat="room", direct=False)
    olga = await logged_in(owner)
    listed = await olga.get("/dashboard/conversations")
    assert listed.status == 200
    assert "Private chat" in listed.text and "test:own" in listed.text
    assert "test:room" not in listed.text and "test:max" not in listed.text
    await say(app_, chat, "olga in the group", sender="own", chat="room", direct=False)
    listed = await olga.get("/dashboard/conversations")
    assert listed.text.index("test:room") < listed.text.index("test:own")  # newest first
    [group, private] = await _chat_ids(app_, owner)
    in_group = await olga.get(f"/dashboard/conversations/{group}")
    assert in_group.status == 200 and "olga in the group" in in_group.text
    assert "max in the group" not in in_group.text  # Max's words in the group are his


async def test_a_conversation_is_paged_from_the_newest_in_the_persons_zone(
    app_: App, chat: RecordingChannel, owner: Person, logged_in: LogIn
) -> None:
    for n in range(30):
        await say(app_, chat, f"question {n:02d}", sender="own", chat="own")
    await say(app_, chat, "<script>alert(1)</script> " + "long" * 400, sender="own", chat="own")
    await app_.store.set_timezone(owner.id, "Asia/Tokyo")
    [private] = await _chat_ids(app_, owner)
    olga = await logged_in(owner)
    newest = await olga.get(f"/dashboard/conversations/{private}")
    assert newest.status == 200
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt;" in newest.text
        and "<script>alert" not in newest.text
    )
    assert "question 29" in newest.text and "question 05" not in newest.text
    lines = await _transcripts(app_).lines(owner.id, private, limit=50)
    local = lines.lines[-1].at.astimezone(ZoneInfo("Asia/Tokyo"))
    assert f"{local:%Y-%m-%d %H:%M}" in newest.text
    earlier = f"/dashboard/conversations/{private}?before={lines.lines[0].id}"
    assert earlier in newest.text and "Load earlier messages" in newest.text
    older = await olga.get(earlier)
    assert "question 05" in older.text and "question 29" not in older.text
    assert "Newest messages" in older.text
    # An address that is not a message id shows the newest page, not an error.
    assert "question 29" in (await olga.get(f"/dashboard/conversations/{private}?before=x")).text


async def test_search_is_search_historys_for_the_person(
    app_: App, chat: RecordingChannel, owner: Person, member: Person, logged_in: LogIn
) -> None:
    await say(app_, chat, "the pelican recipe is in the blue book", sender="own", chat="own")
    await say(app_, chat, "my pelican drawing", sender="max", chat="max")
    await say(app_, chat, "pelican in the group from max", sender="max", chat="g", direct=False)
    olga = await logged_in(owner)
    found = await olga.get("/dashboard/conversations?q=pelican")
    assert found.status == 200
    assert "blue book" in found.text
    assert "drawing" not in found.text and "from max" not in found.text
    [private] = await _chat_ids(app_, owner)
    assert f"/dashboard/conversations/{private}?before=" in found.text
    assert "0 messages found" in (await olga.get("/dashboard/conversations?q=zebra")).text


async def test_another_persons_conversation_is_not_found(
    app_: App, chat: RecordingChannel, owner: Person, member: Person, logged_in: LogIn
) -> None:
    await say(app_, chat, "olga's private words", sender="own", chat="own")
    await say(app_, chat, "olga in a group", sender="own", chat="room", direct=False)
    group, private = await _chat_ids(app_, owner)
    max_ = await logged_in(member)
    for path in (
        f"/dashboard/conversations/{private}",
        f"/dashboard/conversations/{group}",  # a group Max never spoke in
        f"/dashboard/conversations/{private}?before=999999",
        "/dashboard/conversations/999999",
        "/dashboard/conversations/abc",
    ):
        page = await max_.get(path)
        assert page.status == 404 and "olga" not in page.text, path
