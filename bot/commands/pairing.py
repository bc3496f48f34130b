"""/allow CODE and /deny CODE: an owner answers a stranger's pairing request.

/allow is for owners only (refused to members by the session manager before it runs).
/deny is also how anyone refuses a tool call the assistant asked about (`/deny [id]`,
bot/safety/approvals.py): a pairing code always has a letter and an approval id never
does, so /deny with a code is the owners' pairing answer, anything else goes on to the
approvals. The buttons under the owners' question send these commands as the owner who
pressed them.
"""

from __future__ import annotations

import re

from bot.commands.registry import Command, CommandContext, CommandRegistry
from bot.people.pairing import Decision, Pairing
from memory.audit import Actor

OWNERS_ONLY = "Only the assistant's owners can use /deny CODE."


def is_code(args: str) -> bool:
    return re.search(r"[A-Za-z]", args) is not None


def pairing_commands(registry: CommandRegistry, pairing: Pairing) -> None:
    def decision(ctx: CommandContext, command: str) -> Decision:
        platform = ctx.account.partition(":")[0]
        return Decision(Actor(ctx.account, platform, ctx.user.id), ctx.user.id, command)

    async def allow(ctx: CommandContext) -> str:
        return (await pairing.decide(ctx.args, allow=True, by=decision(ctx, "/allow"))).text

    registry.add(Command("allow", "let someone in: /allow CODE (owners)", allow, owner_only=True))
    approvals_deny = registry.get("deny")

    async def deny(ctx: CommandContext) -> str:
        if approvals_deny is not None and not is_code(ctx.args):
            return await approvals_deny.handler(ctx)
        if not await ctx.is_owner():
            return OWNERS_ONLY
        return (await pairing.decide(ctx.args, allow=False, by=decision(ctx, "/deny"))).text

    if approvals_deny is None:
        registry.add(
            Command("deny", "turn someone down: /deny CODE (owners)", deny, owner_only=True)
        )
    else:
        registry.replace(
            Command(
                "deny",
                approvals_deny.description + "; owners: /deny CODE turns someone down",
                deny,
                immediate=approvals_deny.immediate,
            )
        )
