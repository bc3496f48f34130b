"""The Bot API client: PTB's ExtBot, made to survive updates it cannot read.

PTB parses a whole getUpdates batch at once. One update it cannot parse (a
field missing, a shape from a newer Bot API) fails the batch, the offset never
moves past it, and the same batch is fetched again forever: one bad update
would silence the bot. Here each update is checked on its own, and one that
cannot be read is replaced by its bare id, so it is confirmed and skipped.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

log = logging.getLogger(__name__)


class TolerantBot(ExtBot[None]):
    # Whether the last getUpdates call worked (None: none made yet), for /readyz.
    polling_works: bool | None = None

    async def _post(self, endpoint: str, data: Any = None, **kwargs: Any) -> Any:
        if endpoint != "getUpdates":
            return await super()._post(endpoint, data, **kwargs)
        try:
            result = await super()._post(endpoint, data, **kwargs)
        except Exception:
            self._note_polling(False)
            raise
        self._note_polling(True)
        return [self._readable(raw) for raw in result] if isinstance(result, list) else result

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
