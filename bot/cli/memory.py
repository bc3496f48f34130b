"""`clawling memory ...`: import, search, list, export and forget a user's memory.

Users are named `platform:id` (telegram:42, slack:U123, console:alice), in `--user`
and in what is printed (bot/cli/people.py).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.app import App
from bot.cli.launch import load, open_app, run
from bot.cli.people import People, UnknownPerson, find_person
from bot.people.trail import CLI_ACTOR
from bot.settings import Settings
from memory.conversations import UserRecord
from memory.db.sqltypes import utcnow
from memory.history import BadUserName, parse_lines

memory_cli = typer.Typer(
    help="A user's long-term memory and history: import, search, list, export, forget.",
    no_args_is_help=True,
)

UserOption = Annotated[str, typer.Option("--user", "-u", help="platform:id, e.g. telegram:42")]


class CliProblem(Exception):
    """Ends the command with this message and exit code 1."""


def _read_text(path: Path) -> str:
    if str(path) == "-":
        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise CliProblem(f"cannot read {path}: {exc.strerror or exc}") from None


async def _user(app: App, name: str, *, create: bool = False) -> UserRecord:
    try:
        if create:
            return await app.memory.history.ensure_user(name)
        return await find_person(app, name)
    except BadUserName as exc:
        raise CliProblem(str(exc)) from None
    except UnknownPerson as exc:
        raise CliProblem(f"{exc}; `clawling memory import` creates users") from None


def _emit(line: str) -> None:
    sys.stdout.write(line + "\n")


async def import_history(settings: Settings, user_name: str, path: Path) -> int:
    app = await open_app(settings)
    try:
        user = await _user(app, user_name, create=True)
        lines, bad = parse_lines(_read_text(path).splitlines())
        report = await app.memory.history.import_lines(user, lines)
        if app.memory.vectors is not None:
            await app.memory.vectors.index_pending(user.id, limit=max(256, report.imported))
    finally:
        await app.close()
    print(
        f"{user_name}: imported {report.imported} messages, "
        f"{report.already_there} were already there."
    )
    for number, reason in bad:
        print(f"line {number} skipped: {reason}", file=sys.stderr)
    return 1 if bad else 0


def _print_results(query: str, results: list[dict[str, Any]]) -> None:
    if not results:
        _emit(f"nothing found for {query!r}")
    for item in results:
        text = " ".join(item["text"].split())[:200]
        _emit(f"{item['score']:.3f}  {item['at'][:10]}  [{item['ref']}] {item['speaker']}: {text}")


async def search(
    settings: Settings,
    user_name: str,
    query: str | None,
    queries: Path | None,
    limit: int,
    as_json: bool,
) -> int:
    app = await open_app(settings)
    try:
        user = await _user(app, user_name)
        if queries is None:
            results = await app.memory.history.search(user, query or "", limit)
            if as_json:
                _emit(json.dumps(results, ensure_ascii=False))
            else:
                _print_results(query or "", results)
            return 0
        failed = 0
        for number, raw in enumerate(_read_text(queries).splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
                if not isinstance(item, dict) or not isinstance(item.get("query"), str):
                    raise ValueError
            except ValueError:
                print(f'line {number} skipped: not {{"id", "query"}}', file=sys.stderr)
                failed += 1
                continue
            results = await app.memory.history.search(user, item["query"], limit)
            _emit(json.dumps({"id": item.get("id"), "results": results}, ensure_ascii=False))
        return 1 if failed else 0
    finally:
        await app.close()


async def list_memories(settings: Settings, user_name: str) -> int:
    app = await open_app(settings)
    try:
        user = await _user(app, user_name)
        memories = await app.memory.memories.current(user.id, limit=10_000)
        who = await People(app).label(user.id)
    finally:
        await app.close()
    _emit(f"{who}: {len(memories) or 'no'} {'memory' if len(memories) == 1 else 'memories'}")
    for m in memories:
        key = f" [{m.key}]" if m.key else ""
        expires = f" (until {m.expires_at:%Y-%m-%d})" if m.expires_at else ""
        _emit(f"#{m.id} {m.kind}{key}: {m.content}{expires}  — {m.updated_at:%Y-%m-%d}")
    return 0


async def export(settings: Settings, user_name: str, output: Path | None) -> int:
    app = await open_app(settings)
    try:
        user = await _user(app, user_name)
        document = await app.memory.privacy.export(user.id, utcnow())
        text = json.dumps(document, ensure_ascii=False, indent=2)
        if output is None:
            _emit(text)
        else:
            await asyncio.to_thread(output.write_text, text + "\n", encoding="utf-8")
            print(f"wrote {output}", file=sys.stderr)
        await app.trail.record(
            "memory.exported",
            CLI_ACTOR,
            subject=await app.people.person(user.id),
            memories=len(document["memories"]),
            messages=len(document["messages"]),
            to="stdout" if output is None else str(output),
        )
    finally:
        await app.close()
    return 0


async def forget(settings: Settings, user_name: str, what: str | None, everything: bool) -> int:
    app = await open_app(settings)
    try:
        user = await _user(app, user_name)
        person = await app.people.person(user.id)
        if everything:
            who = await People(app).label(user.id)
            erased = await app.memory.privacy.erase(user.id, settings.core.data_dir)
            print(
                f"{who}: deleted {erased.memories} memories, {erased.messages} messages, "
                f"{erased.summaries} summaries."
            )
            await app.trail.record(
                "memory.forgotten",
                CLI_ACTOR,
                subject=person,
                what="everything",
                memories=erased.memories,
                messages=erased.messages,
                summaries=erased.summaries,
            )
            return 0
        gone = await app.memory.memories.forget(user.id, what or "")
        if gone:
            await app.trail.record(
                "memory.forgotten",
                CLI_ACTOR,
                subject=person,
                what="memories",
                ids=[m.id for m in gone],
            )
    finally:
        await app.close()
    if not gone:
        print(f"no memory of {user_name} matches {what!r}", file=sys.stderr)
        return 1
    for m in gone:
        _emit(f"forgot #{m.id}: {m.content}")
    return 0


async def _guarded(work: Any) -> int:
    try:
        return int(await work)
    except CliProblem as exc:
        print(str(exc), file=sys.stderr)
        return 1


def _start(work: Any) -> None:
    run(_guarded(work(load())))


@memory_cli.command("import")
def import_command(
    user: UserOption,
    file: Annotated[
        Path, typer.Argument(help='JSONL: {"ref", "speaker", "text", "at"}; - = stdin')
    ],
) -> None:
    """Import JSONL history as USER's past conversation (lines with a known ref are skipped)."""
    _start(lambda settings: import_history(settings, user, file))


@memory_cli.command("search")
def search_command(
    user: UserOption,
    query: Annotated[str | None, typer.Argument(help="what to look for")] = None,
    limit: Annotated[int, typer.Option("--limit", "-k", min=1, max=1000)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON list")] = False,
    queries: Annotated[
        Path | None,
        typer.Option("--queries", help='JSONL {"id", "query"} per line; prints {"id", "results"}'),
    ] = None,
) -> None:
    """Search USER's messages and memories, best first."""
    if query is None and queries is None:
        raise typer.BadParameter("give a QUERY or --queries FILE")
    _start(lambda settings: search(settings, user, query, queries, limit, as_json))


@memory_cli.command("list")
def list_command(user: UserOption) -> None:
    """List USER's current memories."""
    _start(lambda settings: list_memories(settings, user))


@memory_cli.command("export")
def export_command(
    user: UserOption,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="file (default: stdout)")
    ] = None,
) -> None:
    """Export everything stored about USER as JSON."""
    _start(lambda settings: export(settings, user, output))


@memory_cli.command("forget")
def forget_command(
    user: UserOption,
    what: Annotated[str | None, typer.Argument(help="a memory id or text in memories")] = None,
    everything: Annotated[
        bool, typer.Option("--everything", help="delete ALL stored data about USER")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask before --everything")] = False,
) -> None:
    """Forget one of USER's memories (id or text), or with --everything all data about USER."""
    if not everything and not what:
        raise typer.BadParameter("give a memory id or text, or --everything")
    if everything and not yes:
        typer.confirm(f"Delete everything stored about {user}? This cannot be undone", abort=True)
    _start(lambda settings: forget(settings, user, what, everything))
