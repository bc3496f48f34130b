"""Buttons on Slack: Block Kit `actions` under a message, and the `block_actions`
payload Slack sends when one is pressed (over Socket Mode or to /slack/events).

A button's `value` is the command it sends (e.g. "/allow K7QX9MPA"); its `action_id`
starts with ACTION_PREFIX, which is how the adapter's listener recognises ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters.slack.events import MalformedEvent
from bot.chat.channels import Button

ACTION_PREFIX = "clawling_command"
VALUE_LIMIT = 2000  # Slack's limit on a button's value


@dataclass(frozen=True)
class Press:
    """Someone pressed one of our buttons in `channel`."""

    user: str
    user_name: str
    channel: str
    command: str


def blocks(markdown: str, buttons: tuple[Button, ...]) -> list[dict[str, Any]]:
    """A message of Markdown text (Slack's `markdown` block reads standard Markdown, as
    `markdown_text` does) and one row of buttons."""
    return [
        {"type": "markdown", "text": markdown},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": button.label[:75]},
                    "action_id": f"{ACTION_PREFIX}_{i}",
                    "value": button.command[:VALUE_LIMIT],
                }
                for i, button in enumerate(buttons)
            ],
        },
    ]


def read_press(body: Mapping[str, Any]) -> Press:
    """The press in a `block_actions` payload; MalformedEvent without presser, place or
    value."""
    user = body.get("user")
    actions = body.get("actions")
    if not isinstance(user, Mapping) or not isinstance(actions, list) or not actions:
        raise MalformedEvent("missing 'user' or 'actions'")
    action = actions[0]
    channel = body.get("channel") or {}
    container = body.get("container") or {}
    where = (channel.get("id") if isinstance(channel, Mapping) else None) or (
        container.get("channel_id") if isinstance(container, Mapping) else None
    )
    value = action.get("value") if isinstance(action, Mapping) else None
    user_id = user.get("id")
    if not isinstance(user_id, str) or not user_id or not where or not isinstance(value, str):
        raise MalformedEvent("missing the presser, the channel or the value")
    return Press(user_id, str(user.get("username") or user.get("name") or ""), str(where), value)
