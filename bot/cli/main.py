"""The `clawling` command line: the root command and its groups, one module each."""

from __future__ import annotations

from importlib import metadata
from typing import Annotated

import typer

from bot.cli import (
    audit,
    background,
    chat,
    dashboard,
    database,
    doctor,
    memory,
    serve,
    skills,
    worker,
)
from bot.cli.init import init
from bot.cli.users import users_cli

cli = typer.Typer(
    help="Clawling: your personal AI assistant in the chat apps you already use.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(asked: bool) -> None:
    if asked:
        print(f"clawling {metadata.version('clawling')}")
        raise typer.Exit()


@cli.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Clawling: your personal AI assistant in the chat apps you already use."""


cli.command("init")(init)
cli.command("chat")(chat.chat)
cli.command("run")(serve.serve)
cli.command("worker")(worker.worker)
cli.command("doctor")(doctor.doctor)
cli.command("backup")(database.backup)
cli.command("restore")(database.restore)
cli.command("audit")(audit.audit)
cli.add_typer(database.db_cli, name="db")
cli.add_typer(skills.skills_cli, name="skills")
cli.add_typer(memory.memory_cli, name="memory")
cli.add_typer(background.tasks_cli, name="tasks")
cli.add_typer(background.jobs_cli, name="jobs")
cli.add_typer(users_cli, name="users")
cli.add_typer(dashboard.dashboard_cli, name="dashboard")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
