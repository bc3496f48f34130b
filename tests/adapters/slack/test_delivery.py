"""Exactly-once answers across restarts, access, rate limits, long replies, commands."""

from __future__ import annotations

import pytest

from bot.chat.channels import ChatRef
from bot.errors import ConfigError
from tests.adapters.slack.conftest import Launch
from tests.adapters.slack.harness import ALICE, EVE, Harness, dm, in_channel, mention
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.fakes.slack import FakeSlack


async def test_an_event_redelivered_after_a_restart_is_not_answered_again(
    launch: Launch, database_url: str, mode: str, fake_llm: FakeOpenAI, fake_slack: FakeSlack
) -> None:
    first = await launch(mode, database_url)
    event = dm("answer me once")
    event_id = await first.deliver(event)
    await first.settle()
    await first.close()

    second = await launch(mode, database_url)
    await second.deliver(event, event_id=event_id, retry=1)
    await second.settle()

    assert fake_slack.texts("DALICE") == ["echo: answer me once"]
    assert len(fake_llm.requests) == 1


async def test_unknown_people_are_refused_without_a_model_call(
    launch: Launch, sqlite_url: str, mode: str, fake_llm: FakeOpenAI
) -> None:
    # With pairing on, a DM would get a pairing code instead (tests/bot/people).
    slack = await launch(mode, sqlite_url, core={"pairing": "off"})
    await slack.deliver(dm("let me in", user=EVE))
    mentioned = mention("me too", user=EVE)
    await slack.deliver(mentioned)
    await slack.settle()
    await slack.deliver(in_channel("just chatting", user=EVE, thread_ts=mentioned["ts"]))
    await slack.settle()

    (refusal,) = slack.fake.texts("DEVE")
    assert "slack:UEVE" in refusal and "private assistant" in refusal
    assert len(slack.fake.texts("CGENERAL", mentioned["ts"])) == 1  # chatter gets no refusal
    assert fake_llm.requests == []
    assert slack.fake.reactions == []


async def test_with_an_empty_allowlist_only_owners_may_talk(
    launch: Launch, sqlite_url: str, fake_slack: FakeSlack, fake_llm: FakeOpenAI
) -> None:
    owners = {"owners": "telegram:12345,slack:UBOB", "pairing": "off"}
    harness = await launch("socket", sqlite_url, core=owners, allowed_users="")
    await harness.deliver(dm("hi", user=ALICE))
    await harness.deliver(dm("hi, it's me", user="UBOB"))
    await harness.settle()
    assert "slack:UALICE" in fake_slack.texts("DALICE")[0]
    assert fake_slack.texts("DBOB") == ["echo: hi, it's me"]
    assert len(fake_llm.requests) == 1


async def test_rate_limited_replies_wait_for_retry_after_and_arrive(
    launch: Launch, sqlite_url: str, fake_slack: FakeSlack
) -> None:
    harness = await launch("socket", sqlite_url)
    fake_slack.rate_limited["chat.postMessage"] = 2
    fake_slack.retry_after = "1"
    await harness.deliver(dm("busy day"))
    await harness.settle()

    assert fake_slack.texts("DALICE") == ["echo: busy day"]
    posts = [at for method, _, at in fake_slack.calls if method == "chat.postMessage"]
    # The progress message is skipped at the first 429; the answer waits Retry-After.
    assert len(posts) == 3
    assert posts[2] - posts[1] >= 1.0


async def test_a_long_reply_is_split_under_slacks_limit_in_the_thread(
    slack: Harness, fake_llm: FakeOpenAI
) -> None:
    paragraphs = [f"Paragraph {i}: " + "word " * 150 for i in range(60)]
    long_text = "\n\n".join(paragraphs)
    fake_llm.add(Reply(text=long_text, chunk_chars=4000))
    event = mention("write a lot")
    await slack.deliver(event)
    await slack.settle()

    parts = slack.fake.texts("CGENERAL", event["ts"])
    assert len(parts) >= 4
    assert all(len(p) <= 12_000 for p in parts)
    assert "\n\n".join(parts).split() == long_text.split()


async def test_markdown_is_sent_as_markdown_text(slack: Harness, fake_llm: FakeOpenAI) -> None:
    fake_llm.add(Reply(text="**Bold** and a [link](https://example.com)\n\n- one\n- two"))
    await slack.deliver(dm("format please"))
    await slack.settle()
    (sent,) = slack.fake.called("chat.postMessage")
    assert sent["markdown_text"].startswith("**Bold") and "text" not in sent
    assert slack.fake.texts("DALICE") == [
        "**Bold** and a [link](https://example.com)\n\n- one\n- two"
    ]


async def test_slash_command_runs_the_registered_command_in_the_dm(
    slack: Harness, fake_llm: FakeOpenAI
) -> None:
    await slack.deliver(dm("something to forget"))
    await slack.settle()
    for text in ("new", "", "usage"):
        ack = await slack.command(text, channel="DALICE")
        assert ack.get("text") is None
    await slack.settle()

    texts = slack.fake.texts("DALICE")
    assert texts[1] == "Started a fresh conversation. Earlier messages are still stored."
    # /clawling alone shows help, naming commands as Slack users type them
    assert "/clawling new" in texts[2] and "/clawling usage" in texts[2]
    assert texts[3].startswith("Today (UTC): 1 model calls")
    assert len(fake_llm.requests) == 1


async def test_slash_command_text_that_is_no_command_goes_to_the_assistant(
    slack: Harness, fake_llm: FakeOpenAI
) -> None:
    await slack.command("what time is it", channel="CGENERAL")
    await slack.settle()
    assert slack.fake.texts("DALICE") == ["echo: what time is it"]
    assert slack.fake.responses == [
        {"text": "I've answered in our direct messages.", "response_type": "ephemeral"}
    ]


async def test_slash_command_from_an_unknown_person_is_refused(
    launch: Launch, sqlite_url: str, mode: str, fake_llm: FakeOpenAI
) -> None:
    slack = await launch(mode, sqlite_url, core={"pairing": "off"})
    ack = await slack.command("new", channel="CGENERAL", user=EVE)
    await slack.settle()
    assert "slack:UEVE" in str(ack.get("text"))
    assert slack.fake.messages == [] and fake_llm.requests == []


async def test_files_can_be_sent_to_the_chat(slack: Harness) -> None:
    chat = ChatRef("slack", "DALICE", "")
    ref = await slack.adapter.send_file(chat, "export.json", b'{"a": 1}', "your export")
    (upload,) = slack.fake.uploads.values()
    assert (upload.filename, upload.data, upload.channel) == ("export.json", b'{"a": 1}', "DALICE")
    assert upload.comment == "your export" and ref.message_id == upload.file_id


async def test_a_rejected_token_stops_start_up_with_one_line(
    launch: Launch, sqlite_url: str
) -> None:
    with pytest.raises(ConfigError, match=r"Slack rejected SLACK_BOT_TOKEN \(invalid_auth\)"):
        await launch("socket", sqlite_url, bot_token="xoxb-wrong")
    with pytest.raises(ConfigError, match=r"Slack rejected SLACK_APP_TOKEN \(invalid_auth\)"):
        await launch("socket", sqlite_url, app_token="xapp-wrong")


async def test_a_rate_limited_progress_update_is_skipped_and_the_answer_still_arrives(
    launch: Launch, sqlite_url: str, fake_slack: FakeSlack
) -> None:
    harness = await launch("socket", sqlite_url)
    fake_slack.rate_limited["chat.startStream"] = 1
    fake_slack.retry_after = "30"
    event = mention("status?")
    await harness.deliver(event)
    await harness.settle()

    assert len(fake_slack.called("chat.startStream")) == 1  # not retried: progress only
    assert fake_slack.texts("CGENERAL", event["ts"]) == ["echo: Alice: status?"]
