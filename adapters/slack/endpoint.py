"""HTTP mode: Slack POSTs events and slash commands to /slack/events on our HTTP server."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier

from bot.chat.channels import Inbox

log = logging.getLogger(__name__)

CHANNEL = "slack"
# Event types the adapter may answer (events.py:read_message); others, subscribed by
# mistake or new, are acknowledged without being stored.
STORED_TYPES = {"message", "app_mention"}


class EventsEndpoint:
    """Hands requests to bolt, which checks the signature and the timestamp (older than
    5 minutes: 401) before anything else. Signed requests that cannot be processed are
    answered 200 and logged: Slack would otherwise resend them, failing the same way.

    With an inbox, events (`event_callback`) are checked here the same way and stored in
    it before the 200, once per `event_id`; whichever replica claims one hands it to the
    adapter. Slash commands and button presses still go to bolt: their answer is part of
    the response (a stranger's code, the acknowledgement shown to the person alone)."""

    def __init__(self, bolt: AsyncApp, signing_secret: str, inbox: Inbox | None = None) -> None:
        self._bolt = bolt
        self._verifier = SignatureVerifier(signing_secret)
        self._inbox = inbox

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self._inbox is not None:
            body = await request.text()
            event = _event_callback(body)
            if event is not None:
                return await self._store(self._inbox, event, body, request.headers)
        try:
            bolt_request = await to_bolt_request(request)
        except ValueError:  # not even JSON; bolt cannot check the signature of it
            body = await request.text()
            # The verifier looks the headers up case-insensitively itself.
            if not self._verifier.is_valid_request(body, request.headers):
                return web.Response(status=401)
            log.warning("dropped a Slack request that is not JSON: %.200r", body)
            return web.Response(status=200)
        response = await self._bolt.async_dispatch(bolt_request)
        if response.status in (404, 500):
            log.warning(
                "dropped a Slack request that could not be processed (status %s): %.300r",
                response.status,
                bolt_request.raw_body,
            )
            return web.Response(status=200)
        return await to_aiohttp_response(response)

    async def _store(
        self, inbox: Inbox, event: dict[str, Any], body: str, headers: Mapping[str, str]
    ) -> web.Response:
        try:
            signed = self._verifier.is_valid_request(body, headers)
        except ValueError:  # a timestamp that is not a number
            signed = False
        if not signed:
            return web.Response(status=401)
        if event["event"].get("type") not in STORED_TYPES:
            return web.Response(status=200)
        return web.Response(status=200 if await store_event(inbox, event) else 503)


async def store_event(inbox: Inbox, event: dict[str, Any]) -> bool:
    """Store an Events API event in the inbox; False when it could not be (the caller
    then does not acknowledge it, and Slack delivers it again)."""
    event_id = str(event["event_id"])
    try:
        await inbox.put(CHANNEL, event_id, _chat_of(event), event)
    except Exception as exc:  # noqa: BLE001 - not stored: Slack delivers it again
        log.warning("could not store Slack event %s: %s", event_id, exc)
        return False
    return True


def to_store(payload: object) -> dict[str, Any] | None:
    """`payload` when it is an Events API event the inbox keeps (an `event_callback`
    with an id, of a type in STORED_TYPES), else None."""
    if (
        isinstance(payload, dict)
        and payload.get("type") == "event_callback"
        and isinstance(payload.get("event_id"), str)
        and isinstance(payload.get("event"), dict)
        and payload["event"].get("type") in STORED_TYPES
    ):
        return payload
    return None


def _event_callback(body: str) -> dict[str, Any] | None:
    """The Events API payload in `body`, when it is one (with an event id), else None."""
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    if (
        isinstance(payload, dict)
        and payload.get("type") == "event_callback"
        and isinstance(payload.get("event_id"), str)
        and isinstance(payload.get("event"), dict)
    ):
        return payload
    return None


def _chat_of(payload: dict[str, Any]) -> str:
    """The channel whose events are handed on in order ("" when the event names none)."""
    channel = payload["event"].get("channel")
    return channel if isinstance(channel, str) else ""
