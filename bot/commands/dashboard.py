"""/dashboard: a one-time link that logs the person in to the web dashboard."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.commands.registry import Command, CommandContext, CommandRegistry

# How a link is made: the person's id → the URL (bot/dashboard/access.py).
LinkMaker = Callable[[int], Awaitable[str]]


def dashboard_commands(
    registry: CommandRegistry, make_link: LinkMaker, serving: Callable[[], bool]
) -> None:
    """`serving`: whether this process's HTTP server is listening (the terminal chat runs
    without one when its port is taken, and a one-message chat never has one)."""

    async def dashboard(ctx: CommandContext) -> str:
        if not ctx.conversation.is_direct:
            # A link in a group would let anyone there in as this person.
            return "Send /dashboard to me in a private chat: the link logs you in."
        if not serving():
            return (
                "The dashboard is served while I run with my HTTP port (`clawling run`, or "
                "`clawling chat` when CLAWLING_HTTP_PORT is free), and it is not now."
            )
        link = await make_link(ctx.user.id)
        return (
            f"Your dashboard login link (it works once, for 10 minutes; do not share it):\n{link}"
        )

    registry.add(Command("dashboard", "a link that logs you in to the web dashboard", dashboard))
