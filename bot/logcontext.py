"""What a log line knows beyond its message: whose turn it belongs to, and the JSON
form of a line (`CLAWLING_LOG_FORMAT=json`).

The session manager sets the person's and the conversation's ids around a turn
(`turn_context`); a context variable carries them into every task the turn starts, so
the model client's and the tools' lines carry them too without being handed them.
Redaction happens after formatting (bot/safety/redact.py), on the JSON text as on plain
text, so no secret reaches a log either way.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_TURN: ContextVar[dict[str, int] | None] = ContextVar("clawling_turn", default=None)


@contextmanager
def turn_context(*, user_id: int, conversation_id: int) -> Iterator[None]:
    """Log lines written inside (and in tasks started inside) carry these ids."""
    token = _TURN.set({"user_id": user_id, "conversation_id": conversation_id})
    try:
        yield
    finally:
        _TURN.reset(token)


def current_ids() -> dict[str, int]:
    """The ids of the turn being run here, or {} outside one."""
    return dict(_TURN.get() or {})


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, the turn's
    ids where known, and the traceback as one string when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **current_ids(),
        }
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["traceback"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The plain line, with `[user 3 conversation 7]` after the logger inside a turn."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(ids)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        ids = current_ids()
        record.ids = (
            f" [user {ids['user_id']} conversation {ids['conversation_id']}]" if ids else ""
        )
        return super().format(record)
