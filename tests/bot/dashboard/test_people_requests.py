"""Strangers' requests on the People page: Approve and Deny are /allow and /deny CODE
(`Pairing.decide`): the same sentences, the same audit entries, the same messages to the
stranger, with the dashboard as the place it was done from."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from bot.app import App
from bot.settings import Settings
from memory.people import ACTIVE, MEMBER, Person
from tests.bot.dashboard.harness import Browser
from tests.bot.dashboard.people import said, started_with_private_chats, stranger_writes
from tests.fakes.chat import RecordingChannel

LoggedIn = Callable[[Person], Awaitable[Browser]]


@pytest.fixture
async def board(board_settings: Settings) -> AsyncIterator[tuple[App, RecordingChannel]]:
    app, channel = await started_with_private_chats(board_settings)
    try:
        yield app, channel
    finally:
        await app.close()


async def told(chat: RecordingChannel, who: str, text: str) -> None:
    for _ in range(100):
        if text in chat.texts(who):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{who} was never told {text!r}: {chat.texts(who)}")


async def test_an_owner_approves_a_stranger_as_allow_does(
    app_: App, chat: RecordingChannel, owner: Person, logged_in: LoggedIn
) -> None:
    code = await stranger_writes(app_, chat, "stranger1")
    olga = await logged_in(owner)
    listing = await olga.get("/dashboard/people")
    assert code in listing.text and "Stranger1" in listing.text and "test:stranger1" in listing.text

    line, failed = await said(olga, "/dashboard/people/requests/allow", {"code": code})
    assert not failed
    assert line == "Let in Stranger1 (test:stranger1). I've told them; they can talk to me now."
    person = await app_.people.by_account("test", "stranger1")
    assert person is not None and (person.status, person.role) == (ACTIVE, MEMBER)
    (entry,) = await app_.audit.entries(actions=("pairing.allowed",))
    assert (entry.actor, entry.platform, entry.actor_id) == ("test:own", "dashboard", owner.id)
    assert (entry.subject, entry.subject_id) == ("test:stranger1", person.id)
    await told(chat, "stranger1", "You're in! My owner let you in. Send me a message any time.")
    assert code not in (await olga.get("/dashboard/people")).text  # no longer waiting

    # The same code again: /allow's own answer, and audited as a failed code.
    line, failed = await said(olga, "/dashboard/people/requests/allow", {"code": code})
    assert failed and code in line
    (failure,) = await app_.audit.entries(actions=("code.failed",))
    assert (failure.actor, failure.platform, failure.detail["reason"]) == (
        "test:own",
        "dashboard",
        "used",
    )


async def test_an_owner_turns_a_stranger_down_as_deny_does(
    app_: App, chat: RecordingChannel, owner: Person, logged_in: LoggedIn
) -> None:
    code = await stranger_writes(app_, chat, "stranger2")
    olga = await logged_in(owner)
    line, failed = await said(olga, "/dashboard/people/requests/deny", {"code": code})
    assert not failed and line == "Turned down Stranger2 (test:stranger2). I've told them."
    assert await app_.people.by_account("test", "stranger2") is None
    (entry,) = await app_.audit.entries(actions=("pairing.denied",))
    assert (entry.actor, entry.platform, entry.subject) == (
        "test:own",
        "dashboard",
        "test:stranger2",
    )
    await told(chat, "stranger2", "Sorry, my owner decided not to let you in.")


async def test_a_code_nobody_has_is_refused_and_changes_nothing(
    app_: App, chat: RecordingChannel, owner: Person, logged_in: LoggedIn
) -> None:
    code = await stranger_writes(app_, chat, "stranger3")
    olga = await logged_in(owner)
    for action in ("allow", "deny"):
        line, failed = await said(
            olga, f"/dashboard/people/requests/{action}", {"code": "ZZZZ2222"}
        )
        assert failed and line.startswith("No request has the code ZZZZ2222.")
    assert [r.code for r in await app_.door.pairing.pending()] == [code]
    assert await app_.people.by_account("test", "stranger3") is None


async def test_members_and_forged_forms_cannot_decide(
    app_: App, chat: RecordingChannel, owner: Person, member: Person, logged_in: LoggedIn
) -> None:
    code = await stranger_writes(app_, chat, "stranger4")
    max_ = await logged_in(member)
    olga = await logged_in(owner)
    for action in ("allow", "deny"):
        assert (
            await max_.post(f"/dashboard/people/requests/{action}", {"code": code})
        ).status == 403
        for token in ("", "forged"):
            answer = await olga.post(
                f"/dashboard/people/requests/{action}", {"code": code}, csrf=token
            )
            assert answer.status == 403
    assert [r.code for r in await app_.door.pairing.pending()] == [code]
    assert await app_.people.by_account("test", "stranger4") is None
