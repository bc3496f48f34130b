"""HTTP mode stores each event in the inbox before its 200 (adapters/slack/endpoint.py):
a redelivery, to this replica or another, is stored and answered once, and an event a
dead replica claimed is answered by the next."""

from __future__ import annotations

import json

from tests.adapters.inbox_rows import claimed_by_a_dead_replica, inbox_rows
from tests.adapters.slack.conftest import Launch
from tests.adapters.slack.harness import dm
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack import SlackEvents, event_body


async def test_an_event_is_stored_before_its_200_and_a_redelivery_answered_once(
    launch: Launch, database_url: str, fake_llm: FakeOpenAI
) -> None:
    slack = await launch("http", database_url)
    sender = SlackEvents(slack.events_url)
    body = json.dumps(event_body(dm("kept safe"), "EvKEPT1"))
    assert (await sender.post(body))[0] == 200
    assert [event_id for event_id, _ in await inbox_rows(database_url, "slack")] == ["EvKEPT1"]
    assert (await sender.post(body, retry_num=1))[0] == 200
    await slack.settle()
    assert slack.fake.texts("DALICE") == ["echo: kept safe"]
    assert len(fake_llm.requests) == 1
    assert await inbox_rows(database_url, "slack") == [("EvKEPT1", True)]


async def test_unsigned_events_are_not_stored(launch: Launch, sqlite_url: str) -> None:
    slack = await launch("http", sqlite_url)
    forged = SlackEvents(slack.events_url, secret="not-the-secret")
    assert (await forged.post(json.dumps(event_body(dm("let me in")))))[0] == 401
    assert await inbox_rows(sqlite_url, "slack") == []


async def test_an_event_a_dead_replica_claimed_is_answered_by_the_next(
    launch: Launch, database_url: str, fake_llm: FakeOpenAI
) -> None:
    body = event_body(dm("still there?"), "EvLEFT1")
    await claimed_by_a_dead_replica(database_url, "slack", "EvLEFT1", "DALICE", body)
    slack = await launch("http", database_url)
    await slack.settle()
    assert slack.fake.texts("DALICE") == ["echo: still there?"]
    assert await inbox_rows(database_url, "slack") == [("EvLEFT1", True)]


async def test_two_replicas_given_the_same_event_answer_it_once(
    launch: Launch, postgres_url: str, fake_llm: FakeOpenAI
) -> None:
    first = await launch("http", postgres_url)
    second = await launch("http", postgres_url)
    body = json.dumps(event_body(dm("one answer please"), "EvTWICE"))
    statuses = [
        (await SlackEvents(first.events_url).post(body))[0],
        (await SlackEvents(second.events_url).post(body, retry_num=1))[0],
    ]
    assert statuses == [200, 200]
    await first.settle()
    await second.settle()
    assert first.fake.texts("DALICE") == ["echo: one answer please"]
    assert len(fake_llm.requests) == 1


async def test_events_the_assistant_never_answers_are_acknowledged_without_being_stored(
    launch: Launch, sqlite_url: str
) -> None:
    slack = await launch("http", sqlite_url)
    reaction = {"type": "reaction_added", "user": "UALICE", "reaction": "eyes", "event_ts": "1.2"}
    assert (await SlackEvents(slack.events_url).post(json.dumps(event_body(reaction))))[0] == 200
    assert await inbox_rows(sqlite_url, "slack") == []
