"""The owners' People page over HTTP: who may open it and press its buttons, and that each
button does exactly what its chat command does (same rules, same audit entry, same
sentence), with the dashboard as the place it was done from."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from bot.app import App
from memory.audit import Entry
from memory.people import ACTIVE, BLOCKED, MEMBER, OWNER, REMOVED, Person
from tests.bot.dashboard.harness import Browser
from tests.bot.dashboard.people import said
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI, Reply

LoggedIn = Callable[[Person], Awaitable[Browser]]


async def status_of(app: App, person: Person) -> tuple[str, str]:
    now = await app.people.person(person.id)
    assert now is not None
    return now.status, now.role


async def latest(app: App, action: str) -> Entry:
    (entry, *_) = await app.audit.entries(actions=(action,))
    return entry


async def chat_says(app: App, chat: RecordingChannel, text: str) -> str:
    """The owner types `text` in their private chat; the assistant's answer."""
    await app.sessions.handle(chat.inbound(text, sender="own", chat="own"))
    await app.sessions.drain()
    return chat.texts("own")[-1]


ACTIONS = ("block", "unblock", "remove", "role", "quota")


async def test_logged_out_pages_redirect_and_actions_answer_401(
    app_: App, member: Person, browser: Callable[[], Browser]
) -> None:
    stranger = browser()
    for path in ("/dashboard/people", f"/dashboard/people/{member.id}"):
        page = await stranger.get(path)
        assert (page.status, page.location) == (303, "/dashboard/welcome")
    for action in ACTIONS:
        answer = await stranger.post(
            f"/dashboard/people/{member.id}/{action}", {"role": OWNER, "daily": "5"}
        )
        assert answer.status == 401
    for action in ("allow", "deny"):
        assert (
            await stranger.post(f"/dashboard/people/requests/{action}", {"code": "X"})
        ).status == 401
    assert await status_of(app_, member) == (ACTIVE, MEMBER)


async def test_members_cannot_open_the_people_pages_or_change_anyone(
    app_: App, owner: Person, member: Person, logged_in: LoggedIn
) -> None:
    max_ = await logged_in(member)
    for path in (
        "/dashboard/people",
        f"/dashboard/people/{owner.id}",
        f"/dashboard/people/{member.id}",
    ):
        page = await max_.get(path)
        assert page.status == 403 and "owners can open this page" in page.text
    home = await max_.get("/dashboard")
    assert 'href="/dashboard/people"' not in home.text  # not in their menu either
    for action in ACTIONS:
        for person in (owner, member):
            answer = await max_.post(
                f"/dashboard/people/{person.id}/{action}", {"role": OWNER, "daily": "5"}
            )
            assert answer.status == 403
    assert await status_of(app_, owner) == (ACTIVE, OWNER)
    assert await status_of(app_, member) == (ACTIVE, MEMBER)
    assert (await app_.people.person(member.id)).daily_tokens is None  # type: ignore[union-attr]
    assert (
        await app_.audit.entries(actions=("person.role", "person.blocked", "quota.changed")) == []
    )


async def test_ids_of_nobody_are_not_found_and_change_nothing(
    app_: App, owner: Person, member: Person, logged_in: LoggedIn
) -> None:
    olga = await logged_in(owner)
    for ident in ("9999", "abc", "-1", "1.0", "99999999999999999999"):
        assert (await olga.get(f"/dashboard/people/{ident}")).status == 404
        for action in ACTIONS:
            answer = await olga.post(f"/dashboard/people/{ident}/{action}", {"role": MEMBER})
            assert answer.status == 404
    assert [p.status for p in await app_.people.everyone()] == [ACTIVE, ACTIVE]


async def test_actions_need_the_sessions_form_token(
    app_: App, owner: Person, member: Person, logged_in: LoggedIn
) -> None:
    olga = await logged_in(owner)
    for token in ("", "forged"):
        for action in ACTIONS:
            answer = await olga.post(
                f"/dashboard/people/{member.id}/{action}", {"role": OWNER, "daily": "5"}, csrf=token
            )
            assert answer.status == 403 and "expired" in answer.text
    assert await status_of(app_, member) == (ACTIVE, MEMBER)
    assert (await app_.people.person(member.id)).daily_tokens is None  # type: ignore[union-attr]


async def test_owners_see_everyone_with_usage_but_not_what_they_said(
    app_: App,
    chat: RecordingChannel,
    fake_llm: FakeOpenAI,
    owner: Person,
    member: Person,
    logged_in: LoggedIn,
) -> None:
    # Max links a second account: both are listed as his.
    await app_.sessions.handle(chat.inbound("/link", sender="max", chat="max"))
    await app_.sessions.drain()
    code = re.search(r"Your link code: (\w+)", chat.texts("max")[-1])
    assert code is not None, chat.texts("max")
    await app_.sessions.handle(chat.inbound(f"/link {code[1]}", sender="maxphone", chat="maxphone"))
    await app_.sessions.drain()
    fake_llm.add(Reply("your secret plan is safe with me"))
    await app_.sessions.handle(chat.inbound("my secret plan: tulips", sender="max", chat="max"))
    await app_.sessions.drain()
    olga = await logged_in(owner)
    listing = await olga.get("/dashboard/people")
    assert listing.status == 200
    for shown in ("Olga", "test:own", "Max", "test:max", "test:maxphone", "member", "active"):
        assert shown in listing.text
    spent = sum(
        call.prompt_tokens + call.completion_tokens
        for call in (await app_.usage.usage(member.id)).models
    )
    assert spent > 0 and f"{spent:,} (unlimited)" in listing.text
    one = await olga.get(f"/dashboard/people/{member.id}")
    assert one.status == 200 and 'role="img"' in one.text
    assert (
        "<code>test:max</code> Max" in one.text
        and "<code>test:maxphone</code> Maxphone" in one.text
    )
    for page in (listing, one):
        assert "tulips" not in page.text and "secret" not in page.text


async def test_blocking_is_the_block_command_and_ends_their_sessions(
    app_: App, chat: RecordingChannel, owner: Person, member: Person, logged_in: LoggedIn
) -> None:
    max_ = await logged_in(member)
    olga = await logged_in(owner)
    line, failed = await said(olga, f"/dashboard/people/{member.id}/block")
    assert not failed and line == "Blocked test:max (Max): they get no answer from now on."
    assert await status_of(app_, member) == (BLOCKED, MEMBER)
    entry = await latest(app_, "person.blocked")
    assert (entry.actor, entry.platform, entry.actor_id) == ("test:own", "dashboard", owner.id)
    assert (entry.subject, entry.subject_id, entry.detail) == (
        "test:max",
        member.id,
        {"was": ACTIVE},
    )

    # Unblocked again (in the chat: the same entry, from the chat), Max's old session
    # stays ended: the block ended it, not only the status check.
    assert await chat_says(app_, chat, "/unblock test:max") == line.replace(
        "Blocked", "Unblocked"
    ).replace("they get no answer from now on", "they are answered again")
    assert (await max_.get("/dashboard")).location == "/dashboard/welcome"
    await chat_says(app_, chat, "/block test:max")
    by_chat = await latest(app_, "person.blocked")
    assert (by_chat.action, by_chat.subject, by_chat.detail) == (
        entry.action,
        entry.subject,
        entry.detail,
    )
    assert (by_chat.actor, by_chat.platform) == ("test:own", "test")

    line, failed = await said(olga, f"/dashboard/people/{member.id}/unblock")
    assert not failed and line.startswith("Unblocked test:max")
    assert await status_of(app_, member) == (ACTIVE, MEMBER)


async def test_removing_is_the_remove_command_and_ends_their_sessions(
    app_: App, owner: Person, member: Person, logged_in: LoggedIn
) -> None:
    max_ = await logged_in(member)
    olga = await logged_in(owner)
    line, failed = await said(olga, f"/dashboard/people/{member.id}/remove")
    assert (
        not failed
        and line == "Removed test:max (Max): they get no answer from now on; their data is kept."
    )
    assert await status_of(app_, member) == (REMOVED, MEMBER)
    entry = await latest(app_, "person.removed")
    assert (entry.actor, entry.platform, entry.subject_id) == ("test:own", "dashboard", member.id)
    await app_.people.set_status(member.id, ACTIVE)  # let in again: the old session stays ended
    assert (await max_.get("/dashboard")).location == "/dashboard/welcome"


async def test_roles_change_and_the_last_owner_is_kept(
    app_: App, owner: Person, member: Person, logged_in: LoggedIn
) -> None:
    olga = await logged_in(owner)
    for action, data in (("block", {}), ("remove", {}), ("role", {"role": MEMBER})):
        line, failed = await said(olga, f"/dashboard/people/{owner.id}/{action}", data)
        assert failed and "is the last active owner" in line
    assert await status_of(app_, owner) == (ACTIVE, OWNER)
    line, failed = await said(olga, f"/dashboard/people/{member.id}/role", {"role": "boss"})
    assert failed and line == "The role must be owner or member, not 'boss'."

    line, failed = await said(olga, f"/dashboard/people/{member.id}/role", {"role": OWNER})
    assert not failed and line == "test:max (Max) is now an owner."
    assert await status_of(app_, member) == (ACTIVE, OWNER)
    entry = await latest(app_, "person.role")
    assert (entry.actor, entry.platform, entry.detail) == (
        "test:own",
        "dashboard",
        {"role": OWNER, "was": MEMBER},
    )
    # Now Olga may step down: she is sent to the overview, her People page closed to her.
    answer = await olga.post(f"/dashboard/people/{owner.id}/role", {"role": MEMBER})
    assert (answer.status, answer.location) == (303, "/dashboard")
    assert await status_of(app_, owner) == (ACTIVE, MEMBER)
    assert (await olga.get("/dashboard/people")).status == 403


async def test_budgets_are_set_as_quota_sets_them(
    app_: App, chat: RecordingChannel, owner: Person, member: Person, logged_in: LoggedIn
) -> None:
    by_chat = await chat_says(app_, chat, "/quota test:max --daily 4000 --monthly 90000")
    olga = await logged_in(owner)
    line, failed = await said(
        olga, f"/dashboard/people/{member.id}/quota", {"daily": "5,000", "monthly": "default"}
    )
    assert not failed
    assert line == by_chat.replace("4,000", "5,000").replace(
        "monthly budget of 90,000 tokens", "monthly budget of unlimited"
    )
    person = await app_.people.person(member.id)
    assert person is not None and (person.daily_tokens, person.monthly_tokens) == (5_000, None)
    first, second = await app_.audit.entries(actions=("quota.changed",))
    assert (first.platform, second.platform) == ("dashboard", "test")
    assert first.detail == {
        "daily": "5000",
        "monthly": "default",
        "daily_before": "4000",
        "monthly_before": "90000",
    }
    assert first.detail.keys() == second.detail.keys()

    # An empty field keeps its budget; words are refused with /quota's sentence.
    line, failed = await said(olga, f"/dashboard/people/{member.id}/quota", {"daily": "0"})
    assert not failed and "daily budget of unlimited" in line
    line, failed = await said(olga, f"/dashboard/people/{member.id}/quota", {"daily": "lots"})
    assert failed and line == (
        "The daily budget takes a number of tokens, 0 for unlimited, or default (got 'lots')"
    )
    line, failed = await said(
        olga, f"/dashboard/people/{member.id}/quota", {"monthly": "99999999999999999999"}
    )
    assert (
        failed
        and line == "The monthly budget can be at most 1,000,000,000,000 tokens (0 for unlimited)"
    )
    assert await chat_says(app_, chat, "/quota test:max --monthly 99999999999999999999") == (
        "--monthly can be at most 1,000,000,000,000 tokens (0 for unlimited)"
    )
    person = await app_.people.person(member.id)
    assert person is not None and (person.daily_tokens, person.monthly_tokens) == (0, None)
