"""Skill tools: load a skill's instructions, read its files, draft a new one.

Loading a skill only returns text; nothing in a skill is ever run. Drafts wait
for their owner's approval (/skill_approve) before they are offered.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from bot.errors import ToolError
from bot.people.trail import Trail
from bot.safety.untrusted import mark_untrusted
from bot.tools import Tool, ToolContext, tool
from memory.conversations import ConversationRecord, UserRecord
from memory.skills import ACTIVE, UserSkillStore
from skills.catalog import SkillCatalog
from skills.loader import load_text
from skills.model import BUNDLED, HIGH, USER, Skill
from skills.parse import render_skill_md


class UseSkillArgs(BaseModel):
    name: str = Field(description="The skill's name, as listed under Skills.")


class ReadSkillFileArgs(BaseModel):
    skill: str = Field(description="The skill's name.")
    path: str = Field(description="Path inside the skill, e.g. templates/notes.md.")


class CreateSkillArgs(BaseModel):
    name: str = Field(description="Lowercase words with hyphens, e.g. weekly-review.")
    description: str = Field(description="What it does and when to use it.")
    instructions: str = Field(description="The procedure in Markdown: numbered steps.")
    allowed_tools: list[str] | None = Field(None, description="Tools the procedure uses.")


def _skill_text(skill: Skill) -> str:
    parts = [f"# Skill: {skill.name}", skill.body]
    if skill.files:
        parts.append("Files of this skill (read_skill_file): " + ", ".join(sorted(skill.files)))
    if skill.allowed_tools is not None:
        tools = ", ".join(skill.allowed_tools) or "none"
        parts.append(f"Tools this skill uses: {tools}.")
    return "\n\n".join(parts)


def _as_read(ctx: ToolContext, skill: Skill, source: str, text: str) -> str:
    """A skill's text as the model gets it. Skills from anyone but this project (installed
    for the deployment, drafted by a person) are untrusted: following one never lifts the
    confirmation gate, so a skill cannot talk the assistant into side effects."""
    if skill.source == BUNDLED:
        return text
    ctx.turn.taint(source)
    return mark_untrusted(source, text)


def skill_tools(catalog: SkillCatalog, store: UserSkillStore, trail: Trail) -> list[Tool]:
    """use_skill, read_skill_file and create_skill over this catalog (drafts are written
    to the audit trail)."""

    @tool(read_only=True)
    async def use_skill(ctx: ToolContext, args: UseSkillArgs) -> str:
        """Load a listed skill's instructions before doing the job it covers; then follow them."""
        skill = await catalog.find(ctx.user.id, args.name.strip())
        if skill is None:
            raise ToolError(f"there is no skill named {args.name!r}; use a name from the list")
        return _as_read(ctx, skill, f"skill {skill.name}", _skill_text(skill))

    @tool(read_only=True)
    async def read_skill_file(ctx: ToolContext, args: ReadSkillFileArgs) -> str:
        """Read one of a skill's files (templates, references) named in its instructions."""
        skill = await catalog.find(ctx.user.id, args.skill.strip())
        if skill is None:
            raise ToolError(f"there is no skill named {args.skill!r}")
        path = args.path.strip().removeprefix("./")
        if path not in skill.files:
            listed = ", ".join(sorted(skill.files)) or "none"
            raise ToolError(f"{args.skill} has no file {args.path!r}; its files: {listed}")
        return _as_read(ctx, skill, f"skill {skill.name}, file {path}", skill.files[path])

    def draft_summary(args: CreateSkillArgs) -> str:
        return f"save a draft skill {args.name!r} ({args.description[:120]})"

    @tool(side_effects=True, summary=draft_summary)
    async def create_skill(ctx: ToolContext, args: CreateSkillArgs) -> str:
        """Save a procedure you worked out as a draft skill (an existing name proposes an update). It is used only after one of the assistant's owners approves it with /skill_approve NAME; tell the person."""
        name = args.name.strip()
        if catalog.file_skill_named(name) is not None:
            raise ToolError(f"{name!r} is the name of an installed skill; choose another name")
        allowed = None if args.allowed_tools is None else tuple(args.allowed_tools)
        content = render_skill_md(name, args.description, args.instructions, allowed)
        report = load_text(content, USER, "draft", catalog.known_tools)
        if not report.ok or report.skill is None:
            problems = "; ".join(str(f) for f in report.findings if f.severity == HIGH)
            raise ToolError(f"the draft was refused: {problems}")
        existing = await store.find(ctx.user.id, name, ACTIVE)
        draft = await store.propose(ctx.user.id, name, report.skill.description, content)
        await trail.record(
            "skill.drafted",
            await trail.actor(ctx.user.id, ctx.conversation.channel),
            skill=name,
            draft=draft.id,
            update=existing is not None,
        )
        kind = "an update to your skill" if existing else "a new skill"
        notes = [str(f) for f in report.findings]
        warning = f" Scanner notes: {'; '.join(notes)}." if notes else ""
        return (
            f"Saved {kind} {name!r} as a draft. It is not used until one of the assistant's "
            f"owners approves it: /skill_approve {name} (or /skill_reject {name}; /skills "
            f"{name} shows it).{warning}"
        )

    return [use_skill, read_skill_file, create_skill]


class UserSkillsContext:
    """A `ContextSource`: lists the person's approved skills in their background context,
    which changes only when they approve or replace one (cache-friendly)."""

    def __init__(self, catalog: SkillCatalog) -> None:
        self._catalog = catalog

    async def background(self, user: UserRecord, conversation: ConversationRecord) -> str:
        return await self._catalog.user_index(user.id)

    async def recall(
        self, user: UserRecord, conversation: ConversationRecord, query: str, *, private: bool
    ) -> str:
        return ""
