"""Chat commands for linking accounts: /link, /link CODE, /unlink [platform:id]."""

from __future__ import annotations

from bot.commands.registry import Command, CommandContext, CommandRegistry
from bot.people.linking import Linking, Sender


def link_commands(registry: CommandRegistry, linking: Linking) -> None:
    """Register /link and /unlink (any active person; the rules are in bot/people/linking.py)."""

    def sender(ctx: CommandContext) -> Sender:
        return Sender(ctx.user.id, ctx.account, ctx.conversation.is_direct)

    async def link(ctx: CommandContext) -> str:
        if not ctx.account:
            return "I can't tell which account this came from, so it cannot be linked."
        if ctx.args.strip():
            return await linking.redeem(sender(ctx), ctx.args, ctx.now)
        return await linking.issue(sender(ctx), ctx.now)

    async def unlink(ctx: CommandContext) -> str:
        if not ctx.account:
            return "I can't tell which account this came from, so it cannot be unlinked."
        return await linking.unlink(sender(ctx), ctx.args, ctx.now)

    registry.add(
        Command(
            "link",
            "join this account with your account in another app (/link, then /link CODE there)",
            link,
        )
    )
    registry.add(
        Command("unlink", "separate this account (or /unlink platform:id) from your others", unlink)
    )
