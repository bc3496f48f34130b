"""Socket Mode: events over a WebSocket that the app opens, so no public URL is needed."""

from __future__ import annotations

import logging

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import ConfigError

log = logging.getLogger(__name__)


class SocketConnection:
    """bolt's Socket Mode handler, with a clear start-up error for a bad app token.

    The SDK's own connect() retries forever when the token is refused, so the
    first WebSocket URL is fetched here, where a refusal can stop start-up.
    """

    def __init__(self, app: AsyncApp, client: AsyncWebClient, app_token: str) -> None:
        self._client = client
        self._token = app_token
        self._handler = AsyncSocketModeHandler(app, app_token, web_client=client)

    async def open(self) -> None:
        try:
            response = await self._client.apps_connections_open(app_token=self._token)
        except SlackApiError as exc:
            raise ConfigError(
                f"Slack rejected SLACK_APP_TOKEN ({exc.response.get('error')}). Fix: create an "
                "app-level token with the connections:write scope under Basic Information, "
                "and turn on Socket Mode for the app."
            ) from None
        self._handler.client.wss_uri = str(response["url"])
        await self._handler.connect_async()

    async def close(self) -> None:
        await self._handler.close_async()
