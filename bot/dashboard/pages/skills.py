"""Skills (owners): the installed skills (bundled and the deployment's, with what the
scanner found), the skills people had approved, and the drafts waiting for an owner, each
with its SKILL.md and findings, to approve or reject through the chat's own SkillReview
(bot/commands/skills.py): the same checks and the same audit entries as /skill_approve
and /skill_reject."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from multidict import MultiDictProxy

from bot.commands.skills import SkillReview
from bot.dashboard.access import Viewer
from bot.dashboard.site import ROOT, Done, NotFound, Site
from bot.people.admin import shown
from memory.skills import UserSkillRecord
from skills.catalog import unmet
from skills.loader import load_text
from skills.model import SEVERITY_ORDER, USER, Finding, SkillReport

PATH = f"{ROOT}/skills"


@dataclass(frozen=True)
class Installed:
    name: str
    source: str
    location: str
    description: str
    usable: bool
    missing: list[str]  # what this deployment lacks for it
    findings: list[Finding]


@dataclass(frozen=True)
class Approved:
    name: str
    person: str
    description: str
    usable: bool


@dataclass(frozen=True)
class Draft:
    id: int
    name: str
    person: str
    description: str
    content: str  # the whole SKILL.md: skill text, not anyone's conversation
    passes: bool  # the scanner finds nothing high: approving would make it active
    findings: list[Finding]


def _ordered(findings: tuple[Finding, ...]) -> list[Finding]:
    return sorted(findings, key=lambda f: (-SEVERITY_ORDER[f.severity], f.file, f.line))


def install(site: Site) -> None:
    parts = site.parts
    catalog, store = parts.skills, parts.user_skills
    review = SkillReview(catalog, store, parts.trail)
    site.menu(PATH, "Skills", owner=True)

    async def names() -> dict[int, str]:
        return {p.id: shown(p) for p in await parts.people.everyone()}

    def person(known: dict[int, str], user_id: int) -> str:
        return known.get(user_id, f"user:{user_id}")

    def installed(report: SkillReport) -> Installed:
        skill = report.skill
        missing = [] if skill is None else unmet(skill, catalog.capabilities)
        return Installed(
            name=report.label,
            source=skill.source if skill is not None else "unreadable",
            location=report.location,
            description=skill.one_line if skill is not None else "",
            usable=report.ok and not missing,
            missing=missing,
            findings=_ordered(report.findings),
        )

    def draft(record: UserSkillRecord, known: dict[int, str]) -> Draft:
        report = load_text(record.content, USER, f"user skill #{record.id}", catalog.known_tools)
        return Draft(
            id=record.id,
            name=record.name,
            person=person(known, record.user_id),
            description=record.description,
            content=record.content,
            passes=report.ok,
            findings=_ordered(report.findings),
        )

    @site.page(PATH, owner=True)
    async def skills(request: web.Request, viewer: Viewer) -> web.StreamResponse:
        known = await names()
        approved = [
            Approved(
                r.name,
                person(known, r.user_id),
                r.description,
                catalog.check_user_skill(r) is not None,
            )
            for r in await store.approved()
        ]
        return site.render(
            request,
            viewer,
            "skills.html",
            title="Skills",
            drafts=[draft(r, known) for r in await store.waiting()],
            installed=sorted(
                (installed(r) for r in catalog.reports), key=lambda s: (not s.usable, s.name)
            ),
            approved=approved,
        )

    async def waiting(form: MultiDictProxy[str]) -> UserSkillRecord:
        """The draft the form names, if it still waits (else 404, like an unknown id)."""
        wanted = form.get("draft", "")
        for record in await store.waiting() if wanted.isdigit() else []:
            if record.id == int(wanted):
                return record
        raise NotFound

    @site.action(f"{PATH}/approve", owner=True)
    async def approve(_request: web.Request, viewer: Viewer, form: MultiDictProxy[str]) -> Done:
        record = await waiting(form)
        actor = await site.actor(viewer)
        decision = await review.approve(record, actor)
        return Done(PATH, decision.message, failed=not decision.done)

    @site.action(f"{PATH}/reject", owner=True)
    async def reject(_request: web.Request, viewer: Viewer, form: MultiDictProxy[str]) -> Done:
        record = await waiting(form)
        actor = await site.actor(viewer)
        decision = await review.reject(record, actor)
        return Done(PATH, decision.message, failed=not decision.done)
