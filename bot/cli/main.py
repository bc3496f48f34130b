"""The `clawling` command line."""

from __future__ import annotations

import asyncio
import getpass
import logging
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from bot.app import App, add_console, build_app
from bot.cli.background import register as register_background_commands
from bot.cli.memory import memory_cli
from bot.cli.skills import skills_cli
from bot.errors import ConfigError
from bot.settings import Settings, load_settings
from memory import db

cli = typer.Typer(
    help="Clawling: your personal AI assistant in the chat apps you already use.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_cli = typer.Typer(help="Database schema: upgrade, downgrade, current.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(skills_cli, name="skills")
cli.add_typer(memory_cli, name="memory")

err = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_CONFIG = 2
EXIT_DATABASE = 3


def _configure_logging(settings: Settings, *, to_file: bool) -> None:
    level = getattr(logging, settings.core.log_level)
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    if to_file:
        settings.core.data_dir.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(settings.core.data_dir / "clawling.log")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(fmt))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for noisy in ("httpx", "httpx2", "openai", "aiosqlite", "alembic"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def _settings(*, log_to_file: bool) -> Settings:
    try:
        settings = load_settings()
    except ConfigError as exc:
        _fail(str(exc), EXIT_CONFIG)
    _configure_logging(settings, to_file=log_to_file)
    return settings


def _fail(message: str, code: int) -> typer.Exit:
    for line in message.splitlines():
        err.print(line, markup=False)
    raise typer.Exit(code)


def _run(coro: Coroutine[Any, Any, int | None]) -> None:
    """Run a command; start-up failures become one line and an exit code, not a traceback."""
    try:
        code = asyncio.run(coro)
    except ConfigError as exc:
        _fail(str(exc), EXIT_CONFIG)
    except db.DatabaseUnavailable as exc:
        _fail(
            f"Database unreachable: {exc}. Fix: start the database or correct "
            "CLAWLING_DATABASE_URL.",
            EXIT_DATABASE,
        )
    except KeyboardInterrupt:
        code = 130
    raise typer.Exit(code or 0)


@cli.command()
def chat(
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="Send one message, print the reply, exit.")
    ] = None,
    as_user: Annotated[
        str | None, typer.Option("--as", help="Chat as this terminal user (default: your OS user).")
    ] = None,
) -> None:
    """Chat with your assistant in the terminal."""
    settings = _settings(log_to_file=True)
    problem = settings.llm_problem()
    if problem:
        _fail(problem, EXIT_CONFIG)
    user = as_user if as_user is not None else getpass.getuser()
    _run(_chat(settings, message, user))


async def _chat(settings: Settings, message: str | None, user: str) -> int:
    app = build_app(settings)
    try:
        await app.prepare_database()
        if message is not None:
            return await _one_message(app, message, user)
        await _repl(app, user)
        return 0
    finally:
        await app.close()


async def _one_message(app: App, message: str, user: str) -> int:
    adapter = add_console(app, Console(soft_wrap=True), user_name=user, interactive=False)
    await adapter.say(message)
    while not await _answered_or_asked(app):
        # Nobody can answer a confirmation in one-message mode: it counts as no.
        await app.approvals.refuse_all()
    conversation = await app.store.open_conversation(
        adapter.chat.channel, adapter.chat.chat_id, "", is_direct=True, owner_id=None
    )
    # The reply (or the reason there is none) is printed; the exit code tells scripts.
    return 1 if await app.store.unanswered(conversation.id) else 0


async def _repl(app: App, user: str) -> None:
    console = Console()
    adapter = add_console(app, console, user_name=user, interactive=True)
    # Reminders and task progress arrive while the chat is open (see README).
    await app.start_services()
    name = app.settings.core.assistant_name
    console.print(
        f"[bold]{name}[/] — chatting as [cyan]{user}[/]. /help for commands, Ctrl-D to leave."
    )
    while True:
        try:
            line = await asyncio.to_thread(console.input, "[bold green]you ›[/] ")
        except (EOFError, KeyboardInterrupt):
            console.print()
            return
        text = line.strip()
        if not text:
            continue
        if text.lower() in {"/exit", "/quit"}:
            return
        await adapter.say(text)
        await _answered_or_asked(app)  # a confirmation is answered at the next prompt


async def _answered_or_asked(app: App) -> bool:
    """Wait until the answer is done (True) or it asks for a confirmation (False)."""
    drained = asyncio.ensure_future(app.sessions.drain())
    asked = asyncio.ensure_future(app.approvals.asked.wait())
    await asyncio.wait({drained, asked}, return_when=asyncio.FIRST_COMPLETED)
    asked.cancel()
    app.approvals.asked.clear()
    # The drain is never cancelled: that would cancel the turn it waits for.
    return drained.done()


@cli.command()
def run() -> None:
    """Run every configured chat app and background service in one process."""
    settings = _settings(log_to_file=False)
    _run(_serve(settings))


async def _serve(settings: Settings) -> int:
    app = build_app(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await app.prepare_database()
        if not app.outbox.adapters:
            err.print(
                "No chat app is configured. Set TELEGRAM_BOT_TOKEN or SLACK_BOT_TOKEN "
                "(see README), or talk to your assistant here with `clawling chat`."
            )
            return EXIT_CONFIG
        await app.start()
        logging.getLogger(__name__).info("running; channels: %s", ", ".join(app.outbox.channels))
        await stop.wait()
        logging.getLogger(__name__).info("stopping")
        await app.shutdown()
        return 0
    finally:
        await app.close()


@cli.command()
def doctor() -> None:
    """Check settings, database, migrations and the model endpoint."""
    settings = _settings(log_to_file=False)
    _run(_doctor(settings))


async def _doctor(settings: Settings) -> int:
    from bot.cli.doctor import run_checks

    app = build_app(settings)
    console = Console(highlight=False)
    try:
        results = await run_checks(app)
    finally:
        await app.close()
    for check in results:
        mark = "[green]ok[/]  " if check.ok else "[red]FAIL[/]"
        console.print(f"{mark} {check.name}: {check.detail}", markup=True)
        if not check.ok and check.fix:
            console.print(f"      fix: {check.fix}", markup=False)
    return 0 if all(c.ok for c in results) else 1


@cli.command()
def backup(path: Annotated[Path, typer.Argument(help="the backup file to write")]) -> None:
    """Back up the database to one file (works while the assistant runs)."""
    _run(_backup(_settings(log_to_file=False), path, restore=False))


@cli.command()
def restore(
    path: Annotated[Path, typer.Argument(help="a file written by `clawling backup`")],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
) -> None:
    """Replace the database's contents with a backup. Stop the assistant first."""
    settings = _settings(log_to_file=False)
    if not yes and not typer.confirm(
        f"Replace everything in {db.safe_url(settings.database_url)} with {path}?"
    ):
        raise typer.Exit(1)
    _run(_backup(settings, path, restore=True))


async def _backup(settings: Settings, path: Path, *, restore: bool) -> int:
    from memory.db.backup import BackupError
    from memory.db.backup import backup as write_backup
    from memory.db.backup import restore as read_backup

    try:
        if restore:
            await read_backup(settings.database_url, path)
            print(f"restored {path} into {db.safe_url(settings.database_url)}")
        else:
            await write_backup(settings.database_url, path)
            print(f"backed up {db.safe_url(settings.database_url)} to {path}")
    except BackupError as exc:
        err.print(f"{'Restore' if restore else 'Backup'} failed: {exc}", markup=False)
        return 1
    return 0


@db_cli.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    _run(_migrate(_settings(log_to_file=False), revision, up=True))


@db_cli.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="e.g. -1 or a revision id")]) -> None:
    """Revert migrations down to REVISION."""
    _run(_migrate(_settings(log_to_file=False), revision, up=False))


@db_cli.command("current")
def db_current() -> None:
    """Print the database's schema revision."""
    _run(_current(_settings(log_to_file=False)))


async def _migrate(settings: Settings, revision: str, *, up: bool) -> int:
    engine = db.create_engine(settings.database_url)
    try:
        await db.check_reachable(engine)
        if up:
            await db.upgrade(engine, revision)
        else:
            await db.downgrade(engine, revision)
        print(f"database at {await db.current_revision(engine) or 'empty'}")
        return 0
    finally:
        await engine.dispose()


async def _current(settings: Settings) -> int:
    engine = db.create_engine(settings.database_url)
    try:
        await db.check_reachable(engine)
        current = await db.current_revision(engine)
        print(f"{current or 'empty'} (newest: {db.head_revision()})")
        return 0
    finally:
        await engine.dispose()


register_background_commands(cli, _run, _settings)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
