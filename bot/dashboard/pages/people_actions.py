"""What owners change on the People page, each through the same function as its chat
command, so the rules (the last owner kept), the audit entries and the messages are the
command's own:

- let a stranger in or turn them down: `Pairing.decide` (/allow, /deny CODE);
- block, unblock, make owner or member, remove: `PeopleAdmin` (/block, /unblock, /role,
  /remove); blocking or removing also ends the person's dashboard sessions at once;
- the daily and monthly budgets: `QuotaGate.change` with /quota's parsing (a number,
  0 for unlimited, `default`; a field left empty keeps its budget).

The audit's actor is the owner, as `Actor(<their first account>, "dashboard", id)`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from multidict import MultiDictProxy

from bot.commands.quota import QuotaInputError, changed_text, parse_limit
from bot.dashboard.access import Viewer
from bot.dashboard.site import ROOT, Done, Site
from bot.people.admin import NotFound as NoSuchRole
from bot.people.admin import Refused
from bot.people.pairing import Decision
from bot.people.quota import KEEP, Limit
from memory.audit import Actor
from memory.people import ACTIVE, Person

PersonAt = Callable[[Site, str], Awaitable[Person]]
Change = Callable[[Actor, Person, MultiDictProxy[str]], Awaitable[str]]


def install(site: Site, people: str, person_at: PersonAt) -> None:
    parts = site.parts

    async def decide(viewer: Viewer, form: MultiDictProxy[str], *, allow: bool) -> Done:
        by = Decision(await site.actor(viewer), viewer.user_id, "/allow" if allow else "/deny")
        answer = await parts.pairing.decide(form.get("code", ""), allow=allow, by=by)
        return Done(people, answer.text, failed=not answer.done)

    @site.action(f"{people}/requests/allow", owner=True)
    async def allow(_request: web.Request, viewer: Viewer, form: MultiDictProxy[str]) -> Done:
        return await decide(viewer, form, allow=True)

    @site.action(f"{people}/requests/deny", owner=True)
    async def deny(_request: web.Request, viewer: Viewer, form: MultiDictProxy[str]) -> Done:
        return await decide(viewer, form, allow=False)

    def change(name: str, run: Change) -> None:
        """`POST people/<id>/<name>`: one change to one person, back to their page."""

        @site.action(f"{people}/{{id}}/{name}", owner=True)
        async def act(request: web.Request, viewer: Viewer, form: MultiDictProxy[str]) -> Done:
            person = await person_at(site, request.match_info["id"])
            page = f"{people}/{person.id}"
            try:
                said = await run(await site.actor(viewer), person, form)
            except (Refused, NoSuchRole, QuotaInputError) as exc:
                return Done(page, str(exc), failed=True)
            after = await parts.people.person(person.id)
            if after is None or after.status != ACTIVE:
                await site.access.log_out_everywhere(person.id)
            if person.id == viewer.user_id and (after is None or not after.is_owner):
                page = ROOT  # no longer an owner: their own People page is closed to them
            return Done(page, said)

    async def block(by: Actor, person: Person, _form: MultiDictProxy[str]) -> str:
        return await parts.admin.block(by, person)

    async def unblock(by: Actor, person: Person, _form: MultiDictProxy[str]) -> str:
        return await parts.admin.unblock(by, person)

    async def remove(by: Actor, person: Person, _form: MultiDictProxy[str]) -> str:
        return await parts.admin.remove(by, person)

    async def role(by: Actor, person: Person, form: MultiDictProxy[str]) -> str:
        return await parts.admin.set_role(by, person, form.get("role", ""))

    async def quota(by: Actor, person: Person, form: MultiDictProxy[str]) -> str:
        daily = _limit(form, "daily")
        monthly = _limit(form, "monthly")
        if daily is KEEP and monthly is KEEP:
            return "Nothing to change: both budgets were left empty."
        limits = await parts.quota.change(by, person, daily=daily, monthly=monthly)
        return changed_text(person, limits)

    for name, run in (
        ("block", block),
        ("unblock", unblock),
        ("remove", remove),
        ("role", role),
        ("quota", quota),
    ):
        change(name, run)


def _limit(form: MultiDictProxy[str], kind: str) -> Limit:
    text = form.get(kind, "").strip()
    return KEEP if not text else parse_limit(text, f"The {kind} budget")
