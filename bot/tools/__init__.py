"""Tools the model can call: typed async functions with a pydantic argument model, one
module per group of tools. Tools get a `ToolContext`, never the whole app.

The JSON schema sent to the model is derived from the argument model; nothing
is written by hand. Safety rules wrap every call as hooks (bot/safety/).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, get_type_hints, overload
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError

from bot.errors import ToolError
from memory.conversations import ConversationRecord, UserRecord

log = logging.getLogger(__name__)


@dataclass
class TurnState:
    """What the tools of one turn (or one run of a task) know and learn about it."""

    # Where untrusted content in the model's context came from (web pages, files, MCP
    # results...): what was in the context when the turn began, and what was read since.
    untrusted: list[str] = field(default_factory=list)
    # Whether the person's private memories may be used: not in a group turn that
    # answers several people (one could surface another's private facts).
    private: bool = True
    # How many times untrusted content entered (a tool's output is untrusted when this
    # grows while it runs, even when the source was seen before).
    reads: int = 0

    def taint(self, source: str) -> None:
        """Untrusted content from `source` is now in the model's context."""
        self.reads += 1
        if source not in self.untrusted:
            self.untrusted.append(source)


@dataclass(frozen=True)
class ToolContext:
    """What a tool may know and use during one turn."""

    user: UserRecord
    conversation: ConversationRecord
    timezone: ZoneInfo
    now: Callable[[], datetime]
    turn: TurnState = field(default_factory=TurnState)


ToolFunction = Callable[[ToolContext, Any], Awaitable[str]]


# Keywords whose value maps names (of parameters, definitions) to schemas: the names
# are data, never keywords to strip.
_NAMED_SCHEMAS = frozenset({"properties", "patternProperties", "$defs", "definitions"})


def strip_keywords(schema: Any, keywords: set[str]) -> Any:
    """`schema` without the given keywords anywhere, keeping parameters of those names
    (a tool may well take a `title`)."""
    if isinstance(schema, list):
        return [strip_keywords(v, keywords) for v in schema]
    if not isinstance(schema, dict):
        return schema
    kept: dict[str, Any] = {}
    for key, value in schema.items():
        if key in keywords:
            continue
        if key in _NAMED_SCHEMAS and isinstance(value, dict):
            kept[key] = {name: strip_keywords(v, keywords) for name, v in value.items()}
        else:
            kept[key] = strip_keywords(value, keywords)
    return kept


def compact_schema(schema: Any) -> Any:
    """A pydantic JSON schema without what costs tokens and tells the model nothing:
    generated titles, `"default": null` / `""`, and `anyOf [X, null]` for optional
    fields (a field outside `required` may simply be left out)."""
    if isinstance(schema, list):
        return [compact_schema(v) for v in schema]
    if not isinstance(schema, dict):
        return schema
    options = schema.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options and len(options) == 2:
        kept = next(o for o in options if o != {"type": "null"})
        schema = {**{k: v for k, v in schema.items() if k != "anyOf"}, **kept}
    compact: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" or (key == "default" and value in (None, "")):
            continue
        if key in _NAMED_SCHEMAS and isinstance(value, dict):
            compact[key] = {name: compact_schema(v) for name, v in value.items()}
        else:
            compact[key] = compact_schema(value)
    return compact


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    args: type[BaseModel]
    run: ToolFunction
    # Changes anything that outlives the turn (memories, jobs, tasks, skills, files,
    # messages to anyone): while untrusted content is in the model's context, such
    # calls need the person's yes. The safe default: only tools declared read-only
    # are not side effects.
    side_effects: bool = True
    # Whether the tool said which it is (`read_only=` or `side_effects=`); a test
    # lists every tool and fails on an undeclared one.
    declared: bool = False
    # Returns content from outside (web, files, MCP): marked as untrusted data.
    untrusted_output: bool = False
    # Judges each call itself, instead of the side-effect rule: why this call needs the
    # person's yes, or None when it only reads (the shell's allowlist and folder checks).
    approval: Callable[[ToolContext, Any], str | None] | None = None
    # What a call does, in a few words, for confirmations ("run `ls`").
    summary: Callable[[Any], str] | None = None
    # A JSON schema given by someone else (MCP servers); ours derive from `args`.
    parameters: dict[str, Any] | None = None

    def schema(self) -> dict[str, Any]:
        parameters = self.parameters or compact_schema(self.args.model_json_schema())
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": parameters,
            },
        }

    def describe(self, args: BaseModel) -> str:
        if self.summary is not None:
            return self.summary(args)
        shown = json.dumps(args.model_dump(mode="json"), ensure_ascii=False)
        return f"{self.name} {shown if len(shown) <= 300 else shown[:299] + '…'}"


@overload
def tool(func: ToolFunction, /) -> Tool: ...


@overload
def tool(
    *,
    read_only: bool | None = None,
    side_effects: bool | None = None,
    untrusted_output: bool = False,
    approval: Callable[[ToolContext, Any], str | None] | None = None,
    summary: Callable[[Any], str] | None = None,
) -> Callable[[ToolFunction], Tool]: ...


def tool(
    func: ToolFunction | None = None,
    /,
    *,
    read_only: bool | None = None,
    side_effects: bool | None = None,
    untrusted_output: bool = False,
    approval: Callable[[ToolContext, Any], str | None] | None = None,
    summary: Callable[[Any], str] | None = None,
) -> Tool | Callable[[ToolFunction], Tool]:
    """Make a Tool from `async def name(ctx: ToolContext, args: ArgsModel) -> str`.

    The docstring is the description the model reads. Declare how the tool touches
    the world: `@tool(read_only=True)` or `@tool(side_effects=True)`. A bare `@tool`
    counts as side-effecting (and a test asks for the declaration).
    """
    if read_only is not None and side_effects is not None and read_only == side_effects:
        raise TypeError("a tool is either read_only or has side_effects, not both or neither")
    declared = read_only is not None or side_effects is not None
    effects = bool(side_effects) if side_effects is not None else not read_only

    def make(function: ToolFunction) -> Tool:
        made = _make_tool(function)
        return Tool(
            made.name,
            made.description,
            made.args,
            made.run,
            side_effects=effects,
            declared=declared,
            untrusted_output=untrusted_output,
            approval=approval,
            summary=summary,
        )

    return make if func is None else make(func)


def _make_tool(func: ToolFunction) -> Tool:
    if not inspect.iscoroutinefunction(func):
        raise TypeError(f"tool {func.__name__} must be an async function")
    hints = get_type_hints(func)
    params = list(inspect.signature(func).parameters)
    if len(params) != 2:
        raise TypeError(f"tool {func.__name__} must take (ctx, args)")
    args_model = hints[params[1]]
    if not (isinstance(args_model, type) and issubclass(args_model, BaseModel)):
        raise TypeError(f"tool {func.__name__}: args must be a pydantic model")
    # One line: the model reads it as prose, and line breaks cost tokens.
    description = " ".join(inspect.cleandoc(func.__doc__ or "").split())
    if not description:
        raise TypeError(f"tool {func.__name__} needs a docstring: the model reads it")
    return Tool(func.__name__, description, args_model, func)


@dataclass(frozen=True)
class ToolResult:
    text: str
    ok: bool
    untrusted: bool = False  # the text holds untrusted content (stored as such)


def _validation_summary(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "arguments"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


class ToolHook(Protocol):
    """Wraps every tool call (safety rules live here, not in each tool).

    `before` runs after the arguments validated and before the tool: return
    text to answer the model instead of running the call, or None to go on. It
    may wait (for a person's yes); the tool's time limit starts after it.
    `after` sees the text of a call that ran (its result or its ToolError).
    `finished` is told how every call whose arguments were valid ended (DONE, ERROR,
    TIMED_OUT, FAILED, CANCELLED, or NOT_RUN when a hook refused it — then possibly
    without its own `before` having run), after it ended, outside its time limit; what
    it raises is logged and changes nothing (the audit trail's entry of the call).
    """

    async def before(self, ctx: ToolContext, tool: Tool, args: BaseModel) -> str | None: ...

    def after(self, ctx: ToolContext, tool: Tool, args: BaseModel, text: str) -> str: ...

    async def finished(
        self, ctx: ToolContext, tool: Tool, args: BaseModel, outcome: str
    ) -> None: ...


# How a call ended, for `ToolHook.finished`.
DONE = "done"
ERROR = "error"  # the tool raised ToolError (its message went to the model)
TIMED_OUT = "timed out"
FAILED = "failed"  # an unexpected exception
CANCELLED = "cancelled"  # the turn was stopped while it ran
NOT_RUN = "not run"  # a hook refused it (no yes, or a safety check that failed)


class ToolRegistry:
    """The tools offered to the model, in a fixed order (cache-friendly)."""

    def __init__(
        self,
        tools: Iterable[Tool] = (),
        *,
        output_chars: int = 16_000,
        timeout: float = 60.0,
        hooks: Iterable[ToolHook] = (),
    ) -> None:
        self._tools: dict[str, Tool] = {}
        self.output_chars = output_chars
        self.timeout = timeout
        self.hooks = list(hooks)
        for item in tools:
            self.add(item)
        self._schemas: list[dict[str, Any]] | None = None

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

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
        for hook in self.hooks:
            try:
                refusal = await hook.before(ctx, found, args)
            except Exception:
                # A safety rule that cannot decide (e.g. the database failed while asking
                # for a yes) must not let the call through: fail closed.
                log.exception("tool %s: a safety check failed; the call was not made", name)
                refusal = "Not done: the safety check before this call failed; details were logged."
            if refusal is not None:
                await self._finished(ctx, found, args, NOT_RUN)
                return ToolResult(refusal, False)
        reads = ctx.turn.reads
        try:
            async with asyncio.timeout(self.timeout):
                text = await found.run(ctx, args)
        except ToolError as exc:
            text = self._after(ctx, found, args, f"Error: {exc}")
            await self._finished(ctx, found, args, ERROR)
            return ToolResult(text, False, ctx.turn.reads > reads)
        except TimeoutError:
            await self._finished(ctx, found, args, TIMED_OUT)
            return ToolResult(
                f"Error: the tool took longer than {self.timeout:g} s and was stopped.", False
            )
        except asyncio.CancelledError:
            await asyncio.shield(self._finished(ctx, found, args, CANCELLED))
            raise
        except Exception:
            log.exception("tool %s failed", name)
            await self._finished(ctx, found, args, FAILED)
            return ToolResult(
                "Error: the tool failed unexpectedly; the details were logged.", False
            )
        text = self._after(ctx, found, args, self._cap(str(text)))
        await self._finished(ctx, found, args, DONE)
        return ToolResult(text, True, ctx.turn.reads > reads)

    async def _finished(self, ctx: ToolContext, item: Tool, args: BaseModel, outcome: str) -> None:
        for hook in self.hooks:
            try:
                await hook.finished(ctx, item, args, outcome)
            except Exception:
                log.exception("tool %s: a hook failed after the call (%s)", item.name, outcome)

    def _after(self, ctx: ToolContext, item: Tool, args: BaseModel, text: str) -> str:
        for hook in self.hooks:
            text = hook.after(ctx, item, args, text)
        return text

    def _cap(self, text: str) -> str:
        if len(text) <= self.output_chars:
            return text
        return (
            text[: self.output_chars]
            + f"\n[output truncated: {len(text)} characters, showing the first {self.output_chars}]"
        )
