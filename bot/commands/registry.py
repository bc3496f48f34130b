"""Chat commands (/new, /help, ...): one registry for every platform.

Adapters list these to the platform (Telegram's setMyCommands, Slack's
/clawling subcommands); the session manager runs them.

Commands write their help and usage texts in the `/new` form; an adapter whose
platform types them otherwise rewrites them on the way out (Slack: `/clawling new`).

What counts as a command: a message whose first word is `/` followed by letters,
digits or underscores (optionally `@botname`, as Telegram adds in groups). A known
name runs that command; an unknown one is answered "unknown command — /help lists
them" without asking the model. A first word with anything else in it, such as
`/etc/hosts`, is ordinary text for the model.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from memory.audit import Actor
from memory.conversations import ConversationRecord, UserRecord
from memory.usage import UsageStore, UsageTotals


class SessionControl(Protocol):
    """What a command may do to the conversation it was sent in."""

    async def stop_turn(self) -> bool: ...

    async def new_context(self) -> None: ...


@dataclass(frozen=True)
class CommandContext:
    user: UserRecord
    conversation: ConversationRecord
    args: str
    session: SessionControl
    now: datetime
    # The sender's platform account as `platform:id` (who did it, for the audit trail).
    account: str = ""
    # Whether the sender is an owner, read when asked (most commands never ask, and an
    # immediate one like /stop must act before any awaited read).
    owner_check: Callable[[], Awaitable[bool]] | None = None

    async def is_owner(self) -> bool:
        return self.owner_check is not None and await self.owner_check()

    @property
    def actor(self) -> Actor:
        """The sender as the audit trail names them: their account, where they wrote."""
        return Actor(
            self.account or f"user:{self.user.id}", self.conversation.channel, self.user.id
        )


CommandHandler = Callable[[CommandContext], Awaitable[str]]


@dataclass(frozen=True)
class Command:
    name: str
    description: str
    handler: CommandHandler
    # Runs at once, even while a turn is running (e.g. /stop); otherwise in order
    # with the conversation's messages.
    immediate: bool = False
    # Changes the assistant for everyone (people, quotas, skills): refused to members
    # by the session manager before the handler runs.
    owner_only: bool = False


# Turns a plain reply into a command while something waits for it in that conversation
# (e.g. "yes" while a tool call waits for approval): (conversation id, user id, text).
# Asynchronous: what waits may wait in another replica, known only to SQL.
ReplyMatcher = Callable[[int, int, str], Awaitable["tuple[Command, str] | None"]]

UNKNOWN = "unknown command — /help lists them"
# The first word of a message shaped like a command. `/name@otherbot` (Telegram, in a
# group) may be meant for another bot, so it is not called unknown here.
_COMMAND_WORD = re.compile(r"/(\w+)(?=\s|$)", re.ASCII)


class CommandRegistry:
    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}
        self._matchers: list[ReplyMatcher] = []

    def unknown(self, text: str) -> str | None:
        """The answer to a message that looks like a command but names none we know."""
        word = _COMMAND_WORD.match(text.strip())
        if word is None or word.group(1).lower() in self._commands:
            return None
        return UNKNOWN

    def add_reply_matcher(self, matcher: ReplyMatcher) -> None:
        self._matchers.append(matcher)

    def add(self, command: Command) -> None:
        if command.name in self._commands:
            raise ValueError(f"command /{command.name} is registered twice")
        self._commands[command.name] = command

    def replace(self, command: Command) -> None:
        """Put `command` in the place of the one registered under its name (a feature that
        shares a command word with another, like /deny, wraps the earlier one)."""
        if command.name not in self._commands:
            raise ValueError(f"command /{command.name} is not registered")
        self._commands[command.name] = command

    def get(self, name: str) -> Command | None:
        return self._commands.get(name)

    @property
    def commands(self) -> list[Command]:
        return list(self._commands.values())

    def parse(self, text: str) -> tuple[Command, str] | None:
        """The command and its argument text, if `text` is a known command."""
        if not text.startswith("/"):
            return None
        head, _, rest = text[1:].partition(" ")
        name = head.split("@", 1)[0].lower()  # Telegram appends @botname in groups
        command = self._commands.get(name)
        return None if command is None else (command, rest.strip())

    async def match_reply(
        self, text: str, *, conversation_id: int, user_id: int
    ) -> tuple[Command, str] | None:
        """The command a plain reply stands for, when a matcher takes it as one (a "yes"
        while something waits for this person's answer in this conversation)."""
        if text.startswith("/"):
            return None
        for matcher in self._matchers:
            found = await matcher(conversation_id, user_id, text)
            if found is not None:
                return found
        return None

    def help_text(self, *, owner: bool = True) -> str:
        """One line per command; owners' commands only for owners."""
        return "\n".join(
            f"/{c.name} — {c.description}"
            for c in self._commands.values()
            if owner or not c.owner_only
        )


def _format_usage(label: str, totals: UsageTotals) -> str:
    cached_share = (
        f", {100 * totals.cached_tokens / totals.prompt_tokens:.0f}% of prompt tokens cached"
        if totals.prompt_tokens
        else ""
    )
    about = "~" if totals.estimated_calls else ""  # some of the counts are our estimates
    return (
        f"{label}: {totals.calls} model calls, {about}{totals.prompt_tokens:,} prompt + "
        f"{about}{totals.completion_tokens:,} completion tokens{cached_share}"
    )


def _estimates_note(totals: UsageTotals) -> str:
    calls = "call" if totals.estimated_calls == 1 else "calls"
    return (
        f"~ means estimated: the model service reported no token counts for "
        f"{totals.estimated_calls} {calls}, so I counted those myself."
    )


def core_commands(
    registry: CommandRegistry,
    store: UsageStore,
    assistant_name: str,
    usage_extra: Callable[[CommandContext], Awaitable[list[str]]] | None = None,
) -> None:
    """Register /start, /help, /new, /stop and /usage (`usage_extra`: lines /usage adds,
    the person's budgets and costs, bot/commands/quota.py)."""

    async def start(ctx: CommandContext) -> str:
        return (
            f"Hi {ctx.user.name}! I'm {assistant_name}, your personal assistant. Ask me "
            "anything, or ask me to do something; I remember our conversation.\n\n"
            + registry.help_text(owner=await ctx.is_owner())
        )

    async def help_(ctx: CommandContext) -> str:
        return "Commands:\n" + registry.help_text(owner=await ctx.is_owner())

    async def new(ctx: CommandContext) -> str:
        await ctx.session.new_context()
        return "Started a fresh conversation. Earlier messages are still stored."

    async def stop(ctx: CommandContext) -> str:
        stopped = await ctx.session.stop_turn()
        return "Stopped." if stopped else "Nothing is running."

    async def usage(ctx: CommandContext) -> str:
        today = ctx.now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        all_time = await store.usage(ctx.user.id)
        lines = [
            _format_usage("Today (UTC)", await store.usage(ctx.user.id, today)),
            _format_usage(
                "Last 30 days", await store.usage(ctx.user.id, ctx.now - timedelta(days=30))
            ),
            _format_usage("All time", all_time),
        ]
        if all_time.estimated_calls:
            lines.append(_estimates_note(all_time))
        if usage_extra is not None:
            lines.extend(await usage_extra(ctx))
        return "\n".join(lines)

    registry.add(Command("start", "what I can do", start, immediate=True))
    registry.add(Command("help", "list commands", help_, immediate=True))
    registry.add(Command("new", "start a fresh conversation (history is kept)", new))
    registry.add(Command("stop", "stop what I'm doing now", stop, immediate=True))
    registry.add(Command("usage", "tokens used by your requests", usage, immediate=True))
