"""The Tasks pages: the person's background tasks newest first, one task with its event
log, and Pause / Resume / Cancel / Answer — the same `Tasks` calls as /pause, /resume,
/cancel and /answer, so what the chat refuses the page refuses too, with the same words.

A task's live state is also served as JSON (`/dashboard/tasks/ID/status?after=EVENT`),
which static/live.js asks every few seconds; without JavaScript the pages show the state
at load time and a reload brings it up to date.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from bot.background.progress import duration, tokens
from bot.dashboard.access import Viewer
from bot.dashboard.site import ROOT, Done, NotFound, Site
from memory.tasks import (
    CANCELLED,
    FAILED,
    FINISHED,
    PAUSED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    UNFINISHED,
    WAITING,
    TaskEventRecord,
    TaskRecord,
)

TASKS = f"{ROOT}/tasks"
PAGE_SIZE = 20
EVENTS_SHOWN = 200

LABELS = {WAITING: "waiting for you"}
BADGES = {
    QUEUED: "",
    RUNNING: "live",
    WAITING: "warn",
    PAUSED: "warn",
    SUCCEEDED: "ok",
    FAILED: "bad",
    CANCELLED: "",
}
# Which buttons a task in each status has: the statuses each chat command accepts.
ALLOWED = {
    "pause": (QUEUED, RUNNING),
    "resume": (PAUSED,),
    "cancel": UNFINISHED,
    "answer": (WAITING,),
}


@dataclass(frozen=True)
class TaskState:
    """A task as the pages and the status endpoint show it."""

    id: int
    goal: str
    status: str
    label: str
    badge: str
    step: int
    max_steps: int
    progress: str
    question: str
    finished: bool
    created_at: datetime

    def can(self, action: str) -> bool:
        return self.status in ALLOWED[action]


def task_state(task: TaskRecord) -> TaskState:
    return TaskState(
        id=task.id,
        goal=task.goal,
        status=task.status,
        label=LABELS.get(task.status, task.status),
        badge=BADGES.get(task.status, ""),
        step=task.step,
        max_steps=task.budget.max_steps,
        progress=(
            f"step {task.step} of {task.budget.max_steps} · {duration(task.seconds_used)} · "
            f"{tokens(task.tokens_used)} tokens"
        ),
        question=(task.question or "") if task.status == WAITING else "",
        finished=task.status in FINISHED,
        created_at=task.created_at,
    )


def _event(site: Site, event: TaskEventRecord, zone: str) -> dict[str, Any]:
    return {
        "id": event.id,
        "step": event.step,
        "kind": event.kind,
        "text": event.text,
        "at": site.when(event.created_at, zone),
    }


async def owned(site: Site, viewer: Viewer, task_id: int) -> TaskRecord:
    """The viewer's task, or NotFound (also for another person's task)."""
    task = await site.parts.tasks.owned(viewer.user_id, task_id)
    if task is None:
        raise NotFound()
    return task


def _back(form: MultiDictProxy[str], task_id: int) -> str:
    """Where an action returns to: the page its button was on."""
    return {"overview": ROOT, "tasks": TASKS}.get(form.get("back", ""), f"{TASKS}/{task_id}")


def install(site: Site) -> None:
    site.menu(TASKS, "Tasks")
    # Each button's statuses, for live.js to show and hide it as the task moves on.
    site.templates.globals["shown_in"] = {
        action: " ".join(statuses) for action, statuses in ALLOWED.items()
    }

    @site.page(TASKS)
    async def task_list(request: web.Request, viewer: Viewer) -> web.StreamResponse:
        raw = request.query.get("before", "")
        before = int(raw) if raw.isdigit() else None
        found = await site.parts.task_store.find(
            user_id=viewer.user_id, top_level=True, before=before, limit=PAGE_SIZE + 1
        )
        shown = found[:PAGE_SIZE]
        return site.render(
            request,
            viewer,
            "tasks.html",
            title="Tasks",
            tasks=[task_state(task) for task in shown],
            zone=await site.zone(viewer),
            older=shown[-1].id if len(found) > PAGE_SIZE else None,
            paged=before is not None,
        )

    @site.page(TASKS + r"/{id:\d+}")
    async def task_page(request: web.Request, viewer: Viewer) -> web.StreamResponse:
        task = await owned(site, viewer, int(request.match_info["id"]))
        zone = await site.zone(viewer)
        events = await site.parts.task_store.events(task.id, limit=EVENTS_SHOWN)
        children = await site.parts.task_store.find(parent_id=task.id, limit=50)
        return site.render(
            request,
            viewer,
            "task.html",
            title=f"Task #{task.id}",
            task=task,
            state=task_state(task),
            events=[_event(site, event, zone) for event in events],
            children=[task_state(child) for child in reversed(children)],
            zone=zone,
        )

    @site.page(TASKS + r"/{id:\d+}/status")
    async def task_status(request: web.Request, viewer: Viewer) -> web.StreamResponse:
        task = await owned(site, viewer, int(request.match_info["id"]))
        # Events only for the task page's log: those after the one it shows last.
        raw = request.query.get("after", "")
        after = int(raw) if raw.isdigit() else None
        events = [] if after is None else await site.parts.task_store.events(task.id, limit=50)
        zone = await site.zone(viewer)
        state = task_state(task)
        return web.json_response(
            {
                "id": state.id,
                "status": state.status,
                "label": state.label,
                "badge": state.badge,
                "step": state.step,
                "max_steps": state.max_steps,
                "progress": state.progress,
                "question": state.question,
                "finished": state.finished,
                "events": [
                    _event(site, e, zone) for e in events if after is not None and e.id > after
                ],
            }
        )

    def task_action(verb: str, act: Callable[[int, int], Awaitable[str]]) -> None:
        @site.action(TASKS + r"/{id:\d+}/" + verb)
        async def handler(request: web.Request, viewer: Viewer, form: MultiDictProxy[str]) -> Done:
            task = await owned(site, viewer, int(request.match_info["id"]))
            said = await act(viewer.user_id, task.id)
            return Done(_back(form, task.id), said, failed=task.status not in ALLOWED[verb])

    task_action("pause", site.parts.tasks.pause)
    task_action("resume", site.parts.tasks.resume)
    task_action("cancel", site.parts.tasks.cancel)

    @site.action(TASKS + r"/{id:\d+}/answer")
    async def answer(request: web.Request, viewer: Viewer, form: MultiDictProxy[str]) -> Done:
        task = await owned(site, viewer, int(request.match_info["id"]))
        text = form.get("answer", "").strip()
        if not text:
            return Done(_back(form, task.id), "Write your answer first.", failed=True)
        said = await site.parts.tasks.answer(viewer.user_id, task.id, text)
        return Done(_back(form, task.id), said, failed=task.status != WAITING)
