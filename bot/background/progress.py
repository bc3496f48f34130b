"""How a task shows itself in the chat: one status message edited in place, and texts
for milestones and results.

The status message is a nicety and may be lost with a platform error; milestones
and results go through deliveries (memory/deliveries.py) and are sent exactly once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from bot.chat.channels import ChatRef, MessageRef
from bot.chat.outbox import Outbox
from bot.errors import TransportError
from memory.deliveries import OutgoingMessage
from memory.tasks import UNTRUSTED, TaskRecord

log = logging.getLogger(__name__)

ICONS = {
    "queued": "🕒",
    "running": "⏳",
    "waiting_for_user": "❓",
    "paused": "⏸",
    "succeeded": "✅",
    "failed": "⚠️",
    "cancelled": "🛑",
}


def duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def tokens(count: int) -> str:
    return f"{count / 1000:.1f}k" if count >= 1000 else str(count)


def status_line(task: TaskRecord, doing: str = "") -> str:
    """`⏳ Task #5 · step 12/100 · search · 2m 05s · 12.3k tokens`."""
    parts = [
        f"{ICONS.get(task.status, '')} Task #{task.id}",
        f"step {task.step}/{task.budget.max_steps}",
    ]
    if doing:
        parts.append(doing)
    parts.append(duration(task.seconds_used))
    parts.append(f"{tokens(task.tokens_used)} tokens")
    if task.status not in ("running", "queued"):
        parts.append(task.status.replace("_", " "))
    return " · ".join(parts)


def to_chat(task: TaskRecord, key: str, text: str, *, in_history: bool = False) -> OutgoingMessage:
    """A message for the conversation the task belongs to (`in_history`: also stored
    in the conversation, for the model's later turns; as untrusted when the task read
    outside content)."""
    return OutgoingMessage(
        f"task:{task.id}:{key}",
        task.channel,
        task.chat_id,
        task.thread_id,
        text,
        in_history,
        untrusted=in_history and bool(task.checkpoint.get(UNTRUSTED)),
    )


def result_message(task: TaskRecord, status: str, text: str) -> OutgoingMessage:
    """The one final message of a task (its key is shared with /cancel's notice)."""
    label = task.checkpoint.get("label")
    if label:  # a task started by a recurring prompt or a heartbeat
        return to_chat(task, "result", f"{label}\n\n{text}", in_history=True)
    head = {
        "succeeded": f"✅ Task #{task.id} is done.",
        "failed": f"⚠️ Task #{task.id} stopped.",
    }.get(status, f"Task #{task.id}: {status}.")
    return to_chat(task, "result", f"{head}\n\n{text}", in_history=True)


class StatusMessage:
    """One message per task, edited at most every `interval` seconds."""

    def __init__(
        self,
        outbox: Outbox,
        chat: ChatRef,
        message_id: str | None,
        *,
        interval: float,
        remember: Callable[[str], Awaitable[None]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._outbox = outbox
        self._chat = chat
        self._ref = MessageRef(chat, message_id) if message_id else None
        self._interval = interval
        self._remember = remember
        self._clock = clock
        self._last = float("-inf")
        self._shown = ""

    async def show(self, text: str, *, force: bool = False) -> None:
        if text == self._shown or (not force and self._clock() - self._last < self._interval):
            return
        self._last = self._clock()
        try:
            if self._ref is None:
                self._ref = await self._outbox.send(self._chat, text)
                await self._remember(self._ref.message_id)
            else:
                await self._outbox.edit(self._ref, text)
            self._shown = text
        except TransportError as exc:
            # The channel is not connected here, or the platform refused: progress
            # is best effort; milestones and the result are delivered regardless.
            log.debug("task status message not updated: %s", exc)
