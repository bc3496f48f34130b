"""`clawling dashboard link --user USER`: a one-time login link to the web dashboard.

For the first login (before anyone has the chat's /dashboard at hand) and for scripts:
the URL is alone on the last line of the output. It works once, for 10 minutes, and
logs in as USER; making one is written to the audit trail (actor "cli"). A blocked or
removed person gets no link.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from bot.app import App
from bot.cli.launch import EXIT_CONFIG, EXIT_FAILURE, load, run, with_app
from bot.dashboard.access import LINK_LIFETIME
from bot.people.admin import NotFound, find, shown
from bot.people.trail import CLI_ACTOR

dashboard_cli = typer.Typer(help="The web dashboard: login links.", no_args_is_help=True)


async def _link(app: App, user: str) -> int:
    try:
        person = await find(app.people, user)
    except NotFound as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG
    if not person.is_active:
        print(f"{shown(person)} is {person.status}: no dashboard for them.", file=sys.stderr)
        return EXIT_FAILURE
    assert app.dashboard is not None  # build_app always adds it
    link = await app.dashboard.access.link(person.id)
    await app.trail.record("dashboard.link", CLI_ACTOR, subject=person)
    minutes = int(LINK_LIFETIME.total_seconds() // 60)
    print(f"A login link for {shown(person)}; it works once, for {minutes} minutes:")
    print(link)
    return 0


@dashboard_cli.command("link")
def link_command(
    user: Annotated[
        str, typer.Option("--user", "-u", help="any of their accounts, platform:id (telegram:42)")
    ],
) -> None:
    """Print a one-time login link to the dashboard for USER (the URL on the last line)."""
    run(with_app(load(), lambda app: _link(app, user)))
