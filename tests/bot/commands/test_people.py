"""The owners' people commands in a chat: /users, /block, /unblock, /role, /remove and
/audit for owners; every owners' command refused to members, with nothing changed."""

from __future__ import annotations

from bot.app import App
from memory.people import BLOCKED, MEMBER, OWNER
from tests.bot.conftest import AppMaker
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI, Reply


async def say(app: App, channel: RecordingChannel, text: str, sender: str) -> str:
    await app.sessions.handle(channel.inbound(text, sender=sender, chat=sender))
    await app.sessions.drain()
    return channel.texts()[-1]


async def test_a_member_cannot_use_any_owners_command(
    make_app: AppMaker, fake_llm: FakeOpenAI
) -> None:
    app, channel = await make_app(owners=["test:boss"])
    fake_llm.add(Reply(text="Hi."))
    await say(app, channel, "hello", "max")
    await say(app, channel, "/users", "boss")
    owners_only = [c.name for c in app.commands.commands if c.owner_only]
    # Whatever is added later is covered too; these are the ones there now.
    assert {"users", "block", "unblock", "role", "remove", "audit"} <= set(owners_only)
    assert {"skill_approve", "skill_reject"} <= set(owners_only)
    for name in owners_only:
        for args in ("", " test:boss", " test:boss member"):
            reply = await say(app, channel, f"/{name}{args}", "max")
            assert reply == f"Only the assistant's owners can use /{name}.", (name, args)
    boss = await app.people.by_account("test", "boss")
    assert boss is not None and (boss.role, boss.status) == (OWNER, "active")
    assert await app.audit.entries() == []
    assert "/block" not in await say(app, channel, "/help", "max")
    assert "/block" in await say(app, channel, "/help", "boss")
    assert len(fake_llm.requests) == 1  # refusals are not turns


async def test_owners_manage_people_in_the_chat(make_app: AppMaker, fake_llm: FakeOpenAI) -> None:
    app, channel = await make_app(owners=["test:boss"], daily_tokens=1000)
    fake_llm.add(Reply(text="Hi."))
    await say(app, channel, "hello", "max")

    listing = await say(app, channel, "/users", "boss")
    lines = listing.splitlines()
    assert lines[0] == "People (2):"
    # Seeded by CLAWLING_OWNERS as "boss"; the name they show came with their message.
    assert lines[1].startswith("• test:boss (Boss) — owner, active; tokens today 0 (unlimited)")
    assert lines[2].startswith("• test:max (Max) — member, active; tokens today ")
    assert " of 1,000, this month " in lines[2]

    assert await say(app, channel, "/block test:max", "boss") == (
        "Blocked test:max (Max): they get no answer from now on."
    )
    max_ = await app.people.by_account("test", "max")
    assert max_ is not None and max_.status == BLOCKED
    assert await say(app, channel, "/unblock test:max", "boss") == (
        "Unblocked test:max (Max): they are answered again."
    )
    assert (
        await say(app, channel, "/role test:max owner", "boss") == "test:max (Max) is now an owner."
    )
    assert (
        await say(app, channel, "/role test:max", "boss") == "Usage: /role platform:id owner|member"
    )
    assert await say(app, channel, "/block max", "boss") == (
        "User 'max' is not platform:id (e.g. telegram:42, slack:U123, console:alice). "
        "/users lists everyone."
    )
    assert await say(app, channel, "/remove test:zed", "boss") == (
        "Nobody has the account test:zed (check the platform:id). /users lists everyone."
    )
    # Max, an owner now, demotes the boss, then cannot leave the assistant ownerless.
    assert (await say(app, channel, "/role test:boss member", "max")).startswith(
        "test:boss (Boss) is now a member. Note: test:boss is in CLAWLING_OWNERS"
    )
    refused = await say(app, channel, "/remove test:max", "max")
    assert refused.startswith("test:max (Max) is the last active owner; the assistant needs one.")
    boss = await app.people.by_account("test", "boss")
    assert boss is not None and boss.role == MEMBER

    audit = (await say(app, channel, "/audit", "max")).splitlines()
    assert audit[0] == "The latest 4 audit entries (newest last; times UTC):"
    assert [line.split(" ", 3)[3] for line in audit[1:]] == [
        "person.blocked test:max — was: active",
        "person.unblocked test:max — was: blocked",
        "person.role test:max — role: owner; was: member",
        "person.role test:boss — role: member; was: owner",
    ]
    assert audit[1].split(" ")[2] == "test:boss"  # who, and the platform is in the name
    about_boss = (await say(app, channel, "/audit test:boss", "max")).splitlines()
    assert len(about_boss) == 5  # the boss acted in three, and was acted on in one
    assert (await say(app, channel, "/audit test:nobody", "max")).startswith("Nobody has")
