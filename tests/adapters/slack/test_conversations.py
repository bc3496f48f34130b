"""Talking to the assistant in Slack, end to end in Socket Mode and HTTP mode."""

from __future__ import annotations

import asyncio

from tests.adapters.slack.harness import ALICE, BOB, Harness, dm, in_channel, mention
from tests.fakes.openai_server import FakeOpenAI, Reply, last_user_text, user_texts


async def test_a_dm_is_answered_once_at_the_top_level_with_a_received_reaction(
    slack: Harness, fake_llm: FakeOpenAI
) -> None:
    event = dm("hello there")
    await slack.deliver(event)
    await slack.settle()

    replies = [m for m in slack.fake.messages if m.channel == "DALICE"]
    assert [(m.text, m.thread_ts) for m in replies] == [("echo: hello there", None)]
    assert ("DALICE", event["ts"], "eyes") in slack.fake.reactions
    assert len(fake_llm.requests) == 1


async def test_a_mention_in_a_channel_is_answered_in_its_thread_by_streaming(
    slack: Harness,
) -> None:
    event = mention("what's up?")
    await slack.deliver(event)
    await slack.settle()

    (reply,) = slack.fake.messages
    assert reply.channel == "CGENERAL" and reply.thread_ts == event["ts"]
    assert reply.streamed and not reply.streaming
    assert reply.text == "echo: Alice: what's up?"  # in groups the model sees who spoke
    started = slack.fake.called("chat.startStream")[0]
    assert (started["recipient_user_id"], started["recipient_team_id"]) == (ALICE, "T0TEAM")


async def test_a_thread_continues_and_the_assistant_stays_out_of_other_talk(
    slack: Harness, fake_llm: FakeOpenAI
) -> None:
    first = mention("remember the word apple")
    await slack.deliver(first)
    await slack.settle()
    await slack.deliver(in_channel("what was the word?", user=BOB, thread_ts=first["ts"]))
    await slack.deliver(in_channel("lunch anyone?"))  # top level, no mention
    await slack.deliver(in_channel("hm", thread_ts="1600000000.000001"))  # a thread it is not in
    await slack.settle()

    assert slack.fake.texts("CGENERAL", first["ts"]) == [
        "echo: Alice: remember the word apple",
        "echo: Bob: what was the word?",
    ]
    assert len(slack.fake.messages) == 2
    assert len(fake_llm.requests) == 2
    seen = [m["content"] for m in fake_llm.requests[-1]["messages"] if m["role"] != "system"]
    assert any("remember the word apple" in str(c) for c in seen)


async def test_a_dm_thread_is_its_own_conversation_answered_in_that_thread(
    slack: Harness, fake_llm: FakeOpenAI
) -> None:
    await slack.deliver(dm("top level"))
    await slack.settle()
    root = dm("start a thread")
    await slack.deliver(root)
    await slack.settle()
    await slack.deliver(dm("inside the thread", thread_ts=root["ts"]))
    await slack.settle()

    assert slack.fake.texts("DALICE", root["ts"]) == ["echo: inside the thread"]
    inside = user_texts(fake_llm.requests[-1])
    assert inside == ["inside the thread"]  # the DM's own history is not in the thread's


async def test_a_redelivered_event_is_answered_once(slack: Harness, fake_llm: FakeOpenAI) -> None:
    event = dm("only once please")
    event_id = await slack.deliver(event)
    await slack.deliver(event, event_id=event_id, retry=1)
    await slack.settle()
    await slack.deliver(event, event_id=event_id, retry=2)
    await slack.settle()

    assert slack.fake.texts("DALICE") == ["echo: only once please"]
    assert len(fake_llm.requests) == 1


async def test_two_people_are_answered_at_the_same_time(
    slack: Harness, fake_llm: FakeOpenAI
) -> None:
    arrived: list[str] = []

    def first_one_slow(request: dict) -> Reply:  # type: ignore[type-arg]
        text = last_user_text(request)
        arrived.append(text)
        # The first question takes a while; if turns ran one after the other, the
        # second could not even be asked before the first was answered.
        return Reply(text=f"done: {text}", delay=1.0 if len(arrived) == 1 else 0.0)

    fake_llm.responder = first_one_slow
    await asyncio.gather(slack.deliver(dm("alice here")), slack.deliver(dm("bob here", user=BOB)))
    await slack.settle()

    assert slack.fake.texts("DALICE") == ["done: alice here"]
    assert slack.fake.texts("DBOB") == ["done: bob here"]
    assert sorted(arrived) == ["alice here", "bob here"]
    assert slack.fake.messages[0].text == f"done: {arrived[1]}"  # the quick one came first


async def test_edits_deletions_and_bot_messages_are_not_answered(
    slack: Harness, fake_llm: FakeOpenAI
) -> None:
    original = dm("first version")
    await slack.deliver(
        {**dm(""), "subtype": "message_changed", "message": {**original, "text": "second"}}
    )
    await slack.deliver({**dm(""), "subtype": "message_deleted", "deleted_ts": original["ts"]})
    await slack.deliver({**dm("from another bot"), "bot_id": "BOTHER"})
    await slack.deliver({**dm("my own echo"), "user": "UBOT"})
    await slack.settle()

    assert slack.fake.messages == []
    assert fake_llm.requests == []


async def test_a_malformed_event_is_dropped_and_acknowledged(
    slack: Harness, fake_llm: FakeOpenAI
) -> None:
    await slack.deliver({"type": "message", "channel_type": "im", "text": "no user or channel"})
    await slack.deliver_body({"type": "event_callback", "event_id": "EvBROKEN", "event": "oops"})
    await slack.deliver({"type": "reaction_added", "user": ALICE, "reaction": "tada"})
    await slack.settle()

    assert slack.fake.messages == []
    assert fake_llm.requests == []
