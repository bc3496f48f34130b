"""Reading Slack payloads: which events are messages for the assistant, and their text."""

from __future__ import annotations

import pytest

from adapters.slack.events import (
    MalformedEvent,
    command_text,
    plain_text,
    read_command,
    read_message,
)
from tests.fakes.slack import event_body


def test_slack_markup_reads_as_plain_text() -> None:
    raw = (
        "<@UBOT> ask <@U123|ann> in <#C9|general> about <https://x.org|the site> "
        "and <https://y.org> &lt;now&gt; &amp; <!here>"
    )
    assert plain_text(raw, "UBOT") == (
        "ask @U123 in #general about the site (https://x.org) and https://y.org <now> & @here"
    )


def test_dm_top_level_and_dm_thread() -> None:
    top = read_message(
        event_body(
            {
                "type": "message",
                "channel_type": "im",
                "channel": "D1",
                "user": "U1",
                "text": "hi",
                "ts": "1.0",
            },
            "Ev1",
        ),
        "UBOT",
    )
    assert top is not None
    assert (top.thread_ts, top.is_direct, top.mentions_bot, top.event_id) == (
        "",
        True,
        False,
        "Ev1",
    )
    threaded = read_message(
        event_body(
            {
                "type": "message",
                "channel_type": "im",
                "channel": "D1",
                "user": "U1",
                "text": "more",
                "ts": "2.0",
                "thread_ts": "1.0",
            }
        ),
        "UBOT",
    )
    assert threaded is not None and threaded.thread_ts == "1.0"


def test_mention_opens_a_thread_on_the_mentioning_message() -> None:
    found = read_message(
        event_body(
            {
                "type": "app_mention",
                "channel": "C1",
                "user": "U1",
                "text": "<@UBOT> hello",
                "ts": "5.0",
            }
        ),
        "UBOT",
    )
    assert found is not None
    assert (found.thread_ts, found.text, found.mentions_bot, found.is_direct) == (
        "5.0",
        "hello",
        True,
        False,
    )


@pytest.mark.parametrize(
    "event",
    [
        {"type": "message", "channel_type": "im", "subtype": "message_changed", "channel": "D1"},
        {"type": "message", "channel_type": "im", "subtype": "message_deleted", "channel": "D1"},
        {"type": "message", "channel_type": "im", "subtype": "channel_join", "channel": "D1"},
        {"type": "message", "channel_type": "im", "bot_id": "B2", "channel": "D1", "ts": "1.0"},
        {"type": "message", "channel_type": "im", "user": "UBOT", "channel": "D1", "ts": "1.0"},
        # top-level chatter in a channel
        {"type": "message", "channel_type": "channel", "user": "U1", "channel": "C1", "ts": "1.0"},
        # a mention also arrives as app_mention, which is the one taken
        {
            "type": "message",
            "channel_type": "channel",
            "user": "U1",
            "channel": "C1",
            "ts": "2.0",
            "thread_ts": "1.0",
            "text": "<@UBOT> hi",
        },
        {"type": "app_mention", "user": "U1", "channel": "D1", "ts": "1.0", "text": "<@UBOT>"},
        {"type": "reaction_added", "user": "U1"},
    ],
)
def test_events_that_are_not_messages_for_the_assistant(event: dict[str, object]) -> None:
    assert read_message(event_body(event), "UBOT") is None


@pytest.mark.parametrize(
    "body",
    [
        {"event_id": "Ev1"},
        event_body({"type": "message", "channel_type": "im", "channel": "D1", "ts": "1.0"}),
        event_body({"type": "message", "channel_type": "im", "user": "U1", "ts": "1.0"}),
        {
            "event": {
                "type": "message",
                "channel_type": "im",
                "user": "U1",
                "channel": "D1",
                "ts": "1.0",
            }
        },
    ],
)
def test_malformed_events_are_reported(body: dict[str, object]) -> None:
    with pytest.raises(MalformedEvent):
        read_message(body, "UBOT")


def test_slash_command_text_maps_onto_registered_commands() -> None:
    names = ["help", "new", "usage"]
    assert command_text("new", names) == "/new"
    assert command_text("  USAGE  ", names) == "/usage"
    assert command_text("", names) == "/help"
    assert command_text("remind me at 5", names) == "remind me at 5"
    with pytest.raises(MalformedEvent):
        read_command({"user_id": "U1"})
    assert read_command({"user_id": "U1", "channel_id": "C1", "text": " new "}).text == "new"
