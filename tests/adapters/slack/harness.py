"""Running the whole app against the fake Slack, in Socket Mode or HTTP mode."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlencode

from adapters.slack import SlackAdapter
from bot.app import App, build_app
from bot.settings import Settings
from tests.fakes.slack import (
    APP_TOKEN,
    BOT_TOKEN,
    BOT_USER,
    SIGNING_SECRET,
    FakeSlack,
    Posted,
    SlackEvents,
    event_body,
    press_payload,
)

ALICE, BOB, EVE = "UALICE", "UBOB", "UEVE"
_ts = itertools.count(1)


def next_ts() -> str:
    n = next(_ts)
    return f"{1_700_000_000 + n}.{n:06d}"


def dm(
    text: str, *, user: str = ALICE, thread_ts: str | None = None, **extra: Any
) -> dict[str, Any]:
    ts = next_ts()
    event = {
        "type": "message",
        "channel_type": "im",
        "channel": "D" + user.removeprefix("U"),
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        **extra,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def mention(
    text: str, *, user: str = ALICE, channel: str = "CGENERAL", thread_ts: str | None = None
) -> dict[str, Any]:
    ts = next_ts()
    event = {
        "type": "app_mention",
        "channel": channel,
        "user": user,
        "text": f"<@{BOT_USER}> {text}",
        "ts": ts,
        "event_ts": ts,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def in_channel(
    text: str, *, user: str = ALICE, channel: str = "CGENERAL", thread_ts: str | None = None
) -> dict[str, Any]:
    ts = next_ts()
    event = {
        "type": "message",
        "channel_type": "channel",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def slack_settings(
    llm_url: str,
    fake_slack: FakeSlack,
    database_url: str,
    data_dir: Path,
    mode: str,
    core: dict[str, Any] | None = None,
    **slack: Any,
) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        openai={"api_key": "test-key", "base_url": llm_url},
        clawling={
            "model": "fake-model",
            "database_url": database_url,
            "data_dir": str(data_dir),
            "llm_max_retries": 0,
            "llm_timeout": 10,
            "http_port": 0,
            **(core or {}),
        },
        slack={
            "bot_token": BOT_TOKEN,
            "app_token": APP_TOKEN if mode == "socket" else None,
            "signing_secret": SIGNING_SECRET,
            "api_url": fake_slack.api_url,
            "allowed_users": f"{ALICE},{BOB}",
            **slack,
        },
    )


@dataclass
class Harness:
    """One running app and the fake Slack it is connected to."""

    app: App
    fake: FakeSlack
    mode: str
    closed: bool = False

    @property
    def adapter(self) -> SlackAdapter:
        return cast(SlackAdapter, self.app.outbox.adapter("slack"))

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.app.http.port}/slack/events"

    async def deliver(
        self, event: dict[str, Any], *, event_id: str | None = None, retry: int = 0
    ) -> str:
        """Deliver an event the way Slack does in this mode; returns its event_id."""
        body = event_body(event, event_id)
        await self.deliver_body(body, retry=retry)
        return str(body["event_id"])

    async def deliver_body(self, body: dict[str, Any], *, retry: int = 0) -> None:
        if self.mode == "socket":
            ack = await self.fake.send_envelope("events_api", body, retry_attempt=retry)
            assert "envelope_id" in ack
        else:
            status, _ = await SlackEvents(self.events_url).post(
                json.dumps(body), retry_num=retry or None
            )
            assert status == 200

    async def command(self, text: str, *, channel: str, user: str = ALICE) -> dict[str, Any]:
        """Run `/clawling text` as `user` typed in `channel`; returns the acknowledgement."""
        payload = {
            "token": "legacy",
            "team_id": "T0TEAM",
            "channel_id": channel,
            "user_id": user,
            "user_name": user.removeprefix("U").lower(),
            "command": "/clawling",
            "text": text,
            "response_url": f"{self.fake.url}/response/{next_ts()}",
            "trigger_id": next_ts(),
            "api_app_id": "A0APP",
        }
        if self.mode == "socket":
            ack = await self.fake.send_envelope("slash_commands", payload)
            return dict(ack.get("payload") or {})
        status, body = await SlackEvents(self.events_url).post(
            urlencode(payload), content_type="application/x-www-form-urlencoded"
        )
        assert status == 200
        if body.startswith("{"):
            return dict(json.loads(body))
        return {"text": body} if body else {}  # Slack shows a plain-text answer as ephemeral

    async def press(self, user: str, posted: Posted, label: str) -> None:
        """`user` presses the button `label` under a message the app posted, delivered
        the way Slack does in this mode (an `interactive` envelope, or a signed form)."""
        payload = press_payload(user, posted, label)
        if self.mode == "socket":
            ack = await self.fake.send_envelope("interactive", payload)
            assert "envelope_id" in ack
            return
        status, _ = await SlackEvents(self.events_url).post(
            urlencode({"payload": json.dumps(payload)}),
            content_type="application/x-www-form-urlencoded",
        )
        assert status == 200

    async def close(self) -> None:
        """Stop the app (idempotent), as a restart or shutdown would."""
        if not self.closed:
            self.closed = True
            await self.app.close()

    async def settle(self) -> None:
        """Wait until everything delivered so far is answered."""
        await self.app.inbox.drain()
        await self.adapter.drain()
        await self.app.sessions.drain()
        await self.adapter.drain()


async def start_app(settings: Settings, fake: FakeSlack, mode: str) -> Harness:
    app = build_app(settings)
    try:
        await app.prepare_database()
        await app.start()
    except BaseException:
        await app.close()
        raise
    harness = Harness(app, fake, mode)
    if mode == "socket":
        await fake.wait_connected()
    return harness
