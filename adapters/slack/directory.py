"""Who is who on Slack: people's display names and their DM channels with the app,
each looked up once (users.info, conversations.open) and remembered."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.order import Cache
from adapters.slack.replies import slack_call

log = logging.getLogger(__name__)


class Directory:
    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._names = Cache()
        self._direct_channels = Cache()

    async def name(self, user: str, given: str) -> str:
        """The name to call `user` by: `given` when the payload had one, else their
        profile's; their id while Slack cannot say."""
        if given:
            return given
        cached = self._names.get(user)
        if cached is not None:
            return str(cached)
        try:
            info = (await self._client.users_info(user=user))["user"]
        except SlackApiError as exc:
            log.info("no name for Slack user %s: %s", user, exc.response.get("error"))
            return user  # the id is a fine name meanwhile
        except Exception as exc:  # noqa: BLE001 - likewise for transport failures
            log.info("no name for Slack user %s: %r", user, exc)
            return user
        profile = info.get("profile") or {}
        name = str(
            profile.get("display_name")
            or profile.get("real_name")
            or info.get("real_name")
            or info.get("name")
            or user
        )
        self._names.remember(user, name)
        return name

    async def direct_channel(self, user: str) -> str:
        """The app's DM channel with `user` (TransportError when Slack refuses)."""
        channel = self._direct_channels.get(user)
        if channel is None:
            response = await slack_call(
                "conversations.open", self._client.conversations_open(users=user)
            )
            channel = str(response["channel"]["id"])
            self._direct_channels.remember(user, channel)
        return str(channel)
