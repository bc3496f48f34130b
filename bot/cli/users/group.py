"""The `clawling users` command group, which the modules beside it fill."""

import typer

users_cli = typer.Typer(
    help="People: pairing requests, roles, blocking, quotas.", no_args_is_help=True
)
