"""Chat commands for skills: /skills, /skill_approve NAME, /skill_reject NAME."""

from __future__ import annotations

from bot.commands.registry import Command, CommandContext, CommandRegistry
from memory.skills import ACTIVE, PENDING, UserSkillStore
from skills.catalog import SkillCatalog, unmet
from skills.loader import load_text
from skills.model import HIGH, USER


def skill_commands(registry: CommandRegistry, catalog: SkillCatalog, store: UserSkillStore) -> None:
    """Register the skill commands."""

    async def list_skills(ctx: CommandContext) -> str:
        name = ctx.args.strip()
        if name:
            return await _show(ctx, name)
        lines = ["Skills I can use:"]
        lines += [f"• {s.name} — {s.one_line}" for s in catalog.available] or ["• none"]
        own = await catalog.user_skills(ctx.user.id)
        if own:
            lines += ["", "Your own skills:"] + [f"• {s.name} — {s.one_line}" for s in own]
        pending = await store.listing(ctx.user.id, (PENDING,))
        if pending:
            lines += ["", "Drafts waiting for your approval (/skills NAME shows one):"]
            lines += [
                f"• {p.name} — {p.description[:150]}  → /skill_approve {p.name} or "
                f"/skill_reject {p.name}"
                for p in pending
            ]
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
        if record is None:
            skill = catalog.file_skill_named(name)
            if skill is None:
                return f"No skill named {name!r}. /skills lists them."
            return f"{skill.name} ({skill.source}): {skill.description}\n\n{skill.body}"
        return f"{record.name} ({record.status}):\n\n{record.content}"

    async def approve(ctx: CommandContext) -> str:
        name = ctx.args.strip()
        if not name:
            return "Usage: /skill_approve NAME (/skills lists drafts)"
        record = await store.find(ctx.user.id, name, PENDING)
        if record is None:
            return f"No draft named {name!r} waits for approval. /skills lists drafts."
        if catalog.file_skill_named(name) is not None:
            await store.decide(record.id, approve=False)
            return f"{name!r} is now the name of an installed skill; the draft was rejected."
        report = load_text(record.content, USER, f"user skill #{record.id}", catalog.known_tools)
        if not report.ok:
            problems = "; ".join(str(f) for f in report.findings if f.severity == HIGH)
            await store.decide(record.id, approve=False)
            return f"The draft {name!r} failed the safety check and was rejected: {problems}"
        if not await store.decide(record.id, approve=True):
            return f"The draft {name!r} was already decided."
        return f"Approved: I'll use the skill {name!r} from now on."

    async def reject(ctx: CommandContext) -> str:
        name = ctx.args.strip()
        if not name:
            return "Usage: /skill_reject NAME"
        record = await store.find(ctx.user.id, name, PENDING)
        if record is None or not await store.decide(record.id, approve=False):
            return f"No draft named {name!r} waits for approval."
        return f"Rejected the draft {name!r}; it won't be used."

    registry.add(Command("skills", "skills I can use, and drafts to approve", list_skills))
    registry.add(Command("skill_approve", "approve a drafted skill: /skill_approve NAME", approve))
    registry.add(Command("skill_reject", "reject a drafted skill: /skill_reject NAME", reject))
