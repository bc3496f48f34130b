"""HTTP Events API mode: only requests signed by Slack, recently, are processed."""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import urlencode

import pytest

from tests.adapters.slack.harness import Harness, dm
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack import SlackEvents, event_body


async def test_signed_requests_are_processed_and_forged_or_stale_ones_refused(
    http_slack: Harness, fake_llm: FakeOpenAI
) -> None:
    sender = SlackEvents(http_slack.events_url)
    forged = SlackEvents(http_slack.events_url, secret="not-the-secret")
    stale_time = int(time.time()) - 6 * 60

    assert (await forged.post(json.dumps(event_body(dm("forged")))))[0] == 401
    assert (await sender.post(json.dumps(event_body(dm("stale"))), timestamp=stale_time))[0] == 401
    assert (await sender.post(json.dumps(event_body(dm("no sig"))), signature="v0=00"))[0] == 401
    await http_slack.settle()
    assert http_slack.fake.messages == [] and fake_llm.requests == []

    assert (await sender.post(json.dumps(event_body(dm("genuine")))))[0] == 200
    await http_slack.settle()
    assert http_slack.fake.texts("DALICE") == ["echo: genuine"]


async def test_a_retry_with_x_slack_retry_num_is_acknowledged_and_not_answered_again(
    http_slack: Harness, fake_llm: FakeOpenAI
) -> None:
    sender = SlackEvents(http_slack.events_url)
    body = json.dumps(event_body(dm("are you there?"), "EvRETRY1"))
    assert (await sender.post(body))[0] == 200
    assert (await sender.post(body, retry_num=1))[0] == 200
    assert (await sender.post(body, retry_num=2))[0] == 200
    await http_slack.settle()
    assert http_slack.fake.texts("DALICE") == ["echo: are you there?"]
    assert len(fake_llm.requests) == 1


async def test_url_verification_is_answered_with_the_challenge(http_slack: Harness) -> None:
    sender = SlackEvents(http_slack.events_url)
    body = json.dumps({"type": "url_verification", "challenge": "abc123", "token": "t"})
    status, text = await sender.post(body)
    assert status == 200 and "abc123" in text


async def test_malformed_bodies_are_dropped_with_200_only_when_signed(
    http_slack: Harness, fake_llm: FakeOpenAI
) -> None:
    sender = SlackEvents(http_slack.events_url)
    forged = SlackEvents(http_slack.events_url, secret="not-the-secret")
    assert (await sender.post("{not json"))[0] == 200
    assert (await forged.post("{not json"))[0] == 401
    assert (await sender.post(json.dumps({"type": "event_callback", "event": 42})))[0] == 200
    assert (await sender.post(json.dumps({"something": "else"})))[0] == 200
    form = urlencode({"command": "/unknown", "text": "x"})
    assert (await sender.post(form, content_type="application/x-www-form-urlencoded"))[0] == 200
    await http_slack.settle()
    assert http_slack.fake.messages == [] and fake_llm.requests == []


async def test_dropped_requests_are_logged_with_what_was_dropped(
    http_slack: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """The operator can see what was dropped and why; unsigned junk is not logged."""
    caplog.set_level(logging.WARNING, logger="adapters.slack.endpoint")
    sender = SlackEvents(http_slack.events_url)
    forged = SlackEvents(http_slack.events_url, secret="not-the-secret")
    assert (await forged.post("{forged"))[0] == 401
    assert (await sender.post("{not json"))[0] == 200
    assert (await sender.post(json.dumps({"something": "else"})))[0] == 200
    dropped = [r.getMessage() for r in caplog.records if r.name == "adapters.slack.endpoint"]
    assert dropped == [
        "dropped a Slack request that is not JSON: '{not json'",
        "dropped a Slack request that could not be processed (status 404): "
        '\'{"something": "else"}\'',
    ]
