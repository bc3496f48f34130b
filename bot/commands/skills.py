"""Chat commands for skills: /skills [NAME], and for owners /skill_approve and
/skill_reject.

A drafted skill (the `create_skill` tool) waits for an owner, whoever drafted it: a
skill is instructions the assistant follows, so approving one is the owners' call, like
everything else that changes what the assistant does. Owners see everyone's waiting
drafts in /skills; `/skill_approve NAME` takes the one draft of that name, and when
several people drafted one, `/skill_approve platform:id NAME` says whose.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.commands.registry import Command, CommandContext, CommandRegistry
from bot.people.admin import NotFound, find, shown
from bot.people.trail import Trail
from memory.audit import Actor
from memory.people import Person
from memory.skills import ACTIVE, PENDING, UserSkillRecord, UserSkillStore
from skills.catalog import SkillCatalog, unmet
from skills.loader import load_text
from skills.model import HIGH, USER


@dataclass(frozen=True)
class Decision:
    """What deciding a draft did: the sentence for the owner, and whether the decision
    asked for was made (False: it was already decided, or rejected instead)."""

    message: str
    done: bool = False


class SkillReview:
    """Approving and rejecting drafted skills, for /skill_approve, /skill_reject and the
    dashboard's Skills page alike: the checks, the decision and its audit entry.

    Approving checks the draft again first: a file skill that took its name since, or a
    safety check that now finds it high, rejects it instead (with the reason in the trail).
    """

    def __init__(self, catalog: SkillCatalog, store: UserSkillStore, trail: Trail) -> None:
        self._catalog = catalog
        self._store = store
        self._trail = trail

    async def approve(self, record: UserSkillRecord, actor: Actor) -> Decision:
        name = record.name
        if self._catalog.file_skill_named(name) is not None:
            if await self._store.decide(record.id, approve=False):
                await self._decided(record, actor, "skill.rejected", why=_NAME_TAKEN)
            return Decision(
                f"{name!r} is now the name of an installed skill; the draft was rejected."
            )
        report = load_text(
            record.content, USER, f"user skill #{record.id}", self._catalog.known_tools
        )
        if not report.ok:
            problems = "; ".join(str(f) for f in report.findings if f.severity == HIGH)
            if await self._store.decide(record.id, approve=False):
                await self._decided(
                    record, actor, "skill.rejected", why=f"safety check: {problems}"
                )
            return Decision(
                f"The draft {name!r} failed the safety check and was rejected: {problems}"
            )
        if not await self._store.decide(record.id, approve=True):
            return Decision(f"The draft {name!r} was already decided.")
        await self._decided(record, actor, "skill.approved")
        if record.user_id == actor.user_id:
            return Decision(f"Approved: I'll use the skill {name!r} from now on.", done=True)
        person = await self._trail.people.person(record.user_id)
        whose = shown(person) if person is not None else "its author"
        return Decision(
            f"Approved: I'll use the skill {name!r} for {whose} from now on.", done=True
        )

    async def reject(self, record: UserSkillRecord, actor: Actor) -> Decision:
        if not await self._store.decide(record.id, approve=False):
            return Decision(f"No draft named {record.name!r} waits for approval.")
        await self._decided(record, actor, "skill.rejected")
        return Decision(f"Rejected the draft {record.name!r}; it won't be used.", done=True)

    async def _decided(
        self, record: UserSkillRecord, actor: Actor, action: str, **detail: object
    ) -> None:
        drafter = await self._trail.people.person(record.user_id)
        await self._trail.record(action, actor, subject=drafter, skill=record.name, **detail)


_NAME_TAKEN = "an installed skill has the name"


def skill_commands(
    registry: CommandRegistry, catalog: SkillCatalog, store: UserSkillStore, trail: Trail
) -> None:
    """Register the skill commands."""
    people = trail.people
    review = SkillReview(catalog, store, trail)

    async def drafter(record: UserSkillRecord) -> Person | None:
        return await people.person(record.user_id)

    async def waiting_lines(ctx: CommandContext) -> list[str]:
        if await ctx.is_owner():
            drafts = await store.waiting()
            if not drafts:
                return []
            lines = ["", "Drafts waiting for an owner's approval (/skills NAME shows one):"]
            names = [d.name for d in drafts]
            for draft in drafts:
                person = await drafter(draft)
                who = shown(person) if person is not None else "someone"
                target = draft.name
                if names.count(draft.name) > 1 and person is not None:
                    target = f"{person.label} {draft.name}"
                lines.append(
                    f"• {draft.name} by {who} — {draft.description[:150]}  → "
                    f"/skill_approve {target} or /skill_reject {target}"
                )
            return lines
        own = await store.listing(ctx.user.id, (PENDING,))
        if not own:
            return []
        return ["", "Your drafts waiting for an owner's approval (/skills NAME shows one):"] + [
            f"• {p.name} — {p.description[:150]}" for p in own
        ]

    async def list_skills(ctx: CommandContext) -> str:
        name = ctx.args.strip()
        if name:
            return await _show(ctx, name)
        lines = ["Skills I can use:"]
        lines += [f"• {s.name} — {s.one_line}" for s in catalog.available] or ["• none"]
        own = await catalog.user_skills(ctx.user.id)
        if own:
            lines += ["", "Your own skills:"] + [f"• {s.name} — {s.one_line}" for s in own]
        lines += await waiting_lines(ctx)
        missing = [
            (r.skill.name, unmet(r.skill, catalog.capabilities))
            for r in catalog.reports
            if r.ok and r.skill is not None and unmet(r.skill, catalog.capabilities)
        ]
        if missing:
            lines += ["", "Installed but not available here:"]
            lines += [f"• {n} — needs {', '.join(m)}" for n, m in missing]
        return "\n".join(lines)

    async def _show(ctx: CommandContext, name: str) -> str:
        record = await store.find(ctx.user.id, name, PENDING) or await store.find(
            ctx.user.id, name, ACTIVE
        )
        if record is None and await ctx.is_owner():
            others = await store.waiting(name)
            record = others[0] if len(others) == 1 else None
        if record is None:
            skill = catalog.file_skill_named(name)
            if skill is None:
                return f"No skill named {name!r}. /skills lists them."
            return f"{skill.name} ({skill.source}): {skill.description}\n\n{skill.body}"
        return f"{record.name} ({record.status}):\n\n{record.content}"

    async def pick(ctx: CommandContext, command: str) -> UserSkillRecord | str:
        """The waiting draft `[platform:id] NAME` names, or the reply saying why none."""
        words = ctx.args.split()
        if len(words) not in (1, 2):
            return f"Usage: /{command} NAME, or /{command} platform:id NAME (/skills lists drafts)"
        name = words[-1]
        if len(words) == 2:
            try:
                person = await find(people, words[0])
            except NotFound as exc:
                return str(exc)
            record = await store.find(person.id, name, PENDING)
            if record is None:
                return f"{shown(person)} has no draft named {name!r} waiting. /skills lists drafts."
            return record
        drafts = await store.waiting(name)
        if not drafts:
            return f"No draft named {name!r} waits for approval. /skills lists drafts."
        if len(drafts) > 1:
            labels = [p.label for d in drafts if (p := await drafter(d)) is not None]
            return f"Several people drafted {name!r}; say whose: " + ", ".join(
                f"/{command} {label} {name}" for label in labels
            )
        return drafts[0]

    async def approve(ctx: CommandContext) -> str:
        record = await pick(ctx, "skill_approve")
        if isinstance(record, str):
            return record
        return (await review.approve(record, ctx.actor)).message

    async def reject(ctx: CommandContext) -> str:
        record = await pick(ctx, "skill_reject")
        if isinstance(record, str):
            return record
        return (await review.reject(record, ctx.actor)).message

    registry.add(
        Command("skills", "skills I can use, and drafts waiting for approval", list_skills)
    )
    registry.add(
        Command(
            "skill_approve",
            "approve a drafted skill: /skill_approve [platform:id] NAME",
            approve,
            owner_only=True,
        )
    )
    registry.add(
        Command(
            "skill_reject",
            "reject a drafted skill: /skill_reject [platform:id] NAME",
            reject,
            owner_only=True,
        )
    )
