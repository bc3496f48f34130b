"""The Usage page over HTTP: only for people logged in, only their own numbers, and the
budgets and cost exactly as /usage says them in the chat."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bot.app import App
from bot.settings import Settings
from memory.people import Person
from memory.usage import LLMCallRecord
from tests.bot.dashboard.harness import Browser
from tests.conftest import make_settings
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI

LoggedIn = Callable[[Person], Awaitable[Browser]]


@pytest.fixture
def board_settings(fake_llm: FakeOpenAI, sqlite_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        fake_llm,
        sqlite_url,
        tmp_path / "data",
        daily_tokens=10_000,
        monthly_tokens=200_000,
        model_prices="fake-model=1/0.5/2",
    )


async def used(app: App, person: Person, prompt: int, cached: int, output: int) -> None:
    await app.usage.record_llm_call(
        LLMCallRecord("turn", "fake-model", True, prompt, output, cached, user_id=person.id)
    )


async def test_logged_out_the_usage_page_sends_to_the_welcome_page(
    app_: App, browser: Callable[[], Browser]
) -> None:
    page = await browser().get("/dashboard/usage")
    assert (page.status, page.location) == (303, "/dashboard/welcome")


async def test_a_person_sees_their_own_usage_and_budgets_as_usage_says_them(
    app_: App, chat: RecordingChannel, owner: Person, member: Person, logged_in: LoggedIn
) -> None:
    await used(app_, member, 1_000, 400, 234)
    await used(app_, owner, 55_555, 0, 4_444)  # the owner's: never on Max's page

    page = await (await logged_in(member)).get("/dashboard/usage")
    assert page.status == 200
    text = page.text
    # Today's bar and the table: 400 cached, 600 uncached, 234 output.
    assert "400 cached input, 600 uncached input, 234 output" in text
    assert "55,555" not in text and "4,444" not in text
    assert 'class="chart"' in text and 'role="img"' in text
    assert "8,766" in text  # 10,000 − 1,234 left today

    await app_.sessions.handle(chat.inbound("/usage", sender="max", chat="max"))
    await app_.sessions.drain()
    said = chat.texts("max")[-1]
    today = re.search(
        r"Budget today: ([\d,]+) of ([\d,]+) tokens left \(([\d,]+) used\); resets (.+)", said
    )
    month = re.search(r"Budget this month: ([\d,]+) of .*resets (.+)", said)
    cost = re.search(r"Cost today: (\S+); this month: (\S+)", said)
    assert today and month and cost, said
    assert today[1] == "8,766" and today[3] == "1,234"
    assert f"resets {today[4]}" in text and f"resets {month[2]}" in text
    assert f"Cost: {cost[1]}" in text and f"Cost: {cost[2]}" in text


async def test_a_person_without_limits_reads_no_limit(
    app_: App, owner: Person, logged_in: LoggedIn
) -> None:
    await used(app_, owner, 300, 0, 20)  # owners are unlimited unless given a quota
    page = await (await logged_in(owner)).get("/dashboard/usage")
    assert page.status == 200
    assert page.text.count("No limit") == 2 and "320 tokens used" in page.text
