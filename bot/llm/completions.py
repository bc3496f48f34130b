"""Reading chat-completion responses and streamed chunks as plain JSON.

Providers differ in what they fill in, and a misbehaving endpoint can send
anything, so every field is read defensively; a response we cannot make sense
of raises MalformedResponse, which the client treats like any failed call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from memory.usage import LLMCallRecord


class MalformedResponse(ValueError):
    """The endpoint answered with something that is not a usable completion."""


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    # Counted by us because the endpoint reported nothing (see LLM._with_usage).
    estimated: bool = False


@dataclass(frozen=True)
class Completion:
    content: str
    tool_calls: tuple[ToolCall, ...]
    usage: Usage
    model: str
    record: LLMCallRecord | None = None  # the call's usage row, set by the client
    # For the person, when the request had to be repaired to be accepted (repair.py).
    notice: str = ""


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def read_usage(usage: Any) -> Usage:
    """Token counts from a usage object, whichever fields the provider fills in."""
    if not isinstance(usage, dict):
        return Usage()
    details = usage.get("prompt_tokens_details")
    cached = _int(details.get("cached_tokens")) if isinstance(details, dict) else 0
    if not cached:
        cached = _int(usage.get("prompt_cache_hit_tokens"))  # DeepSeek
    return Usage(
        prompt_tokens=_int(usage.get("prompt_tokens")),
        completion_tokens=_int(usage.get("completion_tokens")),
        cached_tokens=cached,
    )


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedResponse(f"{what} is not an object")
    return value


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def parse_completion(data: Any, model: str) -> Completion:
    """A non-streamed response body."""
    body = _mapping(data, "response")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices:
        raise MalformedResponse("response has no choices")
    message = _mapping(_mapping(choices[0], "choice").get("message"), "message")
    calls: list[ToolCall] = []
    for call in message.get("tool_calls") or ():
        function = _mapping(_mapping(call, "tool call").get("function"), "function")
        name = _text(function.get("name"))
        if name:
            calls.append(
                ToolCall(
                    id=_text(call.get("id")) or f"call_{len(calls)}",
                    name=name,
                    arguments=_text(function.get("arguments")) or "{}",
                )
            )
    return _finished(
        _text(message.get("content")), tuple(calls), read_usage(body.get("usage")), model
    )


def _finished(content: str, calls: tuple[ToolCall, ...], usage: Usage, model: str) -> Completion:
    if not content and not calls:
        raise MalformedResponse("empty answer: neither text nor tool calls")
    return Completion(content, calls, usage, model)


@dataclass
class StreamAccumulator:
    """Builds a completion from streamed chunks; tool calls arrive in pieces by index."""

    text: list[str] = field(default_factory=list)
    calls: dict[int, dict[str, Any]] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    finished: bool = False  # a choice said why it ended (finish_reason)

    @property
    def empty(self) -> bool:
        """No text, no tool call and no end: the stream said nothing at all."""
        return not self.text and not self.calls and not self.finished

    def add(self, chunk: Any) -> str:
        """Take one chunk; returns the text it added (may be empty)."""
        body = _mapping(chunk, "chunk")
        if body.get("usage"):
            self.usage = read_usage(body["usage"])
        added = []
        for choice in body.get("choices") or ():
            choice = _mapping(choice, "choice")
            self.finished = self.finished or bool(choice.get("finish_reason"))
            delta = choice.get("delta")
            if not isinstance(delta, dict):
                continue
            for piece in delta.get("tool_calls") or ():
                self._add_tool_piece(_mapping(piece, "tool call delta"))
            content = _text(delta.get("content"))
            if content:
                self.text.append(content)
                added.append(content)
        return "".join(added)

    def _add_tool_piece(self, piece: dict[str, Any]) -> None:
        index = piece.get("index")
        slot = self.calls.setdefault(
            index if isinstance(index, int) else len(self.calls),
            {"id": "", "name": "", "arguments": []},
        )
        if piece.get("id"):
            slot["id"] = _text(piece["id"])
        function = piece.get("function")
        if isinstance(function, dict):
            slot["name"] += _text(function.get("name"))
            slot["arguments"].append(_text(function.get("arguments")))

    def completion(self, model: str) -> Completion:
        calls = tuple(
            ToolCall(
                id=slot["id"] or f"call_{index}",
                name=slot["name"],
                arguments="".join(slot["arguments"]) or "{}",
            )
            for index, slot in sorted(self.calls.items())
            if slot["name"]
        )
        return _finished("".join(self.text), calls, self.usage, model)
