"""Token quotas end to end: a spent budget costs no model call while commands answer,
the person is told at 80 % once, the budget resets on their next day, owners set it
with /quota (audited), and /usage shows what is left and what it cost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.agent.summarise import INSTRUCTIONS as SUMMARY_INSTRUCTIONS
from bot.app import App
from bot.people.cost import Cost, cost, dollars
from memory.audit import Actor
from memory.db.models import LLMCall
from memory.usage import ModelUsage
from tests.bot.agent.test_open_servers import count_words
from tests.bot.conftest import AppMaker
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI, Reply, user_texts


class Clock:
    """The app's `now`: the real time, moved on by `advance`."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


async def say(app: App, channel: RecordingChannel, text: str, sender: str = "u1") -> str:
    await app.sessions.handle(channel.inbound(text, sender=sender))
    await app.sessions.drain()
    return channel.texts()[-1]


async def calls(app: App) -> list[LLMCall]:
    async with app.engine.connect() as connection:
        rows = await connection.execute(select(LLMCall).order_by(LLMCall.id))
        return list(rows.all())  # type: ignore[arg-type]


async def tokens_used(app: App, user_id: int) -> int:
    return sum(
        c.prompt_tokens + c.completion_tokens for c in await calls(app) if c.user_id == user_id
    )


async def test_a_spent_budget_stops_model_calls_commands_answer_and_it_resets_next_day(
    make_app: AppMaker, fake_llm: FakeOpenAI
) -> None:
    clock = Clock()
    app, channel = await make_app({"now": clock}, daily_tokens=1)
    assert (await say(app, channel, "first")).startswith("echo: first")
    asked = len(fake_llm.requests)

    refusal = await say(app, channel, "second")
    tomorrow = clock() + timedelta(days=1)
    assert refusal == (
        "Sorry, your daily token budget (1 tokens) is used up; it resets at 00:00 on "
        f"{tomorrow:%a} {tomorrow.day} {tomorrow:%b} (UTC). An owner can raise it with "
        "/quota. Your message is saved: write to me again once the budget allows and I "
        "will answer it."
    )
    assert (await say(app, channel, "/help")).startswith("Commands:")
    usage = await say(app, channel, "/usage")
    assert "Budget today: 0 of 1 tokens left" in usage
    await say(app, channel, "third")
    assert len(fake_llm.requests) == asked, "no model call once the budget is spent"
    conversation = await app.store.open_conversation(
        "test", "c1", "", is_direct=True, owner_id=None
    )
    assert await app.store.unanswered(conversation.id) == 2, "both messages wait, stored"
    reached = await app.audit.entries(actions=("quota.reached",))
    assert [(e.actor, e.subject, e.detail["budget"]) for e in reached] == [
        ("system", "test:u1", "daily")
    ], "audited once per period, not per refusal"

    clock.offset = timedelta(days=1)  # the person's next day
    answer = await say(app, channel, "fourth")
    assert answer.startswith("echo: fourth")
    assert user_texts(fake_llm.requests[-1])[-3:] == ["second", "third", "fourth"]
    assert await app.store.unanswered(conversation.id) == 0


async def test_a_budget_spent_between_two_steps_ends_the_turn_saying_so(
    make_app: AppMaker, fake_llm: FakeOpenAI
) -> None:
    app, channel = await make_app(daily_tokens=1)
    app.tools.add(count_words)
    fake_llm.add(Reply(tool_calls=[("count_words", {"text": "one two three"})]))
    answer = await say(app, channel, "count these")
    assert answer.startswith("I had to stop here: your daily token budget (1 tokens) is used up")
    assert len(fake_llm.requests) == 1, "the step after the tool was not asked"
    conversation = await app.store.open_conversation(
        "test", "c1", "", is_direct=True, owner_id=None
    )
    stored = (await app.store.load_context(conversation.id)).messages
    assert [m.role for m in stored] == ["user", "assistant", "tool", "assistant"]
    assert stored[2].content == "3 words" and stored[3].content == answer
    assert await app.store.unanswered(conversation.id) == 0


async def test_the_person_is_told_once_when_80_percent_is_used(
    make_app: AppMaker, fake_llm: FakeOpenAI
) -> None:
    app, channel = await make_app()
    await say(app, channel, "measure")  # members are unlimited by default here
    person = await app.people.by_account("test", "u1")
    assert person is not None
    first = await tokens_used(app, person.id)
    # Two turns of about this size pass 80 % of the budget; the third passes 100 %.
    await app.quota.change(Actor("cli", "cli"), person, daily=int(first * 2.2))
    replies = [await say(app, channel, f"turn {n}") for n in range(3)]
    told = [r for r in replies if "of your daily budget" in r]
    assert len(told) == 1, replies
    assert told[0].split("\n\n")[-1].startswith("(You have used ")
    refused = await say(app, channel, "one more")
    assert "daily token budget" in refused and "is used up" in refused
    assert "of your daily budget" not in refused


async def test_quota_is_for_owners_changes_the_budget_and_is_audited(
    make_app: AppMaker, fake_llm: FakeOpenAI
) -> None:
    app, channel = await make_app(owners="test:boss")
    await say(app, channel, "hello")  # the member exists
    asked = len(fake_llm.requests)

    refused = await say(app, channel, "/quota test:u1 --daily 0")
    assert refused == "Only the assistant's owners can use /quota."
    changed = await say(app, channel, "/quota test:u1 --daily 5,000 --monthly 0", sender="boss")
    assert changed == (
        "test:u1 now has a daily budget of 5,000 tokens and a monthly budget of unlimited."
    )
    person = await app.people.by_account("test", "u1")
    assert person is not None and (person.daily_tokens, person.monthly_tokens) == (5_000, 0)
    shown = await say(app, channel, "/quota test:u1", sender="boss")
    assert shown.startswith("test:u1 (U1):\nBudget today: ")
    back = await say(app, channel, "/quota test:u1 --daily default", sender="boss")
    assert "daily budget of unlimited" in back  # the default here is unlimited
    person = await app.people.by_account("test", "u1")
    assert person is not None and person.daily_tokens is None

    assert await say(app, channel, "/quota test:u1 --daily lots", sender="boss") == (
        "--daily takes a number of tokens, 0 for unlimited, or default (got 'lots')"
    )
    assert "Use: /quota USER" in await say(app, channel, "/quota --daily 5", sender="boss")
    assert (await say(app, channel, "/quota telegram:9 --daily 5", sender="boss")).startswith(
        "I know no one as telegram:9"
    )
    entries = await app.audit.entries(actions=("quota.changed",))
    assert [(e.actor, e.subject, e.detail["daily"], e.detail["monthly"]) for e in entries] == [
        ("test:boss", "test:u1", "default", "0"),
        ("test:boss", "test:u1", "5000", "0"),
    ]
    assert len(fake_llm.requests) == asked, "commands never ask the model"


async def test_usage_shows_what_is_left_and_what_it_cost(
    make_app: AppMaker, fake_llm: FakeOpenAI
) -> None:
    app, channel = await make_app(
        daily_tokens=100_000, monthly_tokens=2_000_000, model_prices="fake-model=1/0.5/2"
    )
    await say(app, channel, "hello")
    await say(app, channel, "again")
    rows = await calls(app)
    used = sum(r.prompt_tokens + r.completion_tokens for r in rows)
    dollars_spent = (
        sum(
            (r.prompt_tokens - r.cached_tokens) * 1
            + r.cached_tokens * 0.5
            + r.completion_tokens * 2
            for r in rows
        )
        / 1_000_000
    )
    assert any(r.cached_tokens for r in rows), "the second turn's prefix is cached"
    usage = (await say(app, channel, "/usage")).splitlines()
    assert usage[-3].startswith(
        f"Budget today: {100_000 - used:,} of 100,000 tokens left ({used:,} used); resets at 00:00 on "
    )
    assert usage[-2].startswith(f"Budget this month: {2_000_000 - used:,} of 2,000,000 tokens left")
    shown = dollars(Cost(dollars_spent))
    assert usage[-1] == f"Cost today: {shown}; this month: {shown}"


def test_cost_is_per_model_and_names_models_without_a_price() -> None:
    prices = {"big": (2.0, 0.5, 8.0)}
    used = [ModelUsage("big", 1_000_000, 500_000, 400_000), ModelUsage("local", 10, 5, 0)]
    figure = cost(used, prices)
    assert figure == Cost(600_000 * 2 / 1e6 + 400_000 * 0.5 / 1e6 + 500_000 * 8 / 1e6, ("local",))
    assert dollars(figure) == "$5.40 (no price set for local)"


async def test_embeddings_and_compaction_count_against_the_person(
    make_app: AppMaker, fake_llm: FakeOpenAI
) -> None:
    app, channel = await make_app(embedding_model="toy", context_tokens=4_000)
    for turn in range(12):
        await say(app, channel, f"message {turn}: " + "words " * 250)
        if any(r["messages"][0]["content"] == SUMMARY_INSTRUCTIONS for r in fake_llm.requests):
            break
    person = await app.people.by_account("test", "u1")
    assert person is not None
    rows = await calls(app)
    purposes = {r.purpose for r in rows if r.user_id == person.id}
    assert {"turn", "embedding", "compact"} <= purposes
    embedded = [r for r in rows if r.purpose == "embedding"]
    assert all(r.user_id == person.id and r.prompt_tokens > 0 for r in embedded)
    assert len(embedded) == len(fake_llm.embedding_requests)
    # The budget counts all of them: /usage's figure is the sum of every purpose.
    usage = await say(app, channel, "/usage")
    assert f"({await tokens_used(app, person.id):,} tokens used)" in usage


async def test_a_spent_budget_asks_for_no_embedding_either(
    make_app: AppMaker, fake_llm: FakeOpenAI
) -> None:
    app, channel = await make_app(embedding_model="toy", daily_tokens=1)
    await say(app, channel, "first")
    embeddings, requests = len(fake_llm.embedding_requests), len(fake_llm.requests)
    assert embeddings >= 1
    await say(app, channel, "second")
    assert (len(fake_llm.embedding_requests), len(fake_llm.requests)) == (embeddings, requests)
