"""The Audit page: owners only; the trail newest first, filtered by person, action and
since (read as `clawling audit --since` reads it), a page at a time."""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable

from bot.app import App
from bot.dashboard.pages.audit import PAGE
from bot.people.trail import person_actor
from memory.audit import Actor
from memory.people import Person
from tests.bot.dashboard.harness import Browser

AUDIT = "/dashboard/audit"
_ROW = re.compile(r"<tr>\s*<td class=\"nowrap\".*?</tr>", re.S)


def rows(text: str) -> list[str]:
    """Each entry's row as plain text, top to bottom."""
    return [" ".join(re.sub(r"<[^>]+>", " ", html.unescape(r)).split()) for r in _ROW.findall(text)]


async def test_only_owners_read_the_trail(
    app_: App,
    owner: Person,
    member: Person,
    browser: Callable[[], Browser],
    logged_in: Callable[[Person], Awaitable[Browser]],
) -> None:
    await app_.trail.record("person.blocked", person_actor(owner, "test"), subject=member)
    assert (await browser().get(AUDIT)).location == "/dashboard/welcome"
    refused = await (await logged_in(member)).get(f"{AUDIT}?person=test:max")
    assert refused.status == 403 and "person.blocked" not in refused.text
    page = await (await logged_in(owner)).get(AUDIT)
    assert rows(page.text)[0].endswith("test:own (Olga) person.blocked test:max (Max)")


async def test_filters_by_person_action_and_since(
    app_: App, owner: Person, member: Person, logged_in: Callable[[Person], Awaitable[Browser]]
) -> None:
    trail = app_.trail
    olga, max_ = person_actor(owner, "test"), person_actor(member, "test")
    await trail.record("skill.drafted", max_, skill="weekly-review")
    await trail.record("person.role", olga, subject=member, role="owner")
    await trail.record("pairing.denied", Actor("cli", "cli"), code="tg:99", account="telegram:99")
    await trail.record("memory.exported", Actor("slack:U1", "slack"))  # not a person of ours
    browser = await logged_in(owner)

    everything = rows((await browser.get(AUDIT)).text)
    assert [r.split()[2:] for r in everything] == [
        ["slack:U1", "memory.exported"],
        ["cli", "pairing.denied", "code:", "tg:99;", "account:", "telegram:99"],
        ["test:own", "(Olga)", "person.role", "test:max", "(Max)", "role:", "owner"],
        ["test:max", "(Max)", "skill.drafted", "skill:", "weekly-review"],
    ]
    about_max = rows((await browser.get(f"{AUDIT}?person=test:max")).text)
    assert [r.split()[4] for r in about_max] == ["person.role", "skill.drafted"]
    # An account nobody has is matched by its text.
    slack = rows((await browser.get(f"{AUDIT}?person=slack:U1")).text)
    assert [r.split()[3] for r in slack] == ["memory.exported"]
    roles = (await browser.get(f"{AUDIT}?action=person.role")).text
    assert [r.split()[4] for r in rows(roles)] == ["person.role"]
    assert '<option value="person.role" selected>' in roles
    both = rows((await browser.get(f"{AUDIT}?person=test:own&action=skill.drafted")).text)
    assert both == []
    assert len(rows((await browser.get(f"{AUDIT}?since=1h")).text)) == 4
    future = await browser.get(f"{AUDIT}?since=2999-01-01")
    assert rows(future.text) == [] and "No entries match these filters." in future.text


async def test_bad_filters_are_named_and_kept_in_the_form(
    app_: App, owner: Person, logged_in: Callable[[Person], Awaitable[Browser]]
) -> None:
    await app_.trail.record("person.blocked", person_actor(owner, "test"))
    browser = await logged_in(owner)
    page = await browser.get(f"{AUDIT}?person=max&since=last+tuesday&before=x")
    assert page.status == 400 and rows(page.text) == []
    text = html.unescape(page.text)
    assert "Person: " in text and "platform:id" in text
    assert "Since: 'last tuesday' is neither a date (2026-12-01) nor an age (24h, 7d)." in text
    assert "The page 'x' is not an entry number." in text
    assert 'value="max"' in page.text and 'value="last tuesday"' in page.text


async def test_the_trail_is_read_a_page_at_a_time(
    app_: App, owner: Person, logged_in: Callable[[Person], Awaitable[Browser]]
) -> None:
    olga = person_actor(owner, "test")
    for number in range(PAGE + 7):
        await app_.trail.record("tool.called", olga, tool="web_search", n=number)
    await app_.trail.record("person.blocked", olga)
    browser = await logged_in(owner)

    first = await browser.get(f"{AUDIT}?action=tool.called")
    shown = rows(first.text)
    assert len(shown) == PAGE and shown[0].endswith(f"n: {PAGE + 6}")
    older = re.search(r'<a href="([^"]+)" rel="next">Older entries</a>', first.text)
    assert older is not None
    link = html.unescape(older[1])
    assert link.startswith(f"{AUDIT}?action=tool.called&before=")
    second = await browser.get(link)
    rest = rows(second.text)
    assert [r.rsplit("n: ", 1)[1] for r in rest] == [str(n) for n in range(6, -1, -1)]
    assert "Older entries" not in second.text and "Back to the newest" in second.text
