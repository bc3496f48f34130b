"""A reply shown while it is written, then delivered exactly once.

Private chats see it as a message draft; groups (and servers without drafts)
see one message edited in place. Previews change at most once per interval and
never hold up the model: `update()` only records the text, a background task
shows it. `finish()` waits for that task, so no preview can land after the
final text, then turns the preview into the final message — or sends the final
message when there was none — plus further messages when the reply is long.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from adapters.telegram.outgoing import Sender
from adapters.telegram.render import Chunk, preview, render
from adapters.telegram.retry import Flooded
from bot.chat.channels import ChatRef, MessageRef
from bot.chat.outbox import CURSOR
from bot.errors import TransportError

log = logging.getLogger(__name__)

_DRAFT_IDS = itertools.count(int(time.time()) % 1_000_000 * 1000 + 1)


@dataclass(frozen=True)
class StreamTiming:
    first_after: float = 0.4  # replies finished sooner arrive as one message, no preview
    interval: float = 1.0  # at most one preview change per interval


class TelegramStream:
    def __init__(
        self,
        sender: Sender,
        chat: ChatRef,
        reply_to: str | None,
        *,
        timing: StreamTiming,
        use_draft: bool,
        drafts_unsupported: Callable[[], None],
    ) -> None:
        self._sender = sender
        self._chat = chat
        self._reply_to = reply_to
        self._timing = timing
        self._use_draft = use_draft
        self._drafts_unsupported = drafts_unsupported
        self._draft_id = next(_DRAFT_IDS)
        self._latest = ""
        self._shown_source = ""
        self._shown: Chunk | None = None
        self._ref: MessageRef | None = None
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None

    async def update(self, text: str) -> None:
        if self._closing.is_set() or not text.strip():
            return
        self._latest = text
        self._changed.set()
        if self._pump is None:
            self._pump = asyncio.create_task(self._run())

    async def finish(self, text: str) -> list[MessageRef]:
        self._closing.set()
        self._changed.set()
        if self._pump is not None:
            try:
                await self._pump
            except Exception:
                log.exception("reply preview failed in %s", self._chat)
        chunks = render(text)
        refs = [await self._first(chunks[0])]
        for chunk in chunks[1:]:
            refs.append(await self._sender.send_chunk(self._chat, chunk, None))
        return refs

    async def _first(self, chunk: Chunk) -> MessageRef:
        """The preview message becomes the final one; otherwise send it."""
        if self._ref is not None:
            try:
                if chunk != self._shown:
                    await self._sender.edit_chunk(self._ref, chunk)
                return self._ref
            except TransportError as exc:
                # Nothing is lost: the final text goes out as a new message.
                log.warning("final edit in %s failed, sending instead: %s", self._chat, exc)
        return await self._sender.send_chunk(self._chat, chunk, self._reply_to)

    async def _run(self) -> None:
        await self._pause(self._timing.first_after)
        while not self._closing.is_set():
            if self._latest == self._shown_source:
                self._changed.clear()
                await self._changed.wait()
                continue
            source = self._latest
            pause = await self._show(preview(source + CURSOR))
            if pause is None:
                return
            self._shown_source = source
            await self._pause(pause)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    async def _show(self, chunk: Chunk) -> float | None:
        """Show one preview; the pause before the next, or None to stop previewing."""
        try:
            if self._use_draft:
                try:
                    await self._sender.draft(self._chat, self._draft_id, chunk)
                    return self._timing.interval
                except Flooded:
                    raise
                except TransportError as exc:
                    log.info("drafts unavailable (%s); editing a message instead", exc)
                    self._use_draft = False
                    self._drafts_unsupported()
            if self._ref is None:
                self._ref = await self._sender.send_chunk(self._chat, chunk, self._reply_to)
            else:
                await self._sender.preview_edit(self._ref, chunk)
            self._shown = chunk
            return self._timing.interval
        except Flooded as exc:
            return max(exc.seconds, self._timing.interval)
        except TransportError as exc:
            # Previews are a nicety; finish() still delivers the answer.
            log.warning("reply preview in %s stopped: %s", self._chat, exc)
            return None
