"""Slack payloads → plain data: which events are messages for the assistant, and their text.

Pure functions, no network: the adapter fetches and sends; this module only reads.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

# Message subtypes a person sends; edits, deletions, joins and bot posts are not.
PERSON_SUBTYPES = {None, "file_share", "thread_broadcast", "me_message"}

_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")
_SUBTEAM = re.compile(r"<!subteam\^[A-Z0-9]+(?:\|([^>]*))?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")


class MalformedEvent(ValueError):
    """A payload that lacks what every Slack event of its kind carries."""


@dataclass(frozen=True)
class SlackFile:
    id: str
    name: str
    mime_type: str
    size: int
    url: str  # url_private_download (or url_private); needs the bot token


@dataclass(frozen=True)
class SlackMessage:
    """A message someone sent that may be for the assistant."""

    event_id: str
    team_id: str
    channel: str
    user: str
    text: str
    ts: str
    thread_ts: str  # the conversation: "" for a DM itself, else the thread's first message
    is_direct: bool
    mentions_bot: bool
    files: tuple[SlackFile, ...] = ()
    user_name: str = ""


@dataclass(frozen=True)
class SlashCommand:
    team_id: str
    channel: str
    user: str
    user_name: str
    text: str
    response_url: str


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedEvent(f"missing {key!r}")
    return value


def _optional_str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def plain_text(text: str, bot_user_id: str) -> str:
    """Slack's markup as a person would read it, without the mention of the assistant."""
    text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", "", text) if bot_user_id else text
    text = _USER.sub(lambda m: f"@{m.group(1)}", text)
    text = _CHANNEL.sub(lambda m: f"#{m.group(2) or m.group(1)}", text)
    text = _SPECIAL.sub(lambda m: f"@{m.group(1)}", text)
    text = _SUBTEAM.sub(lambda m: m.group(1) or "@group", text)
    text = _LINK.sub(
        lambda m: (
            f"{m.group(2)} ({m.group(1)})"
            if m.group(2) and m.group(2) != m.group(1)
            else m.group(1)
        ),
        text,
    )
    return html.unescape(text).strip()


def _files(event: Mapping[str, Any]) -> tuple[SlackFile, ...]:
    found = []
    for item in event.get("files") or ():
        if not isinstance(item, dict) or item.get("mode") == "tombstone":
            continue
        url = item.get("url_private_download") or item.get("url_private") or ""
        found.append(
            SlackFile(
                id=str(item.get("id", "")),
                name=str(item.get("name") or item.get("title") or "file"),
                mime_type=str(item.get("mimetype") or "application/octet-stream"),
                size=item["size"] if isinstance(item.get("size"), int) else 0,
                url=str(url),
            )
        )
    return tuple(found)


def _profile_name(event: Mapping[str, Any]) -> str:
    profile = event.get("user_profile")
    if isinstance(profile, dict):
        for key in ("display_name", "real_name", "name"):
            if isinstance(profile.get(key), str) and profile[key]:
                return str(profile[key])
    return ""


def read_message(body: Mapping[str, Any], bot_user_id: str) -> SlackMessage | None:
    """The message in an Events API body, or None when it is not one for the assistant.

    DMs (`message`, channel_type im) and mentions (`app_mention`) are; so are replies
    in channel threads, which the session manager answers when it takes part there.
    Edits, deletions, joins, bots (this one included) and channel chatter are not.
    Raises MalformedEvent when fields every such event carries are missing.
    """
    event = body.get("event")
    if not isinstance(event, dict):
        raise MalformedEvent("no event object")
    kind = event.get("type")
    if kind not in ("message", "app_mention"):
        return None
    if event.get("subtype") not in PERSON_SUBTYPES or event.get("bot_id"):
        return None
    user = _str(event, "user")
    if user == bot_user_id:
        return None
    channel = _str(event, "channel")
    ts = _str(event, "ts")
    thread_ts = _optional_str(event, "thread_ts")
    raw = _optional_str(event, "text")
    mentioned = bool(bot_user_id) and f"<@{bot_user_id}" in raw
    if kind == "app_mention":
        if channel.startswith("D"):
            return None  # the same message also arrives as a DM
        thread, direct = thread_ts or ts, False
    elif event.get("channel_type") == "im":
        thread, direct = (thread_ts if thread_ts and thread_ts != ts else ""), True
    else:
        if mentioned or not thread_ts or thread_ts == ts:
            return None  # mentions come as app_mention; top-level chatter is not for us
        thread, direct = thread_ts, False
    return SlackMessage(
        event_id=_str(body, "event_id"),
        team_id=str(body.get("team_id") or event.get("team") or ""),
        channel=channel,
        user=user,
        text=plain_text(raw, bot_user_id),
        ts=ts,
        thread_ts=thread,
        is_direct=direct,
        mentions_bot=kind == "app_mention",
        files=_files(event),
        user_name=_profile_name(event),
    )


def read_command(body: Mapping[str, Any]) -> SlashCommand:
    """A /clawling invocation; raises MalformedEvent without user or channel."""
    return SlashCommand(
        team_id=str(body.get("team_id") or ""),
        channel=_str(body, "channel_id"),
        user=_str(body, "user_id"),
        user_name=str(body.get("user_name") or ""),
        text=str(body.get("text") or "").strip(),
        response_url=str(body.get("response_url") or ""),
    )


def command_text(text: str, commands: Collection[str]) -> str:
    """`/clawling new` → "/new"; no subcommand → "/help"; anything else is a plain request."""
    head, _, rest = text.strip().partition(" ")
    name = head.lstrip("/").lower()
    if not name:
        return "/help"
    if name in commands:
        return f"/{name} {rest.strip()}".strip()
    return text.strip()
