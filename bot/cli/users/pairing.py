"""`clawling users allow CODE`, `users deny CODE`, `users pending`: the owners' answer to
pairing requests, from the command line (the same decision as /allow and /deny in chat;
the audit names the actor "cli")."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Annotated

import typer

from bot.app import App
from bot.cli.launch import load, run, with_app
from bot.cli.users.group import users_cli
from bot.people.pairing import Decision, shown_name
from memory.audit import CLI, Actor

CodeArgument = Annotated[str, typer.Argument(help="the code from the pairing request")]


async def decide(app: App, code: str, *, allow: bool) -> int:
    command = "clawling users allow" if allow else "clawling users deny"
    answer = await app.door.pairing.decide(
        code, allow=allow, by=Decision(Actor(CLI, CLI), None, command)
    )
    # The person is told by `clawling run` (it has the chat apps), within seconds.
    print(answer.text, file=sys.stdout if answer.done else sys.stderr)
    return 0 if answer.done else 1


async def pending(app: App) -> int:
    waiting = await app.door.pairing.pending()
    if not waiting:
        print("No pairing requests are waiting.")
    for record in waiting:
        who = record.stranger
        username = f" @{shown_name(who.username)}" if who.username else ""
        left = max(
            0,
            int((record.expires_at - datetime.now(record.expires_at.tzinfo)).total_seconds() // 60),
        )
        print(
            f"{record.code}  {who.label} ({shown_name(who.display_name)}){username}  {left} min left"
        )
    return 0


@users_cli.command("allow")
def allow_command(code: CodeArgument) -> None:
    """Let in the person who got this pairing code."""
    run(with_app(load(), lambda app: decide(app, code, allow=True)))


@users_cli.command("deny")
def deny_command(code: CodeArgument) -> None:
    """Turn down the person who got this pairing code (they are told politely)."""
    run(with_app(load(), lambda app: decide(app, code, allow=False)))


@users_cli.command("pending")
def pending_command() -> None:
    """The pairing requests waiting for an answer, with their codes."""
    run(with_app(load(), pending))
