"""The rules of administering people (bot/people/admin.py) on SQLite and PostgreSQL:
block, unblock, role and remove change what SQL says at once, the last active owner is
always kept, remove with forget erases like /forget_me, and each change is audited."""

from __future__ import annotations

import pytest

from bot.app import App
from bot.people.admin import NotFound, Refused, find
from bot.people.trail import CLI_ACTOR
from memory.audit import Actor
from memory.db.sqltypes import utcnow
from memory.people import ACTIVE, BLOCKED, MEMBER, OWNER, REMOVED, Person
from tests.bot.conftest import AppMaker
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI, Reply


async def person(app: App, label: str) -> Person:
    return await find(app.people, label)


async def test_block_unblock_and_roles_are_stored_and_audited(app: App) -> None:
    owner = await app.people.add("telegram", "1", "Olga", role=OWNER)
    member = await app.people.add("slack", "U2", "Max")
    actor = Actor(owner.label, "telegram", owner.id)

    assert (
        await app.admin.block(actor, member)
        == "Blocked slack:U2 (Max): they get no answer from now on."
    )
    assert (await person(app, "slack:U2")).status == BLOCKED
    assert (
        await app.admin.block(actor, await person(app, "slack:U2"))
        == "slack:U2 (Max) is already blocked."
    )
    assert await app.admin.unblock(CLI_ACTOR, await person(app, "slack:U2")) == (
        "Unblocked slack:U2 (Max): they are answered again."
    )
    assert await app.admin.set_role(CLI_ACTOR, await person(app, "slack:U2"), "Owner") == (
        "slack:U2 (Max) is now an owner."
    )
    assert (await person(app, "slack:U2")).role == OWNER

    entries = list(reversed(await app.audit.entries()))
    assert [(e.action, e.actor, e.platform, e.subject) for e in entries] == [
        ("person.blocked", "telegram:1", "telegram", "slack:U2"),
        ("person.unblocked", "cli", "cli", "slack:U2"),
        ("person.role", "cli", "cli", "slack:U2"),
    ]
    assert entries[2].detail == {"role": OWNER, "was": MEMBER}
    assert entries[0].actor_id == owner.id and entries[0].subject_id == member.id


async def test_the_last_active_owner_cannot_be_blocked_removed_or_demoted(app: App) -> None:
    owner = await app.people.add("telegram", "1", "Olga", role=OWNER)
    for change in (
        app.admin.block(CLI_ACTOR, owner),
        app.admin.remove(CLI_ACTOR, owner),
        app.admin.remove(CLI_ACTOR, owner, forget=True),
        app.admin.set_role(CLI_ACTOR, owner, MEMBER),
    ):
        with pytest.raises(Refused, match=r"telegram:1 \(Olga\) is the last active owner"):
            await change
    assert (await person(app, "telegram:1")).status == ACTIVE
    assert await app.audit.entries() == []

    # A blocked owner is no active owner: the other one is still the last.
    second = await app.people.add("slack", "U9", "Sam", role=OWNER)
    await app.admin.block(CLI_ACTOR, second)
    with pytest.raises(Refused):
        await app.admin.set_role(CLI_ACTOR, await person(app, "telegram:1"), MEMBER)
    await app.admin.unblock(CLI_ACTOR, await person(app, "slack:U9"))
    assert "is now a member" in await app.admin.set_role(
        CLI_ACTOR, await person(app, "telegram:1"), MEMBER
    )
    assert [p.label for p in await app.people.owners()] == ["slack:U9"]


async def test_bad_and_unknown_names_and_roles_say_so(app: App) -> None:
    with pytest.raises(NotFound, match="is not platform:id"):
        await find(app.people, "Olga")
    with pytest.raises(NotFound, match="Nobody has the account telegram:404"):
        await find(app.people, "telegram:404")
    someone = await app.people.add("telegram", "5", "Eve")
    with pytest.raises(NotFound, match="The role must be owner or member, not .admin."):
        await app.admin.set_role(CLI_ACTOR, someone, "admin")


async def say(app: App, channel: RecordingChannel, text: str, sender: str) -> str:
    await app.sessions.handle(channel.inbound(text, sender=sender, chat=sender))
    await app.sessions.drain()
    return channel.texts()[-1]


async def test_remove_with_forget_erases_exactly_what_forget_me_erases(
    make_app: AppMaker, fake_llm: FakeOpenAI
) -> None:
    app, channel = await make_app(owners=["cli:root"])
    for sender in ("ann", "bob"):
        fake_llm.add(Reply(tool_calls=[("remember", {"text": f"{sender} likes tea"})]))
        fake_llm.add(Reply(text="Noted."))
        await say(app, channel, "remember that I like tea", sender)
        await say(app, channel, "and hello again", sender)
    ann = await person(app, "test:ann")
    bob = await person(app, "test:bob")
    kept = await app.memory.privacy.export(ann.id, utcnow())
    assert kept["memories"] and kept["messages"] and kept["model_usage"]

    await say(app, channel, "/forget_me", "ann")
    await say(app, channel, "/forget_me yes", "ann")
    reply = await app.admin.remove(CLI_ACTOR, bob, forget=True)
    assert reply.startswith(
        "Removed test:bob (Bob): they get no answer from now on, and their data"
    )

    def without_ids(document: dict[str, object]) -> dict[str, object]:
        return {k: v for k, v in document.items() if k not in ("exported_at", "user", "identities")}

    ann_left = await app.memory.privacy.export(ann.id, utcnow())
    bob_left = await app.memory.privacy.export(bob.id, utcnow())
    # /forget_me answered ann after erasing, so only its reply is left on her side.
    assert bob_left["memories"] == ann_left["memories"] == []
    assert bob_left["summaries"] == ann_left["summaries"] == []
    assert bob_left["model_usage"] == ann_left["model_usage"] == []
    assert bob_left["messages"] == []
    assert without_ids(bob_left) == {**without_ids(ann_left), "messages": []}
    assert bob_left["identities"] == [
        {"platform": "test", "id": "bob", "name": "Bob", "username": None, "linked_at": None}
    ]
    assert (await person(app, "test:bob")).status == REMOVED
    actions = [e.action for e in reversed(await app.audit.entries(user_id=bob.id))]
    assert actions[-2:] == ["person.removed", "person.forgotten"]
    [forgot_me] = await app.audit.entries(actions=("memory.forgotten",))
    assert forgot_me.actor == "test:ann" and forgot_me.detail["what"] == "everything"
