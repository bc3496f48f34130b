"""Sending to Slack: messages split under the limit, and replies shown while written.

In a thread a reply streams with chat.startStream / appendStream / stopStream;
at the top level of a DM (where a stream would open a thread) it is one message
edited in place. Either way the finished reply is delivered exactly once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.buttons import blocks
from adapters.slack.markdown import MARKDOWN_LIMIT, for_slack, preview, split_markdown
from bot.chat.channels import Button, ChatRef, MessageRef
from bot.commands.registry import CommandRegistry
from bot.errors import TransportError

log = logging.getLogger(__name__)

EDIT_INTERVAL = 1.0  # seconds between progress updates; Slack rate-limits edits
REFUSED = "Slack did not accept my reply; it is saved, ask me again to see it."


async def slack_call(what: str, call: Awaitable[Any]) -> Any:
    """Run one Web API call (the client already retried 429s and dropped connections)."""
    try:
        return await call
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response is not None else "unknown"
        raise TransportError(f"Slack {what} failed: {error}", REFUSED) from exc
    except (ClientError, TimeoutError) as exc:
        raise TransportError(f"Slack {what} failed: {exc!r}", REFUSED) from exc


class SlackPoster:
    """chat.postMessage / chat.update with Markdown and size limits.

    `post` and `replace` take Markdown as written (the model's, a command's) and
    `prepare` it for Slack; `post_pieces` and `replace_pieces` take pieces already
    prepared and split.

    `client` waits out rate limits (Retry-After) so that answers arrive;
    `progress_client` does not: a rate-limited progress update is skipped rather
    than holding up the answer, which is still delivered through `client`.
    """

    def __init__(
        self,
        client: AsyncWebClient,
        progress_client: AsyncWebClient,
        commands: CommandRegistry | None = None,
    ) -> None:
        self.client = client
        self.progress_client = progress_client
        self._commands = commands

    def prepare(self, markdown: str) -> str:
        """Markdown as Slack shows it as written, commands as Slack users type them."""
        names = [c.name for c in self._commands.commands] if self._commands else []
        return for_slack(markdown, names)

    async def post(
        self,
        chat: ChatRef,
        text: str,
        *,
        progress: bool = False,
        buttons: tuple[Button, ...] = (),
    ) -> list[MessageRef]:
        """Post `text` in the chat (in its thread, if any), split as needed; the last
        piece carries the buttons."""
        pieces = split_markdown(self.prepare(text or "…"))
        if not buttons:
            return await self.post_pieces(chat, pieces, progress)
        refs = await self.post_pieces(chat, pieces[:-1], progress)
        response = await slack_call(
            "chat.postMessage",
            self.client.chat_postMessage(
                channel=chat.chat_id,
                thread_ts=chat.thread_id or None,
                text=pieces[-1],  # shown in notifications, where blocks are not
                blocks=blocks(pieces[-1], buttons),
            ),
        )
        return [*refs, MessageRef(chat, str(response["ts"]))]

    async def post_pieces(
        self, chat: ChatRef, pieces: list[str], progress: bool = False
    ) -> list[MessageRef]:
        client = self.progress_client if progress else self.client
        refs = []
        for chunk in pieces:
            response = await slack_call(
                "chat.postMessage",
                client.chat_postMessage(
                    channel=chat.chat_id, thread_ts=chat.thread_id or None, markdown_text=chunk
                ),
            )
            refs.append(MessageRef(chat, str(response["ts"])))
        return refs

    async def replace(
        self, ref: MessageRef, text: str, *, progress: bool = False
    ) -> list[MessageRef]:
        """Show `text` in place of the message `ref`; what does not fit follows it."""
        return await self.replace_pieces(ref, split_markdown(self.prepare(text or "…")), progress)

    async def replace_pieces(
        self, ref: MessageRef, pieces: list[str], progress: bool = False
    ) -> list[MessageRef]:
        client = self.progress_client if progress else self.client
        first, *rest = pieces
        await slack_call(
            "chat.update",
            client.chat_update(channel=ref.chat.chat_id, ts=ref.message_id, markdown_text=first),
        )
        return [ref, *await self.post_pieces(ref.chat, rest)]


class _Throttle:
    def __init__(self, interval: float, clock: Callable[[], float]) -> None:
        self._interval = interval
        self._clock = clock
        self._last = float("-inf")

    def ready(self) -> bool:
        if self._clock() - self._last < self._interval:
            return False
        self._last = self._clock()
        return True


class EditedReply:
    """A reply posted once and edited as it grows (top level of a DM)."""

    def __init__(
        self,
        poster: SlackPoster,
        chat: ChatRef,
        *,
        interval: float = EDIT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._poster = poster
        self._chat = chat
        self._throttle = _Throttle(interval, clock)
        self._ref: MessageRef | None = None
        self._broken = False

    async def update(self, text: str) -> None:
        if self._broken or not text.strip() or not self._throttle.ready():
            return
        try:
            if self._ref is None:
                self._ref = (await self._poster.post(self._chat, preview(text), progress=True))[0]
            else:
                await self._poster.replace(self._ref, preview(text), progress=True)
        except TransportError as exc:
            log.warning("progress in %s stopped: %s", self._chat, exc)  # finish() still delivers
            self._broken = True

    async def finish(self, text: str) -> list[MessageRef]:
        if self._ref is not None:
            try:
                return await self._poster.replace(self._ref, text)
            except TransportError as exc:
                log.warning("final edit failed, posting instead: %s", exc)
        return await self._poster.post(self._chat, text)


class StreamedReply:
    """A reply streamed into a thread with Slack's chat.*Stream methods.

    The stream is append-only: while each update extends what was shown, only the
    new part is appended. When a later step of the turn starts over, appending
    stops and finish() puts the final text in place with chat.update.
    """

    def __init__(
        self,
        poster: SlackPoster,
        chat: ChatRef,
        recipient_user: str,
        recipient_team: str,
        *,
        interval: float = EDIT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._poster = poster
        self._client = poster.client
        self._quick = poster.progress_client
        self._chat = chat
        self._user = recipient_user
        self._team = recipient_team
        self._throttle = _Throttle(interval, clock)
        self._ts: str | None = None
        self._sent = ""
        self._diverged = False
        self._broken = False

    async def update(self, text: str) -> None:
        if self._broken or self._diverged or not text.strip() or not self._throttle.ready():
            return
        shown = self._poster.prepare(text)[:MARKDOWN_LIMIT]
        try:
            if self._ts is None:
                response = await slack_call(
                    "chat.startStream",
                    self._quick.chat_startStream(
                        channel=self._chat.chat_id,
                        thread_ts=self._chat.thread_id,
                        recipient_user_id=self._user or None,
                        recipient_team_id=self._team or None,
                        markdown_text=shown,
                    ),
                )
                self._ts = str(response["ts"])
            elif shown.startswith(self._sent):
                if len(shown) == len(self._sent):
                    return
                await slack_call(
                    "chat.appendStream",
                    self._quick.chat_appendStream(
                        channel=self._chat.chat_id,
                        ts=self._ts,
                        markdown_text=shown[len(self._sent) :],
                    ),
                )
            else:
                self._diverged = True
                return
            self._sent = shown
        except TransportError as exc:
            log.warning("streaming to %s stopped: %s", self._chat, exc)  # finish() still delivers
            self._broken = True

    async def finish(self, text: str) -> list[MessageRef]:
        if self._ts is None:
            return await self._poster.post(self._chat, text)
        first, *rest = split_markdown(self._poster.prepare(text or "…"))
        ref = MessageRef(self._chat, self._ts)
        try:
            if first.startswith(self._sent) and not self._broken:
                await slack_call(
                    "chat.stopStream",
                    self._client.chat_stopStream(
                        channel=self._chat.chat_id,
                        ts=self._ts,
                        markdown_text=first[len(self._sent) :] or None,
                    ),
                )
                refs = [ref]
            else:
                await self._stop_quietly()
                refs = await self._poster.replace_pieces(ref, [first])
        except TransportError as exc:
            log.warning("could not finish the stream in %s, posting instead: %s", self._chat, exc)
            return await self._poster.post(self._chat, text)
        return refs + await self._poster.post_pieces(self._chat, rest)

    async def _stop_quietly(self) -> None:
        if self._ts is None:
            return
        try:
            await slack_call(
                "chat.stopStream",
                self._client.chat_stopStream(channel=self._chat.chat_id, ts=self._ts),
            )
        except TransportError as exc:
            log.info("stopping the stream in %s: %s", self._chat, exc)
