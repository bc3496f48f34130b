"""`clawling users quota USER [--daily N] [--monthly N]`: show or set a person's token
budgets from the command line, through the same function as the owners' /quota
(bot/people/quota.py: `QuotaGate.change`, audited as quota.changed by "cli").
A running assistant sees the change within bot/people/quota.py's CACHE_SECONDS."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from bot.app import App
from bot.cli.launch import load, run, with_app
from bot.cli.users.group import users_cli
from bot.commands.quota import QuotaInputError, limit_text, parse_limit
from bot.people.quota import KEEP, Limit
from memory.audit import Actor

CLI = Actor("cli", "cli")
LIMIT_HELP = "Tokens per {}: a number, 0 for unlimited, or 'default'."


@users_cli.command("quota")
def quota(
    user: Annotated[str, typer.Argument(help="The person: platform:id, e.g. telegram:42")],
    daily: Annotated[str | None, typer.Option("--daily", help=LIMIT_HELP.format("day"))] = None,
    monthly: Annotated[
        str | None, typer.Option("--monthly", help=LIMIT_HELP.format("month"))
    ] = None,
) -> None:
    """Show a person's token budgets, or set them."""
    try:
        new_daily: Limit = KEEP if daily is None else parse_limit(daily, "--daily")
        new_monthly: Limit = KEEP if monthly is None else parse_limit(monthly, "--monthly")
    except QuotaInputError as exc:
        print(exc, file=sys.stderr)
        raise typer.Exit(2) from None

    async def work(app: App) -> int:
        platform, _, external_id = user.strip().partition(":")
        person = await app.people.by_account(platform, external_id) if external_id else None
        if person is None:
            print(f"no user {user.strip()} is stored (check the platform:id)", file=sys.stderr)
            return 1
        if new_daily is KEEP and new_monthly is KEEP:
            limits = app.quota.budgets.limits(person)
        else:
            limits = await app.quota.change(CLI, person, daily=new_daily, monthly=new_monthly)
        print(
            f"{person.label}: daily {limit_text(limits.daily)}, "
            f"monthly {limit_text(limits.monthly)}"
        )
        return 0

    run(with_app(load(), work))
