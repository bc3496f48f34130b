"""`clawling tasks …` and `clawling jobs …`: look at and stop background work from a shell.

People are shown and chosen as `platform:id` (bot/cli/people.py): `--user telegram:42`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import Annotated, Any

import typer

from bot.app import App
from bot.cli.launch import load, run, with_app
from bot.cli.people import People, UnknownPerson, find_person
from memory.jobs import JobRecord
from memory.tasks import TaskRecord

JSON_OPTION = typer.Option("--json", help="Print JSON instead of text.")
USER_OPTION = typer.Option("--user", "-u", help="Only this person's: platform:id, e.g. telegram:42")

tasks_cli = typer.Typer(help="Background tasks: list, show, cancel.", no_args_is_help=True)
jobs_cli = typer.Typer(help="Reminders and scheduled jobs: list.", no_args_is_help=True)


async def _owner(app: App, user: str | None) -> int | None:
    """The row id behind `--user` (None: everyone); UnknownPerson if nobody has it."""
    return None if user is None else (await find_person(app, user)).id


async def _person_json(people: People, data: dict[str, Any]) -> dict[str, Any]:
    """The record's `user_id` replaced by the person's account and name."""
    user_id = data.pop("user_id")
    return data | {"user": await people.account(user_id), "user_name": await people.name(user_id)}


def _task_json(task: TaskRecord) -> dict[str, Any]:
    data = asdict(task)
    data.pop("checkpoint")
    data["budget"] = asdict(task.budget)
    for key in ("created_at", "updated_at"):
        data[key] = data[key].isoformat()
    return data


def _job_json(job: JobRecord) -> dict[str, Any]:
    data = asdict(job)
    for key in ("created_at", "next_run_at", "last_run_at"):
        data[key] = data[key].isoformat() if data[key] else None
    return data


@tasks_cli.command("list")
def tasks_list(
    as_json: Annotated[bool, JSON_OPTION] = False,
    every: Annotated[bool, typer.Option("--all", help="Include finished tasks.")] = False,
    user: Annotated[str | None, USER_OPTION] = None,
) -> None:
    """List tasks of every user, or of one (unfinished ones unless --all)."""

    async def work(app: App) -> int:
        statuses = () if every else ("queued", "running", "waiting_for_user", "paused")
        try:
            owner = await _owner(app, user)
        except UnknownPerson as exc:
            print(exc, file=sys.stderr)
            return 1
        found = await app.tasks.store.find(user_id=owner, statuses=statuses, limit=1000)
        people = People(app)
        if as_json:
            listed = [await _person_json(people, _task_json(t)) for t in found]
            print(json.dumps(listed, ensure_ascii=False, indent=2))
        elif not found:
            print("no tasks")
        for task in [] if as_json else found:
            parent = f" (sub-task of #{task.parent_id})" if task.parent_id else ""
            print(
                f"#{task.id} {task.status} step {task.step}/{task.budget.max_steps} "
                f"{await people.label(task.user_id)}{parent}: {task.goal[:70]}"
            )
        return 0

    run(with_app(load(), work))


@tasks_cli.command("show")
def tasks_show(task_id: int, as_json: Annotated[bool, JSON_OPTION] = False) -> None:
    """Show one task with its recent events."""

    async def work(app: App) -> int:
        task = await app.tasks.store.get(task_id)
        if task is None:
            print(f"no task #{task_id}")
            return 1
        if as_json:
            events = await app.tasks.store.events(task_id, limit=50)
            data = await _person_json(People(app), _task_json(task)) | {
                "events": [
                    {
                        "step": e.step,
                        "kind": e.kind,
                        "text": e.text,
                        "at": e.created_at.isoformat(),
                    }
                    for e in events
                ]
            }
            print(json.dumps(data, ensure_ascii=False, indent=2))
        else:
            print(f"For {await People(app).label(task.user_id)}")
            print(await app.tasks.describe(task.user_id, task_id))
        return 0

    run(with_app(load(), work))


@tasks_cli.command("cancel")
def tasks_cancel(task_id: int) -> None:
    """Cancel a task (the person is told in their chat)."""

    async def work(app: App) -> int:
        message = await app.tasks.cancel(None, task_id)
        print(message)
        return 0 if message.startswith("Cancelling") else 1

    run(with_app(load(), work))


@jobs_cli.command("list")
def jobs_list(
    as_json: Annotated[bool, JSON_OPTION] = False,
    every: Annotated[bool, typer.Option("--all", help="Include finished jobs.")] = False,
    user: Annotated[str | None, USER_OPTION] = None,
) -> None:
    """List active reminders, scheduled prompts, standing instructions and heartbeats."""

    async def work(app: App) -> int:
        try:
            owner = await _owner(app, user)
        except UnknownPerson as exc:
            print(exc, file=sys.stderr)
            return 1
        statuses = () if every else ("active",)
        found = await app.jobs.store.find(user_id=owner, statuses=statuses, limit=10_000)
        people = People(app)
        if as_json:
            listed = [await _person_json(people, _job_json(j)) for j in found]
            print(json.dumps(listed, ensure_ascii=False, indent=2))
            return 0
        if not found:
            print("no jobs")
        for job in found:
            next_run = job.next_run_at.isoformat() if job.next_run_at else "-"
            print(
                f"#{job.id} {job.kind} {job.status} {await people.label(job.user_id)} "
                f"{job.description} next {next_run}: {job.text[:60]}"
            )
        return 0

    run(with_app(load(), work))
