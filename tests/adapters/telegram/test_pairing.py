"""Pairing on Telegram end to end: a stranger writes, the owner is asked in their private
chat (text and inline buttons), approves with the command, a button or the command line,
and the stranger's next message reaches the model. Real PTB ⇄ fake Bot API, real SQL."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.app import App, build_app
from bot.settings import Settings
from memory.audit import AuditStore
from memory.pairing import PairingStore
from memory.people import BLOCKED
from tests.adapters.telegram.conftest import FAST, GROUP, OWNER, OWNER_USER, running
from tests.bot.cli.harness import environment, run
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.telegram_server import FakeTelegram, SentMessage

EVE = FakeTelegram.user(999, "Eve Example", "eve")
BOT = "@clawling_test_bot"
CODE = re.compile(r"\b([2-9A-HJKMNP-Z]{8})\b")


def code_in(text: str) -> str:
    found = CODE.search(text)
    assert found is not None, text
    return found.group(1)


async def question(telegram: FakeTelegram, count: int = 1) -> SentMessage:
    """The `count`-th message asking the owner about someone."""
    await telegram.wait_for(lambda: len(asked(telegram)) >= count)
    return asked(telegram)[count - 1]


def asked(telegram: FakeTelegram) -> list[SentMessage]:
    return [m for m in telegram.in_chat(OWNER) if m.text.startswith("Someone asks")]


async def say(telegram: FakeTelegram, person: dict[str, Any], text: str, count: int) -> list[str]:
    """`person` writes privately; waits until their chat holds `count` messages."""
    telegram.push_message(FakeTelegram.private(person), person, text)
    await telegram.wait_for(lambda: len(telegram.in_chat(person["id"])) >= count)
    return telegram.texts(person["id"])


async def test_a_stranger_is_let_in_by_the_owners_command(
    settings_for: Any, telegram: FakeTelegram, fake_llm: FakeOpenAI, database_url: str
) -> None:
    async with running(settings_for()) as app:
        (reply,) = await say(telegram, EVE, "hello, can we talk?", 1)
        code = code_in(reply)
        assert reply.startswith("Hi Eve! I'm Clawling") and "asked my owner" in reply

        asking = await question(telegram)
        assert "Eve Example" in asking.text and "@eve" in asking.text
        assert "telegram:999" in asking.text
        assert f"/allow {code}" in asking.text and f"/deny {code}" in asking.text
        assert asking.buttons == [[("Allow", f"/allow {code}"), ("Deny", f"/deny {code}")]]

        # Writing again shows the same code and asks nobody again.
        texts = await say(telegram, EVE, "hello?", 2)
        assert code_in(texts[1]) == code and "still waiting" in texts[1]
        await asyncio.sleep(0.3)
        assert len(asked(telegram)) == 1
        assert fake_llm.requests == []
        assert await app.store.find_conversation("telegram", "999", "") is None

        telegram.push_message(FakeTelegram.private(OWNER_USER), OWNER_USER, f"/allow {code}")
        await telegram.wait_for(lambda: len(telegram.in_chat(OWNER)) >= 2)
        assert telegram.texts(OWNER)[1] == (
            "Let in Eve Example (telegram:999). I've told them; they can talk to me now."
        )
        texts = await _told(telegram)
        assert texts[-1] == "You're in! My owner let you in. Send me a message any time."

        texts = await say(telegram, EVE, "what is 2+2?", 4)
        await app.sessions.drain()
        assert texts[-1] == "echo: what is 2+2?"
        assert len(fake_llm.requests) == 1
        # Only what was said after the approval is stored.
        assert "hello" not in str(fake_llm.requests[0]["messages"])

        eve = await app.people.by_account("telegram", "999")
        assert eve is not None and (eve.role, eve.status) == ("member", "active")
        assert eve.accounts[0].username == "eve"
        trail = await app.audit.entries()
        assert [(e.action, e.actor, e.subject) for e in reversed(trail)] == [
            ("pairing.requested", "telegram:999", "telegram:999"),
            ("pairing.allowed", f"telegram:{OWNER}", "telegram:999"),
        ]

        # The code is used now: a second /allow says so plainly, and is audited.
        telegram.push_message(FakeTelegram.private(OWNER_USER), OWNER_USER, f"/allow {code}")
        await telegram.wait_for(lambda: len(telegram.in_chat(OWNER)) >= 3)
        assert telegram.texts(OWNER)[2] == (
            f"The code {code} was already used: Eve Example (telegram:999) was let in."
        )
        (failed,) = await app.audit.entries(actions=("code.failed",))
        assert failed.detail == {"kind": "pairing", "reason": "used", "code": code}


async def _told(telegram: FakeTelegram) -> list[str]:
    await telegram.wait_for(lambda: any("You're in" in t for t in telegram.texts(999)))
    return telegram.texts(999)


async def test_the_owner_presses_deny_and_the_stranger_is_told_once(
    settings_for: Any, telegram: FakeTelegram, fake_llm: FakeOpenAI, database_url: str
) -> None:
    async with running(settings_for()) as app:
        await say(telegram, EVE, "hi", 1)
        asking = await question(telegram)
        query = telegram.press(OWNER_USER, asking, "Deny")

        await telegram.wait_for(lambda: len(telegram.texts(999)) >= 2)
        assert telegram.texts(999)[1] == "Sorry, my owner decided not to let you in."
        await telegram.wait_for(lambda: query in telegram.answered_presses)
        await telegram.wait_for(lambda: len(telegram.in_chat(OWNER)) >= 2)
        assert telegram.texts(OWNER)[1].startswith("Turned down Eve Example (telegram:999)")

        # What they write afterwards gets no answer and asks nobody.
        telegram.push_message(FakeTelegram.private(EVE), EVE, "please?")
        await asyncio.sleep(0.5)
        assert len(telegram.texts(999)) == 2 and len(asked(telegram)) == 1
        assert fake_llm.requests == []
        assert await app.people.by_account("telegram", "999") is None
        (denied,) = await app.audit.entries(actions=("pairing.denied",))
        assert denied.actor == f"telegram:{OWNER}" and denied.subject == "telegram:999"


async def test_a_button_works_only_for_an_owner(
    settings_for: Any, telegram: FakeTelegram, fake_llm: FakeOpenAI, database_url: str
) -> None:
    bob = FakeTelegram.user(222, "Bob")
    async with running(settings_for(allowed_users=["222"])) as app:
        await say(telegram, EVE, "hi", 1)
        asking = await question(telegram)
        # Bob, a member, presses a copy of the owner's button (forwarded, say).
        telegram.press(bob, asking, "Allow")
        await telegram.wait_for(lambda: len(telegram.in_chat(OWNER)) >= 2)
        assert telegram.texts(OWNER)[1] == "Only the assistant's owners can use /allow."
        assert await app.people.by_account("telegram", "999") is None

        telegram.press(OWNER_USER, asking, "Allow")
        await _told(telegram)
        texts = await say(telegram, EVE, "thanks!", 3)
        await app.sessions.drain()
        assert texts[-1] == "echo: thanks!"


async def test_the_command_line_lets_a_stranger_in(
    settings_for: Any,
    telegram: FakeTelegram,
    fake_llm: FakeOpenAI,
    database_url: str,
    tmp_path: Path,
) -> None:
    async with running(settings_for()) as app:
        code = code_in((await say(telegram, EVE, "hi", 1))[0])
        env = environment(fake_llm, database_url, tmp_path)

        listed = await asyncio.to_thread(run, ["users", "pending"], env)
        assert listed.returncode == 0 and code in listed.stdout
        assert "telegram:999 (Eve Example) @eve" in listed.stdout
        wrong = await asyncio.to_thread(run, ["users", "allow", "ZZZZ2222"], env)
        assert wrong.returncode == 1
        assert "No request has the code ZZZZ2222" in wrong.stderr

        done = await asyncio.to_thread(run, ["users", "allow", code.lower()], env)
        assert done.returncode == 0, done.stderr
        assert "Let in Eve Example (telegram:999)" in done.stdout

        # This process (the one with Telegram) sends the news, and lets them in.
        await _told(telegram)
        texts = await say(telegram, EVE, "am I in?", 3)
        await app.sessions.drain()
        assert texts[-1] == "echo: am I in?"
        allowed = await app.audit.entries(actions=("pairing.allowed", "code.failed"))
        assert [(e.action, e.actor, e.platform) for e in allowed] == [
            ("pairing.allowed", "cli", "cli"),
            ("code.failed", "cli", "cli"),
        ]


async def test_expired_and_forged_codes_are_refused_plainly(
    settings_for: Any, telegram: FakeTelegram, fake_llm: FakeOpenAI, database_url: str
) -> None:
    shift = [timedelta()]
    async with clocked(settings_for(), shift) as app:
        code = code_in((await say(telegram, EVE, "hi", 1))[0])
        await question(telegram)
        shift[0] = timedelta(hours=1, minutes=1)

        owner_chat = FakeTelegram.private(OWNER_USER)
        telegram.push_message(owner_chat, OWNER_USER, f"/allow {code}")
        await telegram.wait_for(lambda: len(telegram.in_chat(OWNER)) >= 2)
        assert telegram.texts(OWNER)[1] == (
            f"The code {code} has expired (codes last an hour). Ask Eve Example "
            "(telegram:999) to write to me again for a new one."
        )
        telegram.push_message(owner_chat, OWNER_USER, "/deny QQQQ7777")
        await telegram.wait_for(lambda: len(telegram.in_chat(OWNER)) >= 3)
        assert telegram.texts(OWNER)[2].startswith("No request has the code QQQQ7777.")
        assert await app.people.by_account("telegram", "999") is None

        # Writing again after the hour: a new code, and the owner is asked again.
        texts = await say(telegram, EVE, "still there?", 2)
        assert code_in(texts[1]) != code
        await question(telegram, 2)
        actions = [e.action for e in reversed(await app.audit.entries())]
        assert actions == [
            "pairing.requested",
            "pairing.expired",
            "code.failed",
            "code.failed",
            "pairing.requested",
        ]
        records = await PairingStore(app.engine).pending()
        assert [r.stranger.label for r in records] == ["telegram:999"]


async def test_wrong_codes_are_rate_limited(
    settings_for: Any, telegram: FakeTelegram, fake_llm: FakeOpenAI, database_url: str
) -> None:
    async with running(settings_for()) as app:
        code = code_in((await say(telegram, EVE, "hi", 1))[0])
        await question(telegram)
        owner_chat = FakeTelegram.private(OWNER_USER)
        for n in range(10):
            telegram.push_message(owner_chat, OWNER_USER, f"/allow WRONG{n:03d}")
        await telegram.wait_for(lambda: len(telegram.in_chat(OWNER)) >= 11)
        telegram.push_message(owner_chat, OWNER_USER, f"/allow {code}")
        await telegram.wait_for(lambda: len(telegram.in_chat(OWNER)) >= 12)
        assert telegram.texts(OWNER)[-1] == (
            "Too many wrong codes just now; wait a few minutes and try again."
        )
        assert (
            await AuditStore(app.engine).count(
                "code.failed", f"telegram:{OWNER}", datetime.now(UTC) - timedelta(minutes=1)
            )
            == 10
        )
        assert await app.people.by_account("telegram", "999") is None


async def test_a_flood_of_strangers_costs_no_model_call_and_asks_at_most_the_cap(
    settings_for: Any, telegram: FakeTelegram, fake_llm: FakeOpenAI, database_url: str
) -> None:
    from bot.people.pairing import MAX_PENDING

    strangers = [FakeTelegram.user(5000 + n, f"Bot{n}") for n in range(MAX_PENDING + 5)]
    async with running(settings_for()) as app:
        for person in strangers:
            for text in ("let me in", "now!"):
                telegram.push_message(FakeTelegram.private(person), person, text)
        await telegram.wait_for(
            lambda: all(len(telegram.in_chat(p["id"])) == 2 for p in strangers), within=60
        )
        await asyncio.sleep(0.5)
        await app.background.deliverer.flush()

        assert fake_llm.requests == []
        assert len(asked(telegram)) == MAX_PENDING
        told_later = [
            p for p in strangers if telegram.texts(p["id"])[0].startswith("Sorry, I can't take")
        ]
        assert len(told_later) == 5
        assert await PairingStore(app.engine).count_pending() == MAX_PENDING
        assert await app.store.find_conversation("telegram", str(5000), "") is None


async def test_a_blocked_person_gets_nothing_at_all(
    settings_for: Any, telegram: FakeTelegram, fake_llm: FakeOpenAI, database_url: str
) -> None:
    bob = FakeTelegram.user(222, "Bob")
    async with running(settings_for(allowed_users=["222"])) as app:
        texts = await say(telegram, bob, "hi", 1)
        await app.sessions.drain()
        assert texts == ["echo: hi"]
        person = await app.people.by_account("telegram", "222")
        assert person is not None
        await app.people.set_status(person.id, BLOCKED)  # as `clawling users block` does

        telegram.push_message(FakeTelegram.private(bob), bob, "hello again")
        telegram.push_message(FakeTelegram.group(GROUP), bob, f"{BOT} and here?")
        telegram.push_message(FakeTelegram.private(bob), bob, "/help")
        await asyncio.sleep(1.0)
        await app.sessions.drain()
        assert telegram.texts(222) == ["echo: hi"] and telegram.texts(GROUP) == []
        assert len(fake_llm.requests) == 1
        assert len(asked(telegram)) == 0
        stored = await app.store.load_context(
            (await app.store.find_conversation("telegram", "222", "")).id  # type: ignore[union-attr]
        )
        assert [m.content for m in stored.messages] == ["hi", "echo: hi"]


async def test_the_allowlist_seeds_the_people_table(
    settings_for: Any, telegram: FakeTelegram, fake_llm: FakeOpenAI, database_url: str
) -> None:
    bob = FakeTelegram.user(222, "Bob Builder", "Bob_B")
    async with running(settings_for(allowed_users=["@bob_b"])) as app:
        texts = await say(telegram, bob, "hi", 1)
        await app.sessions.drain()
        assert texts == ["echo: hi"] and asked(telegram) == []
        person = await app.people.by_account("telegram", "222")
        assert person is not None
        assert (person.name, person.role, person.status) == ("Bob Builder", "member", "active")
        assert person.accounts[0].username == "Bob_B"
        # Removed by an owner, the .env does not bring them back: they must pair.
        await app.people.set_status(person.id, "removed")
        texts = await say(telegram, bob, "hi again", 2)
        assert "asked my owner" in texts[1]
        await question(telegram)


async def test_a_stranger_in_a_group_is_refused_once(
    settings_for: Any, telegram: FakeTelegram, fake_llm: FakeOpenAI, database_url: str
) -> None:
    async with running(settings_for()) as app:
        group = FakeTelegram.group(GROUP)
        for text in ("hi", "hello??", "answer me"):
            telegram.push_message(group, EVE, f"{BOT} {text}")
        await telegram.wait_for(lambda: len(telegram.in_chat(GROUP)) >= 1)
        await asyncio.sleep(0.5)
        (refusal,) = telegram.texts(GROUP)
        assert "telegram:999" in refusal and "private assistant" in refusal
        assert fake_llm.requests == [] and asked(telegram) == []
        assert await PairingStore(app.engine).count_pending() == 0


@asynccontextmanager
async def clocked(settings: Settings, shift: list[timedelta]) -> AsyncIterator[App]:
    """The app with a clock the test can move forward."""
    app = build_app(settings, telegram_tuning=FAST, now=lambda: datetime.now(UTC) + shift[0])
    await app.prepare_database()
    try:
        await app.start()
        yield app
    finally:
        await app.close()
