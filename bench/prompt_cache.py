"""How much of each request a provider's prompt cache can reuse.

A scripted 30-turn conversation (every third turn the model calls a tool first)
runs through the real session manager and agent against the fake model server.
Each request is serialised the way providers see it (tool schemas, then
messages); for every request we print its size and the share of it that is a
byte-identical prefix of the next request, which is what prefix caches (OpenAI,
DeepSeek, Kimi, vLLM, ...) can serve from cache. Target: >= 95% on average, and
system prompt + tool schemas <= 2,000 tokens (estimated at 4 characters a token).

    python -m bench.prompt_cache [--turns 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from typing import Any

from bot.agent.prompt import estimate_tokens
from bot.app import build_app
from bot.settings import Settings
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI, Reply, canonical, common_prefix, last_user_text

QUESTIONS = [
    "Can you help me plan my week?",
    "I have a dentist appointment on Tuesday at 10.",
    "What time is it now?",
    "Remind me what I said about Tuesday.",
    "Suggest a good time for a run on Wednesday.",
    "What's a quick dinner I could cook tonight?",
]


def scripted(request: dict[str, Any]) -> Reply:
    """Every third question gets a tool call first; every answer is a few sentences."""
    last = request["messages"][-1]
    if last["role"] == "tool":
        return Reply(text=f"It is {last['content']}. Anything else I can plan for you?")
    question = last_user_text(request)
    if question.startswith("[3]") or "time" in question:
        return Reply(tool_calls=[("current_time", {})])
    return Reply(text=f"Here is a thought about '{question[:40]}': " + "sounds good. " * 12)


async def run(turns: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI(responder=scripted) as fake:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            openai={"api_key": "bench", "base_url": fake.url},
            clawling={"model": "fake", "data_dir": tmp, "database_url": f"sqlite:///{tmp}/b.db"},
        )
        app = build_app(settings)
        await app.prepare_database()
        channel = RecordingChannel()
        app.add_channel(channel)
        for turn in range(turns):
            text = QUESTIONS[turn % len(QUESTIONS)]
            if turn % 3 == 2:
                text = f"[3] {text}"
            await app.sessions.handle(channel.inbound(text))
            await app.sessions.drain()
        await app.close()
        return list(fake.requests)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=30)
    args = parser.parse_args()
    requests = asyncio.run(run(args.turns))
    bodies = [canonical(r) for r in requests]
    # As sent: the client posts compact JSON (no spaces after , and :).
    fixed = json.dumps(
        {"tools": requests[0]["tools"], "system": requests[0]["messages"][0]},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    print(
        f"prompt cache: {args.turns} turns, {len(requests)} requests "
        "(tool steps included); prefix = bytes shared with the next request"
    )
    print(f"system prompt + tool schemas: {estimate_tokens(fixed)} tokens (target <= 2000)")
    print(f"{'request':>7} {'tokens':>7} {'prefix of next':>15}")
    shares = []
    for i, body in enumerate(bodies[:-1]):
        share = common_prefix(body, bodies[i + 1]) / len(body)
        shares.append(share)
        print(f"{i + 1:>7} {estimate_tokens(body):>7} {100 * share:>14.1f}%")
    print(f"{len(bodies):>7} {estimate_tokens(bodies[-1]):>7} {'(last)':>15}")
    print(
        f"average prefix share: {100 * sum(shares) / len(shares):.1f}% (target >= 95%); "
        f"lowest: {100 * min(shares):.1f}%"
    )


if __name__ == "__main__":
    main()
