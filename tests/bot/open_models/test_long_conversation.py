"""Thirty turns with a tool call each through a 4k window, per personality: no turn
fails, and what was said at the start reaches the model through the summary and recall.

The window is found out by the app (from the server, or from its first overflow);
the conversation is several times larger than it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.app import App
from tests.bot.harness.memory import say
from tests.bot.open_models.model import recalled, summary_reached, trail
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI

TURNS = 30
CHATTER = "".join(
    f"{i}: we talked about the weather, the trains and the bakery. " for i in range(14)
)


async def test_thirty_turns_with_tools_through_a_small_window(
    app_and_chat: tuple[App, RecordingChannel], server: FakeOpenAI
) -> None:
    app, chat = app_and_chat
    year = str(datetime.now(UTC).year)
    failed: list[str] = []
    for n in range(1, TURNS + 1):
        opening = "My locker code is 4417. " if n == 1 else ""
        closing = " And what is my locker code?" if n == TURNS else ""
        answer = await say(app, chat, f"{opening}Turn {n}: what time is it? {CHATTER}{closing}")
        if not (answer.startswith("tool said: ") and year in answer):
            failed.append(f"turn {n}: {answer[:160]!r}")
    assert not failed, (
        f"{len(failed)} of {TURNS} turns did not answer from the tool's result "
        "(client fix: tool_choice and non-streamed fallback; window fix: overflow → "
        "compact and retry):\n  " + "\n  ".join(failed[:5]) + f"\n  {trail(server)}"
    )
    assert summary_reached(server), "no turn's request showed the model the summary"
    assert recalled(server, "locker code is 4417"), (
        "turn 1's fact was not recalled into the last turn's note (it must have left the "
        "live context by then, or nothing was ever compacted)"
    )
