"""Tools the model can call: typed async functions with a pydantic argument model.

The JSON schema sent to the model is derived from the argument model; nothing
is written by hand. Tools get a `ToolContext`, never the whole app.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, get_type_hints
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError

from bot.errors import ToolError
from memory.conversations import ConversationRecord, UserRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ToolContext:
    """What a tool may know and use during one turn."""

    user: UserRecord
    conversation: ConversationRecord
    timezone: ZoneInfo
    now: Callable[[], datetime]


ToolFunction = Callable[[ToolContext, Any], Awaitable[str]]


def _strip_titles(schema: Any) -> Any:
    """Drop pydantic's auto-generated titles: they cost tokens and say nothing."""
    if isinstance(schema, dict):
        return {k: _strip_titles(v) for k, v in schema.items() if k != "title"}
    if isinstance(schema, list):
        return [_strip_titles(v) for v in schema]
    return schema


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    args: type[BaseModel]
    run: ToolFunction

    def schema(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": _strip_titles(self.args.model_json_schema()),
            },
        }


def tool(func: ToolFunction) -> Tool:
    """Make a Tool from `async def name(ctx: ToolContext, args: ArgsModel) -> str`.

    The docstring is the description the model reads.
    """
    if not inspect.iscoroutinefunction(func):
        raise TypeError(f"tool {func.__name__} must be an async function")
    hints = get_type_hints(func)
    params = list(inspect.signature(func).parameters)
    if len(params) != 2:
        raise TypeError(f"tool {func.__name__} must take (ctx, args)")
    args_model = hints[params[1]]
    if not (isinstance(args_model, type) and issubclass(args_model, BaseModel)):
        raise TypeError(f"tool {func.__name__}: args must be a pydantic model")
    description = inspect.cleandoc(func.__doc__ or "").strip()
    if not description:
        raise TypeError(f"tool {func.__name__} needs a docstring: the model reads it")
    return Tool(func.__name__, description, args_model, func)


@dataclass(frozen=True)
class ToolResult:
    text: str
    ok: bool


def _validation_summary(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "arguments"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


class ToolRegistry:
    """The tools offered to the model, in a fixed order (cache-friendly)."""

    def __init__(
        self, tools: Iterable[Tool] = (), *, output_chars: int = 16_000, timeout: float = 60.0
    ) -> None:
        self._tools: dict[str, Tool] = {}
        self.output_chars = output_chars
        self.timeout = timeout
        for item in tools:
            self.add(item)
        self._schemas: list[dict[str, Any]] | None = None

    def add(self, item: Tool) -> None:
        if item.name in self._tools:
            raise ValueError(f"tool {item.name!r} is registered twice")
        self._tools[item.name] = item
        self._schemas = None

    @property
    def tools(self) -> list[Tool]:
        """The registered tools, in name order."""
        return [self._tools[name] for name in self.names]

    @property
    def names(self) -> list[str]:
        return sorted(self._tools)

    def schemas(self) -> list[dict[str, Any]]:
        """Tool schemas sorted by name; the same list object while tools are unchanged."""
        if self._schemas is None:
            self._schemas = [self._tools[name].schema() for name in self.names]
        return self._schemas

    async def execute(self, ctx: ToolContext, name: str, arguments: str) -> ToolResult:
        """Run one tool call. Every failure becomes a message the model can act on."""
        found = self._tools.get(name)
        if found is None:
            available = ", ".join(self.names) or "none"
            return ToolResult(
                f"Error: there is no tool named {name!r}. Available: {available}.", False
            )
        try:
            raw = json.loads(arguments or "{}")
        except json.JSONDecodeError as exc:
            return ToolResult(
                f"Error: the arguments are not valid JSON ({exc.msg} at position {exc.pos}). "
                "Send one JSON object that matches the tool's parameters.",
                False,
            )
        try:
            args = found.args.model_validate(raw)
        except ValidationError as exc:
            return ToolResult(f"Error: invalid arguments: {_validation_summary(exc)}.", False)
        try:
            async with asyncio.timeout(self.timeout):
                text = await found.run(ctx, args)
        except ToolError as exc:
            return ToolResult(f"Error: {exc}", False)
        except TimeoutError:
            return ToolResult(
                f"Error: the tool took longer than {self.timeout:g} s and was stopped.", False
            )
        except Exception:
            log.exception("tool %s failed", name)
            return ToolResult(
                "Error: the tool failed unexpectedly; the details were logged.", False
            )
        return ToolResult(self._cap(str(text)), True)

    def _cap(self, text: str) -> str:
        if len(text) <= self.output_chars:
            return text
        return (
            text[: self.output_chars]
            + f"\n[output truncated: {len(text)} characters, showing the first {self.output_chars}]"
        )
