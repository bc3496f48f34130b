"""`clawling chat`: the terminal chat, interactive or one message at a time (`-m`)."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import signal
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from bot.app import App, add_console, build_app
from bot.cli.init import has_terminal, offer_wizard
from bot.cli.launch import EXIT_CONFIG, fail, load, run, sole_process
from bot.errors import StartupFailure
from bot.settings import Settings

if TYPE_CHECKING:
    from adapters.console.adapter import ConsoleAdapter


def chat(
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="Send one message, print the reply, exit.")
    ] = None,
    as_user: Annotated[
        str | None, typer.Option("--as", help="Chat as this terminal user (default: your OS user).")
    ] = None,
) -> None:
    """Chat with your assistant in the terminal."""
    settings = load(log_to_file=True, warn_unknown=True)
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
    sole = sole_process(settings, "clawling chat")
    app = build_app(settings)
    try:
        await app.prepare_database()
        if message is not None:
            return await _one_message(app, message, user)
        await _repl(app, user)
        return 0
    finally:
        await app.close()
        sole.release()


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
    try:
        await app.start_http()  # the web dashboard (/dashboard), while the chat is open
    except StartupFailure as exc:
        console.print(f"[dim]The web dashboard is not served: {escape(str(exc))}[/]")
    name = app.settings.core.assistant_name
    console.print(
        f"[bold]{name}[/] — chatting as [cyan]{user}[/]. /help for commands, "
        "Ctrl-C stops an answer, Ctrl-D leaves."
    )
    # Ctrl-C is a signal to the loop, wherever it is: at the prompt it leaves the
    # chat, during an answer it stops that answer (see _typed, _answered_or_asked).
    ctrl_c = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, ctrl_c.set)
    try:
        while True:
            line = await _typed(adapter, ctrl_c)
            if line is None:
                console.print()
                return
            text = line.strip()
            if not text:
                continue
            if text.lower() in {"/exit", "/quit"}:
                return
            await adapter.say(text)
            with adapter.working():
                # A confirmation is answered at the next prompt.
                await _answered_or_asked(app, ctrl_c, stop=lambda: adapter.say("/stop"))
    finally:
        loop.remove_signal_handler(signal.SIGINT)


async def _typed(adapter: ConsoleAdapter, ctrl_c: asyncio.Event) -> str | None:
    """The next line typed; None when the person leaves (Ctrl-D, or Ctrl-C at the prompt)."""
    ctrl_c.clear()
    reading = asyncio.ensure_future(adapter.read_line("[bold green]you ›[/] "))
    pressed = asyncio.ensure_future(ctrl_c.wait())
    await asyncio.wait({reading, pressed}, return_when=asyncio.FIRST_COMPLETED)
    pressed.cancel()
    if not reading.done():
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reading
        return None
    return reading.result()


async def _answered_or_asked(
    app: App,
    ctrl_c: asyncio.Event | None = None,
    stop: Callable[[], Awaitable[object]] | None = None,
) -> bool:
    """Wait until the answer is done (True) or it asks for a confirmation (False).

    Each Ctrl-C meanwhile (`ctrl_c` is set) calls `stop`: the chat's own /stop, which
    cancels the running turn exactly as it does on every platform and says so."""
    ctrl_c = ctrl_c or asyncio.Event()  # without one (chat -m): never pressed
    drained = asyncio.ensure_future(app.sessions.drain())
    asked = asyncio.ensure_future(app.approvals.asked.wait())
    pressed = asyncio.ensure_future(ctrl_c.wait())
    while True:
        await asyncio.wait({drained, asked, pressed}, return_when=asyncio.FIRST_COMPLETED)
        if drained.done() or asked.done():
            break
        ctrl_c.clear()
        pressed = asyncio.ensure_future(ctrl_c.wait())
        if stop is not None:
            await stop()  # then wait on: the stopped turn still closes itself off
    pressed.cancel()
    asked.cancel()
    app.approvals.asked.clear()
    # The drain is never cancelled: that would cancel the turn it waits for.
    return drained.done()
