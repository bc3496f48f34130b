"""`clawling users list|show|block|unblock|role|remove`: the owners' administration of
people from the command line, through the same rules as the chat commands
(bot/people/admin.py); the actor in the audit trail is "cli".

USER is any of the person's accounts as `platform:id`. Exit codes: 0 done (or nothing to
change), 1 refused by the rules (the last owner), 2 a bad or unknown USER or role, and
launch.py's codes for the machine and the database.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Annotated, Any

import typer

from bot.app import App
from bot.cli.launch import EXIT_CONFIG, EXIT_FAILURE, load, run, with_app
from bot.cli.users.group import users_cli
from bot.people.admin import NotFound, Refused, find, shown
from bot.people.cost import dollars
from bot.people.listing import of_quota, people_rows, person_row, table
from bot.people.trail import CLI_ACTOR, entry_line
from memory.db.sqltypes import utcnow
from memory.people import Person

User = Annotated[str, typer.Argument(help="any of their accounts, platform:id (telegram:42)")]

RECENT_ENTRIES = 10


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")


def _complain(message: str, code: int) -> int:
    print(message, file=sys.stderr)
    return code


async def _on_person(app: App, name: str, work: Callable[[Person], Awaitable[str]]) -> int:
    """Find USER and run `work` on them: its text on stdout, or one line and a code."""
    try:
        person = await find(app.people, name)
        _say(await work(person))
    except NotFound as exc:
        return _complain(str(exc), EXIT_CONFIG)
    except Refused as exc:
        return _complain(str(exc), EXIT_FAILURE)
    return 0


def _start(work: Callable[[App], Coroutine[Any, Any, int]]) -> None:
    run(with_app(load(), work))


async def _list(app: App, as_json: bool) -> int:
    rows = await people_rows(
        app.budgets, await app.people.everyone(), utcnow(), app.settings.core.model_prices
    )
    if as_json:
        _say(json.dumps([row.as_json() for row in rows], ensure_ascii=False, indent=2))
    elif not rows:
        _say("Nobody is known yet: people appear when they are paired or seeded as owners.")
    else:
        _say(table(rows))
    return 0


async def _show(app: App, name: str) -> int:
    async def describe(person: Person) -> str:
        row = await person_row(app.budgets, person, utcnow(), app.settings.core.model_prices)
        spent = row.spending
        default = {True: " (default)", False: " (their own)"}
        lines = [
            shown(person),
            f"  role: {person.role}, status: {person.status}, "
            f"known since {person.created_at:%Y-%m-%d}",
            "  accounts: "
            + ", ".join(
                a.label
                + (f" (@{a.username})" if a.username else "")
                + (f" linked {a.linked_at:%Y-%m-%d}" if a.linked_at else "")
                for a in person.accounts
            ),
            f"  tokens today: {of_quota(spent.tokens_today, spent.limits.daily)}"
            + default[row.daily_is_default],
            f"  tokens this month: {of_quota(spent.tokens_month, spent.limits.monthly)}"
            + default[row.monthly_is_default],
        ]
        if row.costs is not None:
            lines.append(
                f"  cost today: {dollars(row.costs.today)}, this month: {dollars(row.costs.month)}"
            )
        labels = tuple(a.label for a in person.accounts)
        entries = await app.audit.entries(user_id=person.id, labels=labels, limit=RECENT_ENTRIES)
        if entries:
            lines.append("  latest in the audit trail:")
            lines += [f"    {entry_line(e)}" for e in reversed(entries)]
        return "\n".join(lines)

    return await _on_person(app, name, describe)


@users_cli.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON list")] = False,
) -> None:
    """Everyone: role, status, accounts, and tokens used today and this month of their quota."""
    _start(lambda app: _list(app, as_json))


@users_cli.command("show")
def show_command(user: User) -> None:
    """One person: accounts, role, status, usage and their latest audit entries."""
    _start(lambda app: _show(app, user))


@users_cli.command("block")
def block_command(user: User) -> None:
    """Stop answering USER (data kept; `unblock` undoes it)."""
    _start(lambda app: _on_person(app, user, lambda p: app.admin.block(CLI_ACTOR, p)))


@users_cli.command("unblock")
def unblock_command(user: User) -> None:
    """Answer a blocked or removed USER again."""
    _start(lambda app: _on_person(app, user, lambda p: app.admin.unblock(CLI_ACTOR, p)))


@users_cli.command("role")
def role_command(
    user: User,
    role: Annotated[str, typer.Argument(help="owner (administers) or member")],
) -> None:
    """Make USER an owner or a member (the last active owner cannot be demoted)."""
    _start(lambda app: _on_person(app, user, lambda p: app.admin.set_role(CLI_ACTOR, p, role)))


@users_cli.command("remove")
def remove_command(
    user: User,
    forget: Annotated[
        bool, typer.Option("--forget", help="also erase their data, as /forget_me does")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask before --forget")] = False,
) -> None:
    """Take USER's access away (data kept); with --forget, erase their data as well."""
    if forget and not yes:
        typer.confirm(
            f"Remove {user} and erase everything stored about them? This cannot be undone",
            abort=True,
        )
    _start(
        lambda app: _on_person(app, user, lambda p: app.admin.remove(CLI_ACTOR, p, forget=forget))
    )
