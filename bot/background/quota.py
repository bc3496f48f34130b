"""Tasks and the person's token budget: a task whose model call is refused (the budget
is spent, bot/people/quota.py) is paused with a message, and resumes by itself once a
call for the person would be admitted again — the next day or month, or sooner when an
owner raises the budget.

Why an event and not a column: a task paused for the budget is one whose latest event
is `quota_paused`. A person's own /pause writes a later event, so their pause is never
undone by the budget; the event log survives restarts, so a paused task resumes after
one too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from bot.background.progress import to_chat
from bot.chat.delivery import Deliverer
from bot.llm.quota import QuotaExceeded
from memory.tasks import PAUSED, QUEUED, RUNNING, TaskStore

log = logging.getLogger(__name__)

QUOTA_PAUSED = "quota_paused"
# How often paused tasks are looked at (the runner's loop; a raise from the command
# line is seen within this long).
RECHECK_SECONDS = 60.0

Allows = Callable[[int], Awaitable[bool]]  # may the person's calls go out now?


class QuotaPauses:
    def __init__(self, store: TaskStore, deliverer: Deliverer, allows: Allows) -> None:
        self._store = store
        self._deliverer = deliverer
        self._allows = allows

    async def pause(self, task_id: int, refused: QuotaExceeded) -> None:
        """Pause a running top-level task whose step was refused, telling the chat."""
        task = await self._store.get(task_id)
        if task is None or task.status != RUNNING:
            return
        text = (
            f"⏸ Task #{task.id} is paused: {refused.budget}. It continues by itself when "
            "the budget allows again (or when an owner raises it)."
        )
        key = f"quota-paused:{task.step}:{time.time_ns()}"
        # Said for quiet tasks too (scheduled prompts, heartbeats): else they would just
        # not happen, unexplained.
        messages = [to_chat(task, key, text)]
        moved = await self._store.move(
            task.id, (RUNNING,), PAUSED, event=QUOTA_PAUSED, text=refused.budget, messages=messages
        )
        if moved is not None:
            log.info("task %s paused: the token budget of user %s is spent", task.id, task.user_id)
            self._deliverer.notify()

    async def resume_due(self) -> int:
        """Queue again every task paused for a budget that allows calls now; how many."""
        resumed, allowed = 0, dict[int, bool]()
        for task in await self._store.find(statuses=(PAUSED,), top_level=True, limit=10_000):
            latest = await self._store.events(task.id, limit=1)
            if not latest or latest[-1].kind != QUOTA_PAUSED:
                continue  # paused by the person: only they resume it
            if task.user_id not in allowed:
                allowed[task.user_id] = await self._allows(task.user_id)
            if not allowed[task.user_id]:
                continue
            key = f"quota-resumed:{task.step}:{time.time_ns()}"
            text = f"▶️ Task #{task.id} continues: your token budget allows it again."
            messages = [to_chat(task, key, text)]
            moved = await self._store.move(
                task.id,
                (PAUSED,),
                QUEUED,
                event="resumed",
                text="the token budget allows it again",
                messages=messages,
            )
            resumed += moved is not None
        if resumed:
            self._deliverer.notify()
        return resumed
