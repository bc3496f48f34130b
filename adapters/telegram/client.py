"""The Bot API client: PTB's ExtBot, made to survive updates it cannot read.

PTB parses a whole getUpdates batch at once. One update it cannot parse (a
field missing, a shape from a newer Bot API) fails the batch, the offset never
moves past it, and the same batch is fetched again forever: one bad update
would silence the bot. Here each update is checked on its own, and one that
cannot be read is replaced by its bare id, so it is confirmed and skipped.

Telegram forgets updates once the next getUpdates asks for a later offset. PTB asks
for it as soon as it has queued a batch in memory, before any handler ran, so a
process killed then lost that batch. With `keep_updates_in`, each batch is first
stored (the inbox, bot/chat/inbox.py) and only then confirmed: the bot keeps the
offset itself and hands PTB nothing, and the inbox hands each update on, on this
replica or another. A batch that cannot be stored is not confirmed: the poll fails,
PTB waits and polls again, and Telegram sends the batch again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.error import NetworkError
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

log = logging.getLogger(__name__)


# Stores a polled batch (raw updates, in order) durably before it is confirmed.
UpdateKeeper = Callable[[list[dict[str, Any]]], Awaitable[None]]


class TolerantBot(ExtBot[None]):
    # Whether the last getUpdates call worked (None: none made yet), for /readyz.
    polling_works: bool | None = None
    _keeper: UpdateKeeper | None = None
    # The offset that confirms every batch kept so far (None: nothing kept yet).
    _kept_up_to: int | None = None

    def keep_updates_in(self, keeper: UpdateKeeper) -> None:
        """Store each polled batch with `keeper` before confirming it; PTB gets none."""
        object.__setattr__(self, "_keeper", keeper)

    async def _post(self, endpoint: str, data: Any = None, **kwargs: Any) -> Any:
        if endpoint != "getUpdates":
            return await super()._post(endpoint, data, **kwargs)
        if self._keeper is not None and self._kept_up_to is not None and isinstance(data, dict):
            data = {**data, "offset": max(data.get("offset") or 0, self._kept_up_to)}
        try:
            result = await super()._post(endpoint, data, **kwargs)
        except Exception:
            self._note_polling(False)
            raise
        self._note_polling(True)
        if not isinstance(result, list):
            return result
        readable = [self._readable(raw) for raw in result]
        if self._keeper is None or not readable:
            return readable
        await self._keep(readable)
        return []

    async def _keep(self, batch: list[Any]) -> None:
        ids = [raw["update_id"] for raw in batch if isinstance(raw, dict) and "update_id" in raw]
        # Unreadable updates are a bare id by now: confirmed, not stored.
        whole = [raw for raw in batch if isinstance(raw, dict) and len(raw) > 1]
        try:
            await self._keeper(whole)  # type: ignore[misc]
        except Exception as exc:
            self._note_polling(False)
            # PTB retries a TelegramError after a pause; the batch stays unconfirmed.
            raise NetworkError(f"could not store {len(whole)} polled updates: {exc}") from exc
        if ids:
            object.__setattr__(self, "_kept_up_to", max(ids) + 1)

    def polling_restarts(self) -> None:
        """Polling starts (again): no poll made yet."""
        object.__setattr__(self, "polling_works", None)

    def _note_polling(self, works: bool) -> None:
        # PTB freezes its objects' attributes after __init__; this one is ours.
        object.__setattr__(self, "polling_works", works)

    def _readable(self, raw: Any) -> Any:
        try:
            Update.de_json(raw, self)
        except Exception as exc:
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            log.warning("skipping Telegram update %s that could not be read: %r", update_id, exc)
            return {"update_id": update_id} if isinstance(update_id, int) else raw
        return raw


def make_bot(token: str, base_url: str, base_file_url: str, request_timeout: float) -> TolerantBot:
    return TolerantBot(
        token,
        base_url=base_url,
        base_file_url=base_file_url,
        request=HTTPXRequest(connection_pool_size=256, read_timeout=request_timeout),
        get_updates_request=HTTPXRequest(connection_pool_size=1),
    )
