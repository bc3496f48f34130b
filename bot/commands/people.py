"""The owners' chat commands for people: /users, /block, /unblock, /role, /remove and
/audit. All are owners-only (the session manager refuses members before they run);
the rules themselves are in bot/people/admin.py, shared with `clawling users`.

/remove takes access away and keeps the data; erasing it as well is
`clawling users remove USER --forget`, on the machine, where a slip of the thumb in a
chat cannot cost a person their history.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from bot.commands.registry import Command, CommandContext, CommandRegistry
from bot.people.admin import NotFound, PeopleAdmin, Refused, find
from bot.people.budget import Budgets
from bot.people.cost import Prices
from bot.people.listing import chat_line, people_rows
from bot.people.trail import entry_line
from memory.audit import Actor
from memory.people import Person

AUDIT_ENTRIES = 20


def people_commands(
    registry: CommandRegistry, admin: PeopleAdmin, budgets: Budgets, prices: Prices
) -> None:
    """Register the owners' people commands."""
    people = admin.people

    async def person_in(ctx: CommandContext, usage: str) -> Person | str:
        name = ctx.args.split()[0] if ctx.args.split() else ""
        if not name:
            return f"Usage: {usage}"
        try:
            return await find(people, name)
        except NotFound as exc:
            return f"{exc} /users lists everyone."

    async def users(ctx: CommandContext) -> str:
        everyone = await people.everyone()
        if not everyone:
            return "Nobody is known yet."
        rows = await people_rows(budgets, everyone, ctx.now, prices)
        return "\n".join(
            [f"People ({len(rows)}):", *(chat_line(r) for r in rows)]
            + ["Change: /block, /unblock, /role, /remove with their platform:id."]
        )

    async def act(
        ctx: CommandContext, usage: str, change: Callable[[Actor, Person], Awaitable[str]]
    ) -> str:
        person = await person_in(ctx, usage)
        if isinstance(person, str):
            return person
        try:
            return await change(ctx.actor, person)
        except Refused as exc:
            return str(exc)

    async def block(ctx: CommandContext) -> str:
        return await act(ctx, "/block platform:id", admin.block)

    async def unblock(ctx: CommandContext) -> str:
        return await act(ctx, "/unblock platform:id", admin.unblock)

    async def remove(ctx: CommandContext) -> str:
        return await act(ctx, "/remove platform:id", admin.remove)

    async def role(ctx: CommandContext) -> str:
        usage = "/role platform:id owner|member"
        words = ctx.args.split()
        if len(words) != 2:
            return f"Usage: {usage}"
        person = await person_in(ctx, usage)
        if isinstance(person, str):
            return person
        try:
            return await admin.set_role(ctx.actor, person, words[1])
        except NotFound as exc:
            return str(exc)
        except Refused as exc:
            return str(exc)

    async def audit(ctx: CommandContext) -> str:
        labels: tuple[str, ...] = ()
        user_id = None
        if ctx.args.strip():
            person = await person_in(ctx, "/audit [platform:id]")
            if isinstance(person, str):
                return person
            user_id, labels = person.id, tuple(a.label for a in person.accounts)
        entries = await admin.trail.audit.entries(
            user_id=user_id, labels=labels, limit=AUDIT_ENTRIES
        )
        if not entries:
            return "The audit trail has no entries" + (" about them." if labels else " yet.")
        header = f"The latest {len(entries)} audit entries (newest last; times UTC):"
        return "\n".join([header, *(entry_line(e) for e in reversed(entries))])

    for command in (
        Command("users", "everyone who may use me, with roles and usage", users),
        Command("block", "stop answering someone: /block platform:id", block),
        Command(
            "unblock", "answer a blocked or removed person again: /unblock platform:id", unblock
        ),
        Command("role", "make someone an owner or a member: /role platform:id owner|member", role),
        Command("remove", "take someone's access away, data kept: /remove platform:id", remove),
        Command("audit", "the latest audit trail entries: /audit [platform:id]", audit),
    ):
        registry.add(replace(command, owner_only=True))
