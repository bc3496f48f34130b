"""Asking again when the endpoint rejects a request as invalid, so that one stored
message can never make a conversation unanswerable for good.

Every request carries the stored history, so a message some server cannot take (an
image for a model without vision, tool steps for a chat template without tools, a
null content) would fail every later turn too. The rules:

- Only errors that say the request is malformed count: HTTP 400 or 422, or a 500 whose
  text says "validation" (llama-cpp-python answers pydantic errors so). Errors about
  the window's size are not (compaction handles those), nor key, model or quota errors
  (they have their own status codes).
- The request is sent again once, repaired: every content made a string (image parts
  become a placeholder, null becomes ""), tool steps written as plain text (the calls
  in the assistant's message, each result as a user message saying whose it is), and
  neighbouring messages of one role joined, as strict templates require.
- A request with nothing to repair is not sent again.
- The person is told: the repaired answer carries a notice of what was left out.

It lives in the client, not the agent loop, because it is about what an endpoint
accepts, and every caller (turns, task steps, summaries) benefits alike.
"""

from __future__ import annotations

import json
from typing import Any

import openai

IMAGE_PLACEHOLDER = "[an image was here; the model service could not take it]"
_OVERFLOW_WORDS = ("context", "too long", "too many tokens", "exceed")
# What each repair leaves out, as the notice names it.
IMAGES = "the images"
TOOL_STEPS = "the tool steps in their usual form (they went as plain text)"
OTHER = "the parts of messages it could not read"


def rejected_as_invalid(exc: BaseException) -> bool:
    """Whether the endpoint refused the request as malformed (not too long, not the key)."""
    if not isinstance(exc, openai.APIStatusError):
        return False
    text = error_text(exc).lower()
    if any(word in text for word in _OVERFLOW_WORDS):
        return False
    return exc.status_code in (400, 422) or (exc.status_code == 500 and "validation" in text)


def error_text(exc: openai.APIStatusError) -> str:
    """The error's message as the endpoint wrote it (its JSON body, else the status line)."""
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return exc.message


def repaired(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str] | None:
    """The messages in the plainest shape every server takes and the notice for the
    person ("" when nothing of meaning was left out, e.g. a null made ""), or None when
    they are in that shape already."""
    left_out: dict[str, None] = {}
    changed = False
    names: dict[str, str] = {}
    plain: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        content = message.get("content")
        changed = changed or not isinstance(content, str)
        text = _as_text(content, left_out)
        if role == "assistant" and message.get("tool_calls"):
            left_out[TOOL_STEPS] = None
            text = "\n".join(filter(None, [text, *_calls(message["tool_calls"], names)]))
        elif role == "tool":
            left_out[TOOL_STEPS] = None
            name = names.get(str(message.get("tool_call_id")), "a tool")
            role, text = "user", f"[Result of {name}:]\n{text}"
        if plain and plain[-1]["role"] == role and role != "system":
            plain[-1]["content"] += f"\n\n{text}"
            changed = True
        else:
            plain.append({"role": role, "content": text})
    if not changed and not left_out:
        return None
    return plain, notice(list(left_out)) if left_out else ""


def notice(left_out: list[str]) -> str:
    """What the person is told when their conversation went out repaired."""
    listed = (
        left_out[0] if len(left_out) == 1 else ", ".join(left_out[:-1]) + f" and {left_out[-1]}"
    )
    return (
        f"(Note: the model service refused our conversation as it was, so I sent it again "
        f"without {listed}.)"
    )


def _as_text(content: Any, left_out: dict[str, None]) -> str:
    if isinstance(content, str):
        return content
    if content is None:
        return ""
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text":
                texts.append(str(part.get("text", "")))
            else:
                left_out[IMAGES if _is_image(part) else OTHER] = None
                texts.append(IMAGE_PLACEHOLDER if _is_image(part) else "")
        return "\n".join(t for t in texts if t)
    left_out[OTHER] = None
    return json.dumps(content, ensure_ascii=False)


def _is_image(part: Any) -> bool:
    return isinstance(part, dict) and part.get("type") == "image_url"


def _calls(calls: Any, names: dict[str, str]) -> list[str]:
    lines = []
    for call in calls if isinstance(calls, list) else []:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            continue
        name = str(function.get("name", "a tool"))
        names[str(call.get("id"))] = name
        lines.append(f"[I called {name} with {function.get('arguments') or '{}'}]")
    return lines
