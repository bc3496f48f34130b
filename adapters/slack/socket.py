"""Socket Mode: events over a WebSocket that the app opens, so no public URL is needed."""

from __future__ import annotations

import logging
from time import time

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import run_async_bolt_app, send_async_response
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.endpoint import store_event, to_store
from bot.chat.channels import Inbox
from bot.errors import ConfigError

log = logging.getLogger(__name__)


async def check_app_token(client: AsyncWebClient, app_token: str) -> str:
    """A WebSocket URL for the app token (raises ConfigError when it is refused)."""
    try:
        response = await client.apps_connections_open(app_token=app_token)
    except SlackApiError as exc:
        raise ConfigError(
            f"Slack rejected SLACK_APP_TOKEN ({exc.response.get('error')}). Fix: create an "
            "app-level token with the connections:write scope under Basic Information, "
            "and turn on Socket Mode for the app."
        ) from None
    return str(response["url"])


class SocketConnection:
    """bolt's Socket Mode handler, with a clear start-up error for a bad app token.

    The SDK's own connect() retries forever when the token is refused, so the
    first WebSocket URL is fetched here, where a refusal can stop start-up. And
    bolt leaves an envelope unacknowledged when it cannot process it (a malformed
    payload), which makes Slack resend it again and again: those are logged and
    acknowledged here.
    """

    def __init__(
        self, app: AsyncApp, client: AsyncWebClient, app_token: str, inbox: Inbox | None = None
    ) -> None:
        """`inbox`: where message events are stored before they are acknowledged (Slack
        sends an unacknowledged one again), then handed on by whichever replica claims
        them; None: bolt takes them, acknowledged at once."""
        self._app = app
        self._client = client
        self._token = app_token
        self._inbox = inbox
        self._handler = AsyncSocketModeHandler(app, app_token, web_client=client)
        self._handler.client.socket_mode_request_listeners[:] = [self._handle]

    async def _handle(self, client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        started = time()
        event = to_store(request.payload) if request.type == "events_api" else None
        if event is not None and self._inbox is not None:
            if await store_event(self._inbox, event):
                ack = SocketModeResponse(envelope_id=request.envelope_id)
                await client.send_socket_mode_response(ack)
            return
        response = await run_async_bolt_app(self._app, request)
        if response.status == 200:
            await send_async_response(client, request, response, started)
            return
        log.warning(
            "dropped a Slack %s envelope that could not be processed (status %s): %.300r",
            request.type,
            response.status,
            request.payload,
        )
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))

    async def check(self) -> str:
        """A WebSocket URL for the app token (raises ConfigError when it is refused)."""
        return await check_app_token(self._client, self._token)

    async def open(self) -> None:
        self._handler.client.wss_uri = await self.check()
        await self._handler.connect_async()

    def is_open(self) -> bool:
        client = self._handler.client
        session = getattr(client, "current_session", None)
        return not client.closed and session is not None and not session.closed

    async def close(self) -> None:
        await self._handler.close_async()
