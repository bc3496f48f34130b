"""Two replicas on one PostgreSQL database, and the person's next message reaches the
other one: a "yes" answers the question the first one's turn waits on, `/stop` stops
its turn, and a block made on one is enforced by the other at once, not when its cache
expires (memory/db/notices.py, bot/safety/approvals.py, bot/chat/sessions.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from bot.app import App
from bot.chat.stops import POLL as STOP_POLL
from bot.people.doorman import CACHE_SECONDS
from bot.safety.approvals import POLL_EVERY
from memory.db.models import Approval
from memory.db.notices import Notices
from memory.people import BLOCKED
from memory.skills import ACTIVE
from tests.bot.app.test_lifecycle import started
from tests.bot.conftest import wait_for_message
from tests.conftest import make_settings
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI, Reply, echo

Replica = tuple[App, RecordingChannel]


@pytest.fixture
async def replicas(
    fake_llm: FakeOpenAI, postgres_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Replica, Replica]]:
    """Two started apps on one PostgreSQL database, with the shell tool (which asks)."""
    first = await started(make_settings(fake_llm, postgres_url, tmp_path / "a", shell=True))
    second = await started(make_settings(fake_llm, postgres_url, tmp_path / "b", shell=True))
    try:
        yield first, second
    finally:
        await second[0].close()
        await first[0].close()


def notices_of(app: App) -> Notices:
    return next(s for s in app.services if isinstance(s, Notices))


def tool_results(request: dict[str, Any]) -> list[str]:
    return [m["content"] for m in request["messages"] if m["role"] == "tool"]


def runs(fake_llm: FakeOpenAI) -> list[int]:
    """For each model request, how many outputs of the command it carries."""
    return [
        sum("\nran-once\n\n[exit code 0]" in result for result in tool_results(request))
        for request in fake_llm.requests
    ]


async def approvals(app: App) -> list[tuple[str, str | None]]:
    async with app.store.session() as session:
        rows = await session.execute(
            select(Approval.status, Approval.decided_by).order_by(Approval.id)
        )
        return [(row[0], row[1]) for row in rows]


async def ask_on_first(first: Replica, fake_llm: FakeOpenAI) -> None:
    app, chat = first
    fake_llm.add(Reply(tool_calls=[("shell", {"command": "echo ran-once"})]))
    fake_llm.add(Reply(text="done"))
    await app.sessions.handle(chat.inbound("run it", msg_id="1"))
    await wait_for_message(chat, "Confirmation needed (#1)")


async def test_a_yes_reaching_the_other_replica_runs_the_waiting_call_once(
    replicas: tuple[Replica, Replica], fake_llm: FakeOpenAI
) -> None:
    (a, a_chat), (b, b_chat) = replicas
    await ask_on_first((a, a_chat), fake_llm)

    started_at = time.monotonic()
    await b.sessions.handle(b_chat.inbound("yes", msg_id="2"))
    await wait_for_message(a_chat, "done")
    # Heard at once, not found by the fallback's next look.
    assert time.monotonic() - started_at < POLL_EVERY
    await asyncio.gather(a.sessions.drain(), b.sessions.drain())

    assert b_chat.texts() == ["Approved #1: run the shell command `echo ran-once`"]
    # One model request after the call, carrying its one output.
    assert runs(fake_llm) == [0, 1]
    assert await approvals(a) == [("approved", "test:u1")]
    # The waiting replica's audit entry names who answered on the other one.
    (called,) = await a.audit.entries(actions=("tool.called",))
    assert called.detail["approval"] == "approved"
    assert called.detail["answered_by"] == "test:u1"
    # The "yes" was an answer, not a message for the model.
    assert all("yes" not in str(r["messages"]) for r in fake_llm.requests)


async def test_only_the_turns_person_may_answer_on_the_other_replica(
    replicas: tuple[Replica, Replica], fake_llm: FakeOpenAI
) -> None:
    (a, a_chat), (b, b_chat) = replicas
    await ask_on_first((a, a_chat), fake_llm)
    await b.sessions.handle(b_chat.inbound("/approve 1", sender="u2", msg_id="2"))
    await b.sessions.drain()
    assert b_chat.texts() == ["Only the person I'm working for in this turn can answer that."]
    await b.sessions.handle(b_chat.inbound("/deny 1", msg_id="3"))
    await wait_for_message(a_chat, "done")
    await asyncio.gather(a.sessions.drain(), b.sessions.drain())
    assert b_chat.texts()[-1] == "Refused #1; I won't do it."
    assert await approvals(a) == [("denied", "test:u1")]
    assert runs(fake_llm) == [0, 0]
    assert [len(tool_results(r)) for r in fake_llm.requests] == [0, 1]  # told it was refused


async def test_a_lost_notice_still_gets_the_answer_by_polling(
    replicas: tuple[Replica, Replica], fake_llm: FakeOpenAI
) -> None:
    (a, a_chat), (b, b_chat) = replicas
    await ask_on_first((a, a_chat), fake_llm)
    # The first replica stops listening: the second one's notice reaches nobody.
    await notices_of(a).stop()
    heard = notices_of(a).received
    await b.sessions.handle(b_chat.inbound("yes", msg_id="2"))
    await b.sessions.drain()
    assert b_chat.texts()[0].startswith("Approved #1")
    async with asyncio.timeout(POLL_EVERY + 3):
        await wait_for_message(a_chat, "done")
    await a.sessions.drain()
    assert notices_of(a).received == heard
    assert runs(fake_llm) == [0, 1]


async def test_stop_on_the_other_replica_stops_the_running_turn_within_a_second(
    replicas: tuple[Replica, Replica], fake_llm: FakeOpenAI
) -> None:
    (a, a_chat), (b, b_chat) = replicas
    fake_llm.responder = lambda request: Reply(text=echo(request).text, delay=10)
    await a.sessions.handle(a_chat.inbound("take your time", msg_id="1"))
    while not fake_llm.requests:
        await asyncio.sleep(0.01)

    started_at = time.monotonic()
    await b.sessions.handle(b_chat.inbound("/stop", msg_id="2"))
    async with asyncio.timeout(1):
        await a.sessions.drain()
    assert time.monotonic() - started_at < 1
    await b.sessions.drain()
    assert b_chat.texts() == ["Stopped."]
    assert a.sessions.stats.stopped_turns == 1
    assert a_chat.texts() == []

    # Nothing runs now: a /stop anywhere says so.
    await b.sessions.handle(b_chat.inbound("/stop", msg_id="3"))
    await b.sessions.drain()
    assert b_chat.texts()[-1] == "Nothing is running."


async def test_a_stop_whose_notice_is_lost_is_found_stored_within_a_poll(
    replicas: tuple[Replica, Replica], fake_llm: FakeOpenAI
) -> None:
    (a, a_chat), (b, b_chat) = replicas
    fake_llm.responder = lambda request: Reply(text=echo(request).text, delay=8)
    await a.sessions.handle(a_chat.inbound("take your time", msg_id="1"))
    while not fake_llm.requests:
        await asyncio.sleep(0.01)
    # The first replica stops listening: the second one's notice reaches nobody.
    await notices_of(a).stop()
    heard = notices_of(a).received

    started_at = time.monotonic()
    await b.sessions.handle(b_chat.inbound("/stop", msg_id="2"))
    async with asyncio.timeout(STOP_POLL + 3):
        await a.sessions.drain()
    print(f"\nstopped {time.monotonic() - started_at:.1f} s after /stop, the notice lost")
    await b.sessions.drain()
    assert b_chat.texts() == ["Stopped."]
    assert notices_of(a).received == heard
    assert a.sessions.stats.stopped_turns == 1
    assert a_chat.texts() == []

    # The stored request stopped that turn only: the next one runs to its answer.
    fake_llm.responder = echo
    await a.sessions.handle(a_chat.inbound("and now?", msg_id="3"))
    await asyncio.sleep(STOP_POLL + 0.5)  # a stop look happens meanwhile
    await a.sessions.drain()
    assert a_chat.texts()[-1] == "echo: and now?"
    assert a.sessions.stats.stopped_turns == 1


async def test_a_block_on_one_replica_is_enforced_by_the_other_before_its_cache_expires(
    replicas: tuple[Replica, Replica], fake_llm: FakeOpenAI
) -> None:
    (a, a_chat), (b, _) = replicas
    fake_llm.responder = echo
    await a.sessions.handle(a_chat.inbound("hello", msg_id="1"))
    await a.sessions.drain()
    assert a_chat.texts() == ["echo: hello"]  # let in, and now cached as let in
    person = await a.people.by_account("test", "u1")
    assert person is not None

    blocked_at = time.monotonic()
    assert await b.people.change_keeping_an_owner(person.id, status=BLOCKED)
    async with asyncio.timeout(CACHE_SECONDS / 2):
        while (await a.sessions.screen(a_chat.inbound("still there?"))).admitted:
            await asyncio.sleep(0.01)
    assert time.monotonic() - blocked_at < CACHE_SECONDS / 2
    assert not await a.sessions.handle(a_chat.inbound("still there?", msg_id="2"))
    assert a_chat.texts() == ["echo: hello"]


async def test_a_skill_approved_on_one_replica_is_listed_by_the_other_at_once(
    replicas: tuple[Replica, Replica],
) -> None:
    (a, _), (b, _) = replicas
    user = await a.store.resolve_identity("test", "u1", "U1")
    assert await a.skill_store.listing(user.id, (ACTIVE,)) == []  # cached for a minute
    draft = await b.skill_store.propose(user.id, "greet", "say hi", "Say hi.")
    assert await b.skill_store.decide(draft.id, approve=True)
    async with asyncio.timeout(2):
        while not await a.skill_store.listing(user.id, (ACTIVE,)):
            await asyncio.sleep(0.02)


async def test_a_replica_whose_listening_connection_was_cut_hears_again(
    replicas: tuple[Replica, Replica],
) -> None:
    (a, _), (b, _) = replicas
    notices = notices_of(a)
    heard: list[str] = []
    resumed: list[bool] = []
    notices.on("probe", heard.append)
    notices.on_resumed(lambda: resumed.append(True))
    async with a.engine.connect() as connection:
        cut = await connection.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = :name"
            ),
            {"name": notices.name},
        )
    assert cut == 1
    async with asyncio.timeout(10):
        while not resumed:
            await asyncio.sleep(0.02)
    await notices_of(b).publish("probe", 42)
    async with asyncio.timeout(5):
        while not heard:
            await asyncio.sleep(0.02)
    assert heard == ["42"]


async def test_the_other_replica_lists_the_question_and_answers_it_by_id(
    replicas: tuple[Replica, Replica], fake_llm: FakeOpenAI
) -> None:
    """As the dashboard does, whichever replica serves the page."""
    (a, a_chat), (b, _) = replicas
    await ask_on_first((a, a_chat), fake_llm)
    person = await b.people.by_account("test", "u1")
    assert person is not None
    assert [r.id for r in await b.approvals.waiting_of(person.id)] == [1]
    said = await b.approvals.decide(0, person.id, True, 1, "test:u1 (U1)")
    assert said.startswith("Approved #1")
    await wait_for_message(a_chat, "done")
    assert await b.approvals.waiting_of(person.id) == []
    assert await approvals(a) == [("approved", "test:u1 (U1)")]
