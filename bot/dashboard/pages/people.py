"""People (owners): everyone who may use the assistant with their usage against their
budgets, the strangers waiting to be let in, and one page per person with their usage
chart and what an owner can change (bot/dashboard/pages/people_actions.py).

The rows are `clawling users list`'s (bot/people/listing.py). Nothing here reads a
person's conversations or memories: only their accounts, role, status and token counts.
"""

from __future__ import annotations

import re

from aiohttp import web

from bot.dashboard.access import Viewer
from bot.dashboard.pages import people_actions
from bot.dashboard.site import ROOT, NotFound, Site
from bot.dashboard.usage import usage_view
from bot.people.admin import shown
from bot.people.cost import dollars
from bot.people.listing import of_quota, people_rows, person_row
from bot.people.pairing import shown_name
from memory.people import Person

PEOPLE = f"{ROOT}/people"
_ID = re.compile(r"[0-9]{1,18}")


async def person_at(site: Site, ident: str) -> Person:
    """The person whose id is in the address; NotFound for anything else."""
    # Digits only, and few enough for the id column (a longer number is nobody's id).
    person = await site.parts.people.person(int(ident)) if _ID.fullmatch(ident) else None
    if person is None:
        raise NotFound()
    return person


def install(site: Site) -> None:
    site.menu(PEOPLE, "People", owner=True)
    parts = site.parts
    site.templates.globals.update(
        of_quota=of_quota, shown=shown, shown_name=shown_name, dollars=dollars
    )

    @site.page(PEOPLE, owner=True)
    async def people(request: web.Request, viewer: Viewer) -> web.StreamResponse:
        prices = parts.settings.core.model_prices or None
        rows = await people_rows(parts.budgets, await parts.people.everyone(), parts.now(), prices)
        return site.render(
            request,
            viewer,
            "people.html",
            title="People",
            rows=rows,
            priced=prices is not None,
            requests=await parts.pairing.pending(),
        )

    @site.page(PEOPLE + "/{id}", owner=True)
    async def person(request: web.Request, viewer: Viewer) -> web.StreamResponse:
        someone = await person_at(site, request.match_info["id"])
        prices = parts.settings.core.model_prices or None
        return site.render(
            request,
            viewer,
            "person.html",
            title=shown(someone),
            row=await person_row(parts.budgets, someone, parts.now(), prices),
            view=await usage_view(parts, someone, ident=f"usage-{someone.id}"),
            is_viewer=someone.id == viewer.user_id,
        )

    people_actions.install(site, PEOPLE, person_at)
