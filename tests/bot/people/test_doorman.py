"""The doorman's rules that need no chat platform: the terminal is always let in, a
block counts at once in this process and within seconds in another, channels without
an allowlist admit people they do not know, and removed people are strangers again.
(Allowlists on a real platform: tests/adapters/telegram/test_pairing.py.)"""

from __future__ import annotations

import asyncio

from bot.chat.channels import Inbound
from bot.people.doorman import CACHE_SECONDS
from memory import db
from memory.pairing import Stranger
from memory.people import ACTIVE, BLOCKED, REMOVED, PeopleStore
from tests.bot.conftest import AppMaker


def console(text: str, name: str = "alice") -> Inbound:
    return Inbound(channel="console", chat_id=name, sender_id=name, sender_name=name, text=text)


async def test_the_terminal_is_always_let_in(make_app: AppMaker) -> None:
    app, _ = await make_app()
    person = await app.people.add("console", "alice", "alice")
    await app.people.set_status(person.id, BLOCKED)
    assert (await app.sessions.screen(console("hi"))).admitted


async def test_a_block_counts_at_once_here_and_within_seconds_elsewhere(
    make_app: AppMaker, database_url: str
) -> None:
    app, channel = await make_app()
    await app.sessions.handle(channel.inbound("one"))
    await app.sessions.drain()
    assert channel.texts() == ["echo: one"]
    person = await app.people.by_account("test", "u1")
    assert person is not None and person.status == ACTIVE

    # Another process (its own engine and store) blocks them.
    other_engine = db.create_engine(database_url)
    try:
        await PeopleStore(other_engine).set_status(person.id, BLOCKED)
    finally:
        await other_engine.dispose()
    await asyncio.sleep(CACHE_SECONDS + 0.2)
    assert not await app.sessions.handle(channel.inbound("two"))

    # Unblocked here: counts from the very next message.
    await app.people.set_status(person.id, ACTIVE)
    assert await app.sessions.handle(channel.inbound("three"))
    await app.people.set_status(person.id, BLOCKED)
    assert not await app.sessions.handle(channel.inbound("four"))
    await app.sessions.drain()
    assert channel.texts() == ["echo: one", "echo: three"]
    history = await app.store.load_context(
        (await app.store.find_conversation("test", "c1", "")).id  # type: ignore[union-attr]
    )
    assert [m.content for m in history.messages] == ["one", "echo: one", "three", "echo: three"]


async def test_removed_people_are_strangers_again(make_app: AppMaker) -> None:
    app, channel = await make_app()
    await app.sessions.handle(channel.inbound("one", sender="u2"))
    await app.sessions.drain()
    person = await app.people.by_account("test", "u2")
    assert person is not None
    await app.people.set_status(person.id, REMOVED)

    assert not await app.sessions.handle(channel.inbound("let me back", sender="u2"))
    (reply,) = [t for t in channel.texts() if "code" in t]
    assert "asked my owner" in reply
    assert len(await app.door.pairing.pending()) == 1


async def test_a_command_strangers_may_send_is_answered_without_storing_them(
    make_app: AppMaker,
) -> None:
    app, channel = await make_app()
    await app.sessions.handle(channel.inbound("one", sender="u3"))
    await app.sessions.drain()
    person = await app.people.by_account("test", "u3")
    assert person is not None
    await app.people.set_status(person.id, REMOVED)
    seen: list[tuple[str, str]] = []

    async def link(stranger: Stranger, args: str) -> str:
        seen.append((stranger.label, args))
        return "Linked."

    app.door.doorman.on_stranger_command("link", link)
    assert not await app.sessions.handle(channel.inbound("/link  AB12CD", sender="u3"))
    assert seen == [("test:u3", "AB12CD")]
    assert channel.texts()[-1] == "Linked."
    assert await app.door.pairing.pending() == []
    assert (await app.people.by_account("test", "u3")).status == REMOVED  # type: ignore[union-attr]
