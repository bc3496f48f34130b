"""Jobs as people and tools see them, and what happens when one fires.

Kinds: `reminder` (a message), `prompt` (runs the agent with a prompt as a quiet
background task and posts the result), `instruction` (a standing instruction,
looked at by the person's heartbeat) and `heartbeat` (one per person, opt-in).
Timing is APScheduler's (bot/background/scheduler.py); this module owns what a firing means.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.background.tasks import Tasks
from bot.background.when import (
    Schedule,
    WhenError,
    fire_times_between,
    parse_when,
    trigger_for,
    zone_named,
)
from bot.chat.delivery import Deliverer
from memory.conversations import ConversationRecord, ConversationStore, UserRecord
from memory.deliveries import OutgoingMessage
from memory.jobs import ACTIVE, JobRecord, JobStore

log = logging.getLogger(__name__)

KINDS = ("reminder", "prompt", "instruction")
MAX_TEXT = 2_000
MAX_ACTIVE_PER_USER = 100
LABELS = {"reminder": "⏰", "prompt": "🔁", "instruction": "📌", "heartbeat": "🫀"}


class Timer(Protocol):
    """What Jobs needs from the scheduler: start and stop timing a job."""

    async def add(self, job: JobRecord) -> None: ...

    async def remove(self, job_id: int) -> None: ...


class Jobs:
    def __init__(
        self,
        store: JobStore,
        users: ConversationStore,
        tasks: Tasks,
        deliverer: Deliverer,
        *,
        grace_seconds: int,
        late_after_seconds: float,
        heartbeat_minutes: int,
        default_timezone: str,
        now: Callable[[], datetime],
    ) -> None:
        self.store = store
        self._users = users
        self._tasks = tasks
        self._deliverer = deliverer
        self.grace = timedelta(seconds=grace_seconds)
        self._late_after = timedelta(seconds=late_after_seconds)
        self.heartbeat_minutes = heartbeat_minutes
        self._default_timezone = default_timezone
        self._now = now
        self.timer: Timer | None = None  # set while this process leads

    # -- what people and tools ask for -------------------------------------------

    async def zone_of(self, user_id: int) -> ZoneInfo:
        user = await self._users.get_user(user_id)
        return ZoneInfo((user.timezone if user else None) or self._default_timezone)

    async def schedule(
        self, user: UserRecord, conversation: ConversationRecord, kind: str, text: str, when: str
    ) -> JobRecord:
        """Parse `when` in the person's time zone and create the job; WhenError if bad."""
        if kind not in KINDS:
            raise WhenError(f"unknown job kind {kind!r}")
        text = text.strip()
        limit = self._tasks.limits.goal_chars if kind == "prompt" else MAX_TEXT
        if not text:
            raise WhenError("say what the job should say or do")
        if len(text) > limit:
            raise WhenError(f"the text is {len(text):,} characters; the limit is {limit:,}")
        active = await self.store.find(user_id=user.id, limit=MAX_ACTIVE_PER_USER + 1)
        if len(active) >= MAX_ACTIVE_PER_USER:
            raise WhenError(
                f"you have {MAX_ACTIVE_PER_USER} active jobs; cancel some (/jobs) first"
            )
        schedule = parse_when(when, await self.zone_of(user.id), self._now())
        return await self.add(user.id, conversation.id, kind, text, schedule)

    async def add(
        self, user_id: int, conversation_id: int, kind: str, text: str, schedule: Schedule
    ) -> JobRecord:
        """Create a job from an already checked schedule and start timing it."""
        first = schedule.trigger().get_next_fire_time(None, self._now())
        job = await self.store.create(
            user_id=user_id,
            conversation_id=conversation_id,
            kind=kind,
            text=text,
            schedule=schedule.spec,
            description=schedule.description,
            next_run_at=first,
        )
        if self.timer is not None and kind != "instruction":
            await self.timer.add(job)
        return job

    async def cancel(self, user_id: int | None, job_id: int) -> JobRecord | None:
        job = await self.store.set_status(job_id, "cancelled", user_id=user_id)
        if job is not None and self.timer is not None:
            await self.timer.remove(job_id)
        return job

    async def heartbeat(
        self, user: UserRecord, conversation: ConversationRecord, minutes: int | None
    ) -> str:
        """Turn the person's heartbeat on (every `minutes`) or off (`None`)."""
        current = await self.store.heartbeat_of(user.id)
        if current is not None:
            await self.cancel(user.id, current.id)
        if minutes is None:
            return "Heartbeat is off." if current else "Heartbeat was not on."
        seconds = minutes * 60
        start = self._now() + timedelta(seconds=seconds)
        spec = {"every": seconds, "start": start.isoformat()}
        await self.add(
            user.id, conversation.id, "heartbeat", "", Schedule(spec, f"every {minutes} min")
        )
        return (
            f"Heartbeat is on: every {minutes} minutes I look at your standing instructions "
            "and act on the ones that are due (no model call when nothing is due). Add one by "
            'asking, e.g. "every morning at 8 check my open tasks".'
        )

    async def set_timezone(self, user_id: int, name: str) -> str:
        zone = zone_named(name)
        await self._users.set_timezone(user_id, zone.key)
        local = self._now().astimezone(zone)
        return f"Your time zone is now {zone.key} (it is {local:%H:%M} there)."

    def describe(self, job: JobRecord, zone: ZoneInfo) -> str:
        when = (
            job.next_run_at.astimezone(zone).strftime("%a %d %b %H:%M") if job.next_run_at else "—"
        )
        text = f": {job.text[:80]}" if job.text else ""
        return f"{LABELS.get(job.kind, '')} #{job.id} {job.kind} · {job.description} · next {when}{text}"

    # -- firing (called in the leader) ------------------------------------------

    async def fire(self, job_id: int) -> None:
        """One run of a job, as APScheduler fired it. Idempotent per scheduled time."""
        fired_at = self._now()
        job = await self.store.get(job_id)
        if job is None or job.status != ACTIVE:
            if self.timer is not None:
                await self.timer.remove(job_id)
            return
        due = fire_times_between(job.schedule, job.next_run_at or fired_at, fired_at)
        scheduled = due[-1] if due else (job.next_run_at or fired_at)
        following = trigger_for(job.schedule).get_next_fire_time(scheduled, fired_at)
        status = ACTIVE if following is not None else "done"
        key = f"job:{job.id}:{scheduled.isoformat()}"
        note = await self._lateness(job, scheduled, fired_at, skipped=max(0, len(due) - 1))
        messages: list[OutgoingMessage] = []
        if job.kind == "reminder":
            messages.append(self._message(job, key, f"⏰ Reminder: {job.text}{note}"))
        elif job.kind == "prompt":
            label = f"🔁 Scheduled: {job.text[:100]}{note}"
            await self._start_task(job, job.text, label, key)
        elif job.kind == "heartbeat":
            await self._heartbeat(job, fired_at, key)
        await self.store.record_fire(
            job.id, fired_at=fired_at, next_run_at=following, messages=messages, status=status
        )
        self._deliverer.notify()

    async def missed(self, job_id: int, scheduled: datetime) -> None:
        """APScheduler gave up on a run (later than the grace window): say so, never drop it."""
        job = await self.store.get(job_id)
        if job is None or job.status != ACTIVE:
            return
        now = self._now()
        following = trigger_for(job.schedule).get_next_fire_time(scheduled, now)
        while following is not None and following <= now:
            following = trigger_for(job.schedule).get_next_fire_time(following, now)
        zone = await self.zone_of(job.user_id)
        due = scheduled.astimezone(zone).strftime("%a %d %b %H:%M")
        why = f"it was due {due} ({zone.key}) and I was not running then"
        messages = []
        if job.kind == "reminder":
            text = f"⏰ Missed reminder ({why}): {job.text}"
            messages.append(
                self._message(job, f"job:{job.id}:missed:{scheduled.isoformat()}", text)
            )
        elif job.kind == "prompt":
            text = f"🔁 I skipped a scheduled run of “{job.text[:100]}”: {why}."
            messages.append(
                self._message(job, f"job:{job.id}:missed:{scheduled.isoformat()}", text)
            )
        status = ACTIVE if following is not None else "missed"
        log.warning("job %s missed its run at %s", job_id, scheduled)
        await self.store.record_fire(
            job.id, fired_at=now, next_run_at=following, messages=messages, status=status
        )
        self._deliverer.notify()

    async def _lateness(
        self, job: JobRecord, scheduled: datetime, fired_at: datetime, *, skipped: int
    ) -> str:
        notes = []
        if fired_at - scheduled > self._late_after:
            zone = await self.zone_of(job.user_id)
            late = int((fired_at - scheduled).total_seconds() // 60)
            due = scheduled.astimezone(zone).strftime("%H:%M")
            notes.append(f"late: this was due at {due} ({late} min ago); I was not running then")
        if skipped:
            notes.append(f"{skipped} earlier runs were missed while I was not running")
        return f"\n({'; '.join(notes)}.)" if notes else ""

    def _message(self, job: JobRecord, key: str, text: str) -> OutgoingMessage:
        return OutgoingMessage(key, job.channel, job.chat_id, job.thread_id, text, in_history=True)

    async def _start_task(self, job: JobRecord, goal: str, label: str, origin: str) -> None:
        await self._tasks.store.create(
            user_id=job.user_id,
            conversation_id=job.conversation_id,
            goal=goal,
            budget=self._tasks.budget(),
            quiet=True,
            origin=origin,
            checkpoint={"label": label},
        )
        self._tasks.wake()

    async def _heartbeat(self, job: JobRecord, fired_at: datetime, key: str) -> None:
        """Act on the person's due standing instructions; no model call when none is due."""
        due = await self.store.due_instructions(job.user_id, fired_at)
        if not due:
            return
        lines = "\n".join(f"{n}. {item.text}" for n, item in enumerate(due, 1))
        goal = (
            "These standing instructions of the person are due now. Do each one and report "
            f"briefly what you did or found:\n{lines}"
        )
        label = f"🫀 Heartbeat: {len(due)} standing instruction{'s' if len(due) > 1 else ''} due"
        await self._start_task(job, goal, label, key)
        next_runs = {}
        for item in due:
            trigger = trigger_for(item.schedule)
            following = trigger.get_next_fire_time(item.next_run_at, fired_at)
            while following is not None and following <= fired_at:
                following = trigger.get_next_fire_time(following, fired_at)
            next_runs[item.id] = following
        await self.store.set_next_runs(next_runs, fired_at)
