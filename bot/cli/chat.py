"""`clawling chat`: the terminal chat, interactive or one message at a time (`-m`)."""

from __future__ import annotations

import asyncio
import getpass
from typing import Annotated

import typer
from rich.console import Console

from bot.app import App, add_console, build_app
from bot.cli.init import has_terminal, offer_wizard
from bot.cli.launch import EXIT_CONFIG, fail, load, run
from bot.settings import Settings


def chat(
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="Send one message, print the reply, exit.")
    ] = None,
    as_user: Annotated[
        str | None, typer.Option("--as", help="Chat as this terminal user (default: your OS user).")
    ] = None,
) -> None:
    """Chat with your assistant in the terminal."""
    settings = load(log_to_file=True)
    problem = settings.llm_problem()
    if problem and has_terminal():
        # A person is there: offer the set-up wizard, then chat with what it wrote.
        if offer_wizard():
            settings = load(log_to_file=True)
            problem = settings.llm_problem()
    if problem:
        fail(problem, EXIT_CONFIG)
    user = as_user if as_user is not None else getpass.getuser()
    run(_chat(settings, message, user))


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
