"""What one turn shows the model, fitted to the model's window.

The agent loop asks here for the request's budget (bot/agent/budget.py: the window
split between reply, system message, tools and conversation), for the history fitted
to it (compaction, or the window jump without memory), and, when the endpoint refuses
a request as too long anyway, for a view rebuilt from the store at half the size with
what the refusal taught about the window and the tokenizer (bot/llm/window.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from bot.agent.budget import Budget, ToolFitter, estimate_request, jump_window, plan
from bot.agent.prompt import Chat, PromptBuilder, estimate_tokens, render_history
from bot.chat.attachments import FileKeeper
from bot.llm.client import Completion
from bot.llm.failures import Failure
from bot.llm.window import ModelWindows
from bot.safety.untrusted import CLOSE_TAG, OPEN_TAG
from bot.tools import ToolRegistry
from memory.conversations import ConversationRecord, ConversationStore, StoredMessage, UserRecord

log = logging.getLogger(__name__)


class Compactor(Protocol):
    """Keeps a conversation's history within `budget` tokens (memory/compaction.py
    summarises old turns); without one, the window jump is used."""

    async def fit(
        self,
        user: UserRecord,
        conversation: ConversationRecord,
        messages: list[StoredMessage],
        budget: int,
    ) -> list[StoredMessage]: ...


@dataclass
class View:
    """What one turn shows the model: rebuilt when the endpoint says it was too long."""

    budget: Budget
    history: Chat
    background: str
    recalled: str
    retried: bool = False


class Fitting:
    """Budgets, fits and, after an overflow, shrinks what a turn shows the model."""

    def __init__(
        self,
        models: Sequence[str],
        tools: ToolRegistry,
        store: ConversationStore,
        prompt: PromptBuilder,
        files: FileKeeper,
        *,
        context_tokens: int,
        output_tokens: int,
        compactor: Compactor | None = None,
        windows: ModelWindows | None = None,
    ) -> None:
        self._models = models
        self._tools = tools
        self._store = store
        self._prompt = prompt
        self._files = files
        self._context_tokens = context_tokens
        self._output_tokens = output_tokens
        self._compactor = compactor
        self._windows = windows
        self._fitter = ToolFitter()

    async def budget(self) -> Budget:
        """This request's shares of the primary model's window."""
        model = self._models[0]
        if self._windows is None:
            window, ratio = self._context_tokens, 1.0
        else:
            window, ratio = await self._windows.window(model), self._windows.ratio(model)
        schemas = self._tools.schemas()
        system = self._prompt.system_message
        return plan(window, ratio, self._output_tokens, system, schemas, self._fitter)

    async def fit(
        self,
        user: UserRecord,
        conversation: ConversationRecord,
        visible: list[StoredMessage],
        budget: Budget,
        recalled: str,
    ) -> list[StoredMessage]:
        """The history to show: compacted to what the budget leaves after the recall note."""
        room = max(1, budget.history - (estimate_tokens(recalled) if recalled else 0))
        if self._compactor is not None:
            return await self._compactor.fit(user, conversation, visible, room)
        return await jump_window(self._store, conversation, visible, room)

    def render(self, conversation: ConversationRecord, messages: list[StoredMessage]) -> Chat:
        return render_history(
            messages,
            group=not conversation.is_direct,
            images=self._files.image_part if self._files.limits.vision else None,
        )

    async def observe(self, view: View, request: Chat, completion: Completion) -> None:
        """Calibrate estimates with the prompt tokens the endpoint reported."""
        if self._windows is not None and completion.record is not None:
            estimated = estimate_request(request, view.budget.tool_estimate)
            reported = completion.usage.prompt_tokens
            await self._windows.observe(completion.record.model, estimated, reported)

    async def shrink(
        self,
        view: View,
        request: Chat,
        failure: Failure,
        user: UserRecord,
        conversation: ConversationRecord,
        background: Callable[[], Awaitable[str]],
        up_to_id: int | None,
    ) -> None:
        """The endpoint refused `request` as too long: learn the window it stated (and
        that its tokenizer counts more than estimated) and plan again for it; when it
        stated none, compact the stored conversation to at most half of what was sent.
        This turn's steps are stored, so the history is rebuilt from the store."""
        if self._windows is not None:
            model = self._models[-1]  # the failure is the last model's
            estimated = estimate_request(request, view.budget.tool_estimate)
            if failure.window:
                await self._windows.learn(model, failure.window)
            elif self._windows.source(model) == "default":
                # Unstated, and never known: smaller than what was just sent.
                sent = int(estimated * self._windows.ratio(model)) + view.budget.output
                await self._windows.learn(model, max(512, int(0.8 * sent)))
            await self._windows.overflowed(
                model, estimated, view.budget.output, failure.prompt_tokens
            )
        sent = estimate_request(view.history, 0)
        budget = await self.budget()
        if failure.window:
            # The window is known now: planning for it is enough. Halving on top would
            # cut into this turn's own steps when the reply's room, not the history, was
            # what did not fit.
            halved = budget
        else:
            halved = replace(budget, history=min(budget.history, max(sent // 2, 1)))
        log.info(
            "the model refused a request as too long (about %d tokens of history); "
            "fitting it to %d",
            sent,
            halved.history,
        )
        context = await self._store.load_context(conversation.id)
        visible_now = visible(context.messages, up_to_id)
        view.recalled = trim_recall(view.recalled, halved)
        messages = await self.fit(user, conversation, visible_now, halved, view.recalled)
        view.budget = budget
        view.background = await background()
        view.history = self.render(conversation, messages)


def visible(messages: list[StoredMessage], up_to_id: int | None) -> list[StoredMessage]:
    """The messages a turn answering up to `up_to_id` sees (later ones wait their turn)."""
    return [m for m in messages if m.turn is not None or up_to_id is None or m.id <= up_to_id]


def trim_recall(recalled: str, budget: Budget) -> str:
    """The recall note cut, at whole lines, to a quarter of the conversation's share;
    never inside an untrusted block (an open block would swallow what follows)."""
    limit = budget.history // 4
    if estimate_tokens(recalled) <= limit:
        return recalled
    kept: list[str] = []
    used = 0
    balanced = 0  # lines kept up to the last point outside any block
    for line in recalled.splitlines():
        used += estimate_tokens(line)
        if used > limit:
            break
        kept.append(line)
        text = "\n".join(kept)
        if text.count(OPEN_TAG) == text.count(CLOSE_TAG):
            balanced = len(kept)
    return "\n".join(kept[:balanced]) if balanced > 1 else ""
