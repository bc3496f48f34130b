"""Request bodies as JSON bytes, the same way every time and cheaply."""

from __future__ import annotations

import json
from typing import Any

# As the openai client encodes bodies: compact, UTF-8, no NaN.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_KEPT_FRAGMENTS = 16


class RequestEncoder:
    """Request bodies as JSON bytes, with the parts that repeat encoded once.

    The system prompt and the tool schemas are the same objects in every request
    (PromptBuilder and ToolRegistry keep them while unchanged) and most of a short
    conversation's body; their JSON is kept by object identity, so each request
    encodes only its history and volatile note.
    """

    def __init__(self) -> None:
        self._kept: dict[int, tuple[object, str]] = {}

    def encode(self, request: dict[str, Any]) -> bytes:
        parts = []
        for key, value in request.items():
            if key == "tools":
                text = self._fragment(value)
            elif key == "messages" and value:
                rest = _JSON.encode(value[1:])
                text = f"[{self._fragment(value[0])}{',' if len(value) > 1 else ''}{rest[1:]}"
            else:
                text = _JSON.encode(value)
            parts.append(f"{_JSON.encode(key)}:{text}")
        return ("{" + ",".join(parts) + "}").encode()

    def _fragment(self, value: object) -> str:
        kept = self._kept.get(id(value))
        if kept is not None and kept[0] is value:
            return kept[1]
        text = _JSON.encode(value)
        if len(self._kept) >= _KEPT_FRAGMENTS:
            self._kept.clear()
        self._kept[id(value)] = (value, text)  # holding it keeps its id from being reused
        return text
