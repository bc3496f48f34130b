"""Audit (owners): the audit trail, newest first, filtered by person (`platform:id`: what
they did and what was done to them, by any of their accounts), action and since (a date or
an age, read as `clawling audit --since` reads it), a page at a time with a link to the
older entries. The filters are a plain GET form, so the page works without JavaScript and
a filtered view is a link one can keep."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from aiohttp import web

from bot.dashboard.access import Viewer
from bot.dashboard.site import ROOT, Site
from bot.people.trail import detail_text, since_time, trail_of
from memory.audit import CLI, SYSTEM, Entry
from memory.history import BadUserName

PATH = f"{ROOT}/audit"
PAGE = 50


@dataclass(frozen=True)
class Row:
    at: str
    actor: str
    actor_name: str  # the person's name today, when the account is someone's
    via: str  # the platform, when the actor's name does not say it
    action: str
    subject: str
    subject_name: str
    detail: str


@dataclass(frozen=True)
class Filters:
    person: str = ""
    action: str = ""
    since: str = ""

    def link(self, before: int | None = None) -> str:
        query = {k: v for k, v in vars(self).items() if v}
        if before is not None:
            query["before"] = str(before)
        return f"{PATH}?{urlencode(query)}" if query else PATH


def install(site: Site) -> None:
    parts = site.parts
    site.menu(PATH, "Audit", owner=True)

    def row(entry: Entry, names: dict[str, str]) -> Row:
        said = entry.actor.startswith(f"{entry.platform}:") or entry.platform in (CLI, SYSTEM)
        subject = entry.subject or ""
        return Row(
            at=site.when(entry.at),
            actor=entry.actor,
            actor_name=names.get(entry.actor, ""),
            via="" if said else entry.platform,
            action=entry.action,
            subject=subject,
            subject_name=names.get(subject, ""),
            detail=detail_text(entry),
        )

    @site.page(PATH, owner=True)
    async def audit(request: web.Request, viewer: Viewer) -> web.StreamResponse:
        query = request.query
        filters = Filters(
            person=query.get("person", "").strip(),
            action=query.get("action", "").strip(),
            since=query.get("since", "").strip(),
        )
        problems: list[str] = []
        user_id: int | None = None
        labels: tuple[str, ...] = ()
        if filters.person:
            try:
                user_id, labels = await trail_of(parts.people, filters.person)
            except BadUserName as exc:
                problems.append(f"Person: {exc}.")
        start: datetime | None = None
        if filters.since:
            try:
                start = since_time(filters.since, parts.now())
            except ValueError as exc:
                problems.append(f"Since: {exc}.")
        before_text = query.get("before", "")
        before = int(before_text) if before_text.isdigit() else None
        if before_text and before is None:
            problems.append(f"The page {before_text!r} is not an entry number.")
        entries: list[Entry] = []
        if not problems:
            entries = await parts.audit.entries(
                user_id=user_id,
                labels=labels,
                since=start,
                actions=(filters.action,) if filters.action else (),
                limit=PAGE + 1,
                before=before,
            )
        everyone = await parts.people.everyone()
        # Entries name accounts; a name only where it says more than the account's id.
        names = {
            a.label: p.name
            for p in everyone
            for a in p.accounts
            if p.name not in ("", a.external_id)
        }
        older = filters.link(entries[PAGE - 1].id) if len(entries) > PAGE else None
        return site.render(
            request,
            viewer,
            "audit.html",
            title="Audit",
            status=400 if problems else 200,
            filters=filters,
            problems=problems,
            rows=[row(e, names) for e in entries[:PAGE]],
            older=older,
            newest=filters.link() if before is not None else None,
            filtered=any(vars(filters).values()),
            actions=await parts.audit.action_names(),
            people=sorted(a.label for p in everyone for a in p.accounts),
            timezone=parts.settings.core.timezone or "UTC",
        )
