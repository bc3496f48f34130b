"""The overview: what the assistant is doing for the person now — tool calls waiting for
their yes, tasks under way (live, see pages/tasks.py), reminders and jobs coming up.

Approve / Deny answer through `Approvals.decide`, what "yes", /approve and /deny call in
the chat, answered by the person's first account (`platform:id`) as in the chat, so the
audit trail's entry of the call says who said yes. Cancelling a job is `Jobs.cancel`,
what /cancel_job calls.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web
from multidict import MultiDictProxy

from bot.dashboard.access import Viewer
from bot.dashboard.pages.tasks import task_state
from bot.dashboard.site import ROOT, Done, NotFound, Site
from memory.approvals import WAITING as ASKED
from memory.jobs import ACTIVE, JobRecord
from memory.tasks import FINISHED, UNFINISHED

RECENT = 3
# Job kinds as people say them (the chat's /jobs shows the kind's own name).
KIND_NAMES = {"prompt": "scheduled task", "instruction": "standing instruction"}
_LATEST = datetime.max.replace(tzinfo=UTC)


def _next(job: JobRecord) -> datetime:
    """Sort key: the next run, jobs without one last."""
    moment = job.next_run_at
    if moment is None:
        return _LATEST
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def install(site: Site) -> None:
    site.menu(ROOT, "Overview")
    parts = site.parts

    @site.page(ROOT)
    async def overview(request: web.Request, viewer: Viewer) -> web.StreamResponse:
        unfinished = await parts.task_store.find(
            user_id=viewer.user_id, statuses=UNFINISHED, top_level=True, limit=50
        )
        finished = await parts.task_store.find(
            user_id=viewer.user_id, statuses=FINISHED, top_level=True, limit=RECENT
        )
        jobs = await parts.jobs.store.find(user_id=viewer.user_id)
        return site.render(
            request,
            viewer,
            "overview.html",
            title="Overview",
            approvals=await parts.approvals.waiting_of(viewer.user_id),
            running=[task_state(task) for task in unfinished],
            finished=[task_state(task) for task in finished],
            jobs=sorted(jobs, key=_next),
            kind_names=KIND_NAMES,
            zone=await site.zone(viewer),
        )

    async def answer(request: web.Request, viewer: Viewer, approve: bool) -> Done:
        approval_id = int(request.match_info["id"])
        record = await parts.approvals.record(approval_id)
        if record is None or record.user_id != viewer.user_id:
            raise NotFound()
        if approval_id not in {a.id for a in await parts.approvals.waiting_of(viewer.user_id)}:
            status = "answered" if record.status == ASKED else record.status
            return Done(ROOT, f"#{approval_id} is not waiting any more ({status}).", failed=True)
        person = await parts.people.person(viewer.user_id)
        by = person.label if person is not None else f"user:{viewer.user_id}"
        said = await parts.approvals.decide(
            record.conversation_id, viewer.user_id, approve, approval_id, by
        )
        return Done(ROOT, said)

    @site.action(ROOT + r"/approvals/{id:\d+}/approve")
    async def approve(request: web.Request, viewer: Viewer, _form: MultiDictProxy[str]) -> Done:
        return await answer(request, viewer, True)

    @site.action(ROOT + r"/approvals/{id:\d+}/deny")
    async def deny(request: web.Request, viewer: Viewer, _form: MultiDictProxy[str]) -> Done:
        return await answer(request, viewer, False)

    @site.action(ROOT + r"/jobs/{id:\d+}/cancel")
    async def cancel_job(request: web.Request, viewer: Viewer, _form: MultiDictProxy[str]) -> Done:
        job = await parts.jobs.store.get(int(request.match_info["id"]))
        if job is None or job.user_id != viewer.user_id:
            raise NotFound()
        if job.status != ACTIVE:
            return Done(ROOT, f"{job.kind.title()} #{job.id} is {job.status} already.", failed=True)
        cancelled = await parts.jobs.cancel(viewer.user_id, job.id)
        if cancelled is None:
            return Done(ROOT, f"{job.kind.title()} #{job.id} had just ended.", failed=True)
        return Done(ROOT, f"Cancelled {job.kind} #{job.id}.")
