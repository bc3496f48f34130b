"""The agent loop: model ⇄ tools until a final answer or the step budget.

Each step is stored before the next begins, so a crash loses nothing and the
history reloads in the order the model saw it.

Every request is planned against the model's window (bot/agent/budget.py). When the
endpoint still refuses one as too long (a window guessed wrong, a tokenizer counting
more than estimated), the window it states is learnt, the conversation is compacted
to half of what was sent, and the step is asked again once: a conversation never
stays stuck over the window.

Token budgets: see bot/agent/allowance.py.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.agent.allowance import Allowance, stopped, with_notice
from bot.agent.fitting import Compactor, Fitting, View, trim_recall, visible
from bot.agent.prompt import (
    Chat,
    PromptBuilder,
    estimate_tokens,
    render_message,
    time_note,
)
from bot.chat.attachments import IMAGE_TOKENS, FileKeeper
from bot.chat.channels import ReplyStream, ShowsActivity
from bot.llm.client import LLM, CallMeta, Completion, LLMError, TextCallback, ToolCall
from bot.llm.failures import CONTEXT_OVERFLOW, Failure
from bot.llm.quota import QuotaExceeded
from bot.llm.window import DEFAULT_OUTPUT_TOKENS, ModelWindows
from bot.safety.untrusted import WRITTEN_AFTER, sources_in
from bot.tools import ToolContext, ToolRegistry, TurnState
from memory import db
from memory.conversations import (
    ConversationRecord,
    ConversationStore,
    NewMessage,
    StoredMessage,
    ToolCallRecord,
    UserRecord,
)
from memory.deliveries import OutgoingMessage

log = logging.getLogger(__name__)

REPEAT_LIMIT = 3
# Rebuilds a turn's view after the endpoint refused `request` as too long.
Shrink = Callable[[Chat, Failure], Awaitable[None]]
# How long a step whose tools ran waits for a locked or unreachable database.
RECORD_PATIENCE = 600.0


@dataclass(frozen=True)
class TurnOutcome:
    text: str
    steps: int
    hit_step_budget: bool = False
    # The key of the answer's delivery row, claimed by this turn: mark it sent once
    # shown, or let the deliverer send it when the platform refuses it.
    delivery_key: str | None = None


class ContextSource(Protocol):
    """Adds context to every turn without disturbing the cached prompt prefix.

    `background` is slowly changing text (a profile, a conversation summary)
    placed after the system prompt; `recall` is per-turn text (relevant notes
    for `query`) placed in the volatile note at the end. Return "" for nothing.
    `private` is false when the turn answers several people of a group: then
    nothing private to one of them may be added. Text from outside the person's own
    words goes in `mark_untrusted` blocks, which make side effects need a yes.
    """

    async def background(self, user: UserRecord, conversation: ConversationRecord) -> str: ...

    async def recall(
        self, user: UserRecord, conversation: ConversationRecord, query: str, *, private: bool
    ) -> str: ...


@dataclass(frozen=True)
class AgentLimits:
    max_steps: int = 12
    # The window when no ModelWindows is given (it then decides per model).
    context_tokens: int = 32_000
    # The reply's usual cap (max_tokens); small windows give it less.
    output_tokens: int = DEFAULT_OUTPUT_TOKENS


class Agent:
    """Runs turns of one conversation at a time (the session manager serialises them)."""

    def __init__(
        self,
        llm: LLM,
        tools: ToolRegistry,
        store: ConversationStore,
        prompt: PromptBuilder,
        *,
        limits: AgentLimits,
        now: Callable[[], datetime],
        default_timezone: str,
        files: FileKeeper,
        context_sources: Sequence[ContextSource] = (),
        compactor: Compactor | None = None,
        windows: ModelWindows | None = None,
        allowance: Allowance | None = None,
    ) -> None:
        self._allowance = allowance
        self._fitting = Fitting(
            llm.models,
            tools,
            store,
            prompt,
            files,
            context_tokens=limits.context_tokens,
            output_tokens=limits.output_tokens,
            compactor=compactor,
            windows=windows,
        )
        self._files = files
        self._sources = list(context_sources)
        self._llm = llm
        self._tools = tools
        self._store = store
        self._prompt = prompt
        self._limits = limits
        self._now = now
        self._default_timezone = default_timezone

    async def run_turn(
        self,
        user: UserRecord,
        conversation: ConversationRecord,
        stream: ReplyStream | None = None,
        up_to_id: int | None = None,
    ) -> TurnOutcome | None:
        """Answer the conversation's waiting messages (those up to `up_to_id`, when given:
        later ones belong to a later turn). None when nothing is waiting."""
        context = await self._store.load_context(conversation.id)
        shown = visible(context.messages, up_to_id)
        pending = [m.id for m in shown if m.turn is None and m.role == "user"]
        if not pending:
            return None
        budget = await self._fitting.budget()
        too_large = self._too_large([m for m in shown if m.id in pending], budget.history)
        if too_large is not None:
            return await self._set_aside(user, conversation, context.next_turn, pending, too_large)
        if self._allowance is not None:
            await self._allowance.check(user.id)  # spent: nothing below runs
        turn = context.next_turn
        # Reload the person: /timezone may have changed since the session cached them.
        user = await self._store.get_user(user.id) or user
        zone = ZoneInfo(user.timezone or self._default_timezone)
        # In a group, messages of several people may be answered in one turn: then no
        # one's private memories are used (one could surface another's private facts).
        senders = {m.user_id for m in shown if m.id in pending}
        private = conversation.is_direct or senders <= {user.id}
        query = "\n".join(m.content for m in shown if m.id in pending)
        recalled = trim_recall(await self._recall(user, conversation, query, private), budget)
        messages = await self._fitting.fit(user, conversation, shown, budget, recalled)
        background = await self._background(user, conversation)
        state = TurnState(
            untrusted=untrusted_in_view(messages, background, recalled), private=private
        )
        tool_ctx = ToolContext(
            user=user, conversation=conversation, timezone=zone, now=self._now, turn=state
        )
        view = View(budget, self._fitting.render(conversation, messages), background, recalled)
        meta = CallMeta("turn", conversation.id, user.id, record_success=False)
        on_text = stream.update if stream is not None else None
        shows = stream.activity if isinstance(stream, ShowsActivity) else None
        seen_calls: Counter[tuple[str, str]] = Counter()
        consumed: list[int] = pending

        async def background_now() -> str:
            return await self._background(user, conversation)

        async def shrink(request: Chat, failure: Failure) -> None:
            await self._fitting.shrink(
                view, request, failure, user, conversation, background_now, up_to_id
            )

        for step in range(1, self._limits.max_steps + 1):
            try:
                completion = await self._call(view, zone, meta, on_text, shrink)
            except QuotaExceeded as refused:
                if consumed:
                    raise  # nothing answered yet: the messages wait (the session says so)
                # Between two steps: the tools' work is stored; the turn ends saying why.
                text = stopped(refused)
                answer = _answer(conversation, turn, text)
                stop = NewMessage("assistant", text, untrusted=bool(state.untrusted))
                await self._record(conversation.id, user.id, turn, [stop], answer=answer)
                return TurnOutcome(text, step, delivery_key=answer.key if answer else None)
            if not completion.tool_calls:
                completion = _noticed(completion)
                reply = _assistant_message(completion, bool(state.untrusted))
                answer = _answer(conversation, turn, completion.content)
                await self._record(
                    conversation.id, user.id, turn, [reply], consumed, completion.record, answer
                )
                key = answer.key if answer else None
                said = await with_notice(self._allowance, user.id, completion.content)
                return TurnOutcome(said, step, delivery_key=key)
            if shows is not None:
                await shows(f"running {_tool_names(completion.tool_calls)}…")
            results = await run_tool_calls(self._tools, tool_ctx, completion.tool_calls, seen_calls)
            if shows is not None:
                await shows("thinking…")
            # Stored as untrusted once outside content is in view: later turns still see it.
            reply = _assistant_message(completion, bool(state.untrusted))
            # The first step claims the turn's number: another writer may have taken it.
            turn = await self._record(
                conversation.id, user.id, turn, [reply, *results], consumed, completion.record
            )
            consumed = []
            view.history.extend(render_message(m) for m in (reply, *results))

        return await self._final_without_tools(
            view, zone, meta, on_text, shrink, conversation, user, turn, state
        )

    async def _call(
        self,
        view: View,
        zone: ZoneInfo,
        meta: CallMeta,
        on_text: TextCallback | None,
        shrink: Shrink,
        note: str = "",
        tool_choice: str | None = None,
    ) -> Completion:
        """One model call; asked again once, from a compacted view, if it was too long."""
        while True:
            volatile = note or _join(
                time_note(self._now().astimezone(zone), zone.key), view.recalled
            )
            request = self._prompt.build(
                view.history, background=view.background, volatile=volatile
            )
            try:
                completion = await self._llm.complete(
                    request,
                    view.budget.tools,
                    meta=meta,
                    on_text=on_text,
                    tool_choice=tool_choice,
                    max_tokens=view.budget.max_tokens,
                )
            except LLMError as exc:
                if exc.failure.kind != CONTEXT_OVERFLOW or view.retried:
                    raise
                view.retried = True
                await shrink(request, exc.failure)
                continue
            await self._fitting.observe(view, request, completion)
            return completion

    async def _record(self, *args: Any, **kwargs: Any) -> int:
        """Store a step, waiting for the database while it is locked or away: its tool
        calls already ran, and a step not stored would make the next turn run them
        again (a second mail, a second reminder). Gives up after RECORD_PATIENCE.
        Returns the turn number it was stored under (`ConversationStore.record_step`)."""
        wait, deadline = 0.5, time.monotonic() + RECORD_PATIENCE
        while True:
            try:
                return await self._store.record_step(*args, **kwargs)
            except Exception as exc:
                if not db.is_transient(exc) or time.monotonic() + wait > deadline:
                    raise
                log.warning("could not store a step yet (%s); trying again in %.1f s", exc, wait)
                await asyncio.sleep(wait)
                wait = min(2 * wait, 10.0)

    def _too_large(self, waiting: list[StoredMessage], budget: int) -> str | None:
        """Why the waiting messages cannot be answered at all (alone they are more than the
        conversation's share of the model's window, which history is fitted to), or None."""
        size = sum(estimate_tokens(m.content) + IMAGE_TOKENS * len(m.attachments) for m in waiting)
        if size <= budget:
            return None
        return (
            f"Your message is too long for me to read: about {size:,} tokens "
            f"(~{4 * size:,} characters), and I can take at most about {budget:,} tokens "
            "at once with this model. I kept it, but set it aside so we can go on: send the "
            "part that matters, or split it into smaller messages."
        )

    async def _set_aside(
        self,
        user: UserRecord,
        conversation: ConversationRecord,
        turn: int,
        pending: list[int],
        text: str,
    ) -> TurnOutcome:
        reply = NewMessage(role="assistant", content=text)
        answer = _answer(conversation, turn, text)
        await self._store.set_aside(conversation.id, user.id, turn, pending, reply, answer)
        log.info(
            "conversation %s: %d messages set aside as too large", conversation.id, len(pending)
        )
        return TurnOutcome(text, 0, delivery_key=answer.key if answer else None)

    async def _background(self, user: UserRecord, conversation: ConversationRecord) -> str:
        return _join(*[await s.background(user, conversation) for s in self._sources])

    async def _recall(
        self, user: UserRecord, conversation: ConversationRecord, query: str, private: bool
    ) -> str:
        recalls = [
            await s.recall(user, conversation, query, private=private) for s in self._sources
        ]
        return _join(*recalls)

    async def _final_without_tools(
        self,
        view: View,
        zone: ZoneInfo,
        meta: CallMeta,
        on_text: TextCallback | None,
        shrink: Shrink,
        conversation: ConversationRecord,
        user: UserRecord,
        turn: int,
        state: TurnState,
    ) -> TurnOutcome:
        """The step budget is spent: ask once more with tools disabled (same tool list,
        so the cached prefix still matches)."""
        note = (
            f"{time_note(self._now().astimezone(zone), zone.key)} The tool step budget "
            f"({self._limits.max_steps}) is used up: answer now with what you have."
        )
        completion = await self._call(view, zone, meta, on_text, shrink, note, "none")
        text = _noticed(completion).content or (
            f"I stopped after {self._limits.max_steps} tool steps without reaching an answer."
        )
        answer = _answer(conversation, turn, text)
        await self._record(
            conversation.id,
            user.id,
            turn,
            [NewMessage(role="assistant", content=text, untrusted=bool(state.untrusted))],
            call=completion.record,
            answer=answer,
        )
        key = answer.key if answer else None
        text = await with_notice(self._allowance, user.id, text)
        return TurnOutcome(text, self._limits.max_steps + 1, hit_step_budget=True, delivery_key=key)


async def run_tool_calls(
    tools: ToolRegistry,
    ctx: ToolContext,
    calls: Sequence[ToolCall],
    seen: Counter[tuple[str, str]],
) -> list[NewMessage]:
    """Run one step's tool calls in order; a call repeated REPEAT_LIMIT times is refused.

    Shared by conversation turns and background task steps (bot/background/step.py).
    """
    results = []
    for call in calls:
        seen[(call.name, call.arguments)] += 1
        if seen[(call.name, call.arguments)] >= REPEAT_LIMIT:
            text = (
                f"Error: {call.name} was already called {REPEAT_LIMIT - 1} times with these "
                "exact arguments; the result will not change. Use what you have."
            )
            untrusted = bool(ctx.turn.untrusted)
        else:
            result = await tools.execute(ctx, call.name, call.arguments)
            text, untrusted = result.text, result.untrusted or bool(ctx.turn.untrusted)
        results.append(
            NewMessage(role="tool", content=text, tool_call_id=call.id, untrusted=untrusted)
        )
    return results


def untrusted_in_view(messages: Sequence[StoredMessage], *texts: str) -> list[str]:
    """Where the untrusted content in a request comes from: stored messages marked
    untrusted, and untrusted blocks in the added context (summary, recall...)."""
    found: list[str] = []
    for message in messages:
        if message.untrusted:
            found.extend(sources_in(message.content) or [_unlabelled(message.role)])
    for text in texts:
        found.extend(sources_in(text))
    return list(dict.fromkeys(found))


def _unlabelled(role: str) -> str:
    return WRITTEN_AFTER if role == "assistant" else "outside content earlier in this conversation"


def _answer(conversation: ConversationRecord, turn: int, text: str) -> OutgoingMessage | None:
    """The turn's answer as a delivery, so it reaches the chat even if showing it fails."""
    if not text.strip():
        return None
    chat = (conversation.channel, conversation.chat_id, conversation.thread_id)
    # Unique by itself: turn numbers start again after /forget_me erased a conversation.
    return OutgoingMessage(f"answer:{conversation.id}:{turn}:{uuid.uuid4().hex[:12]}", *chat, text)


def _assistant_message(completion: Completion, untrusted: bool) -> NewMessage:
    return NewMessage(
        role="assistant",
        content=completion.content,
        tool_calls=tuple(ToolCallRecord(c.id, c.name, c.arguments) for c in completion.tool_calls),
        untrusted=untrusted,
    )


def _noticed(completion: Completion) -> Completion:
    """The final answer with the client's notice for the person (a request it had to
    repair, bot/llm/repair.py) after it: shown and stored as said."""
    if not completion.notice:
        return completion
    return replace(completion, content=f"{completion.content}\n\n{completion.notice}".strip())


def _tool_names(calls: Sequence[ToolCall]) -> str:
    return ", ".join(dict.fromkeys(call.name for call in calls))


def _join(*parts: str) -> str:
    return "\n\n".join(part for part in parts if part)
