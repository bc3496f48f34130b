"""End to end through the fake Telegram and Slack servers: a person tells the assistant
something on Telegram, links their Slack account, and what they said is found from Slack
(by recall in the prompt, and by the `search_history` tool); in the terminal too."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import App, build_app
from tests.adapters.slack.harness import ALICE, Harness, dm
from tests.adapters.telegram.conftest import FAST, OWNER, OWNER_USER, bot_settings
from tests.bot.cli.harness import environment, run
from tests.fakes.openai_server import FakeOpenAI, Reply, note_of
from tests.fakes.slack import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, FakeSlack
from tests.fakes.telegram_server import FakeTelegram

ANN_CHAT = FakeTelegram.private(OWNER_USER)
SLACK_DM = "D" + ALICE.removeprefix("U")


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    server = await FakeTelegram().start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = await FakeSlack().start()
    fake.users.update({ALICE: "Ann"})
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
async def both(
    fake_llm: FakeOpenAI,
    database_url: str,
    tmp_path: Path,
    telegram: FakeTelegram,
    slack: FakeSlack,
) -> AsyncIterator[tuple[App, Harness]]:
    """One app serving Telegram (polling) and Slack (Socket Mode)."""
    settings = bot_settings(fake_llm, database_url, tmp_path / "data", telegram)
    settings.slack = settings.slack.model_validate(
        {
            "bot_token": BOT_TOKEN,
            "app_token": APP_TOKEN,
            "signing_secret": SIGNING_SECRET,
            "api_url": slack.api_url,
            "allowed_users": ALICE,
        }
    )
    app = build_app(settings, telegram_tuning=FAST)
    await app.prepare_database()
    try:
        await app.start()
        await slack.wait_connected()
        yield app, Harness(app, slack, "socket")
    finally:
        await app.close()


async def on_telegram(server: FakeTelegram, app: App, text: str) -> str:
    before = len(server.in_chat(OWNER))
    server.push_message(ANN_CHAT, OWNER_USER, text)
    await server.wait_for(lambda: len(server.in_chat(OWNER)) > before)
    await app.sessions.drain()
    return server.texts(OWNER)[-1]


async def on_slack(harness: Harness, text: str) -> str:
    before = len(harness.fake.texts(SLACK_DM))
    await harness.deliver(dm(text, user=ALICE))
    await harness.fake.wait_for(lambda: len(harness.fake.texts(SLACK_DM)) > before)
    await harness.settle()
    return harness.fake.texts(SLACK_DM)[-1]


async def test_what_was_said_on_telegram_is_found_from_slack_after_linking(
    both: tuple[App, Harness], telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    app, slack = both
    await on_telegram(telegram, app, "Remember: my locker number is 4471 at the gym")
    await on_slack(slack, "hi there")
    fake_llm.add(Reply(tool_calls=[("search_history", {"query": "locker number"})]))
    await on_slack(slack, "what is my locker number?")
    assert "4471" not in str(fake_llm.requests[-1])  # two strangers so far

    issued = await on_telegram(telegram, app, "/link")
    code = re.search(r"Your link code: (\w+)", issued)
    assert code is not None, issued
    # Slack users type the one slash command; the reply names it as they type it.
    linked = await slack.command(f"link {code.group(1)}", channel=SLACK_DM, user=ALICE)
    await slack.settle()
    assert "Linked: telegram:111, slack:UALICE" in slack.fake.texts(SLACK_DM)[-1], linked
    # Telegram, where the code was asked for, is told which account used it.
    await telegram.wait_for(
        lambda: any("slack:UALICE was linked to you" in t for t in telegram.texts(OWNER))
    )

    await on_slack(slack, "and which locker is mine again?")
    assert "4471" in note_of(fake_llm.requests[-1])  # recall, in the model's request
    fake_llm.add(Reply(tool_calls=[("search_history", {"query": "locker number gym"})]))
    await on_slack(slack, "search what I said about the gym")
    results = [m["content"] for m in fake_llm.requests[-1]["messages"] if m["role"] == "tool"]
    assert "4471" in results[-1]
    # And the other way round: Telegram answers as the same person.
    await on_telegram(telegram, app, "which locker did I ask about on slack?")
    assert "which locker is mine again" in note_of(fake_llm.requests[-1])


def test_linking_from_the_terminal(fake_llm: FakeOpenAI, database_url: str, tmp_path: Path) -> None:
    env = environment(fake_llm, database_url, tmp_path)
    assert run(["chat", "-m", "my bike lock code is 9032", "--as", "ana"], env).returncode == 0
    issued = run(["chat", "-m", "/link", "--as", "ana"], env)
    code = re.search(r"Your link code: (\w+)", issued.stdout)
    assert code is not None, issued.stdout + issued.stderr
    linked = run(["chat", "-m", f"/link {code.group(1)}", "--as", "laptop"], env)
    assert linked.returncode == 0, linked.stderr
    assert "Linked: console:ana, console:laptop are now one person" in linked.stdout
    assert run(["chat", "-m", "what is my bike lock code?", "--as", "laptop"], env).returncode == 0
    assert "9032" in note_of(fake_llm.requests[-1])


async def test_an_account_nobody_let_in_yet_joins_its_person_with_a_link_code(
    both: tuple[App, Harness], telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    """Alice is let in on Slack; her Telegram account is a stranger. Her code is her
    consent: sent from Telegram it lets that account in as her, no owner asked, while a
    wrong code stores nothing of the stranger."""
    app, slack = both
    await on_slack(slack, "Remember: the wifi password at the cabin is larch-77")
    issued = await slack.command("link", channel=SLACK_DM, user=ALICE)
    await slack.settle()
    code = re.search(r"Your link code: (\w+)", slack.fake.texts(SLACK_DM)[-1])
    assert code is not None, issued

    phone = FakeTelegram.user(333, "Alice", "alice_t")
    chat = FakeTelegram.private(phone)

    async def from_phone(text: str) -> str:
        before = len(telegram.in_chat(333))
        telegram.push_message(chat, phone, text)
        await telegram.wait_for(lambda: len(telegram.in_chat(333)) > before)
        await app.sessions.drain()
        return telegram.texts(333)[-1]

    requests = len(fake_llm.requests)
    assert "don't know that code" in await from_phone("/link ABCDEFGHJK")
    assert await app.people.by_account("telegram", "333") is None  # nothing stored
    [failed] = await app.audit.entries(actions=("code.failed",))
    assert failed.actor == "telegram:333"

    linked = await from_phone(f"/link {code.group(1)}")
    assert "Linked: slack:UALICE, telegram:333" in linked
    person = await app.people.by_account("telegram", "333")
    assert person is not None and [a.label for a in person.accounts] == [
        "slack:UALICE",
        "telegram:333",
    ]
    assert len(fake_llm.requests) == requests  # no model call for any of it

    await from_phone("what is the cabin wifi password?")
    assert "larch-77" in note_of(fake_llm.requests[-1])
