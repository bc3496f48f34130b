"""The app manifest we ship asks for what the adapter uses, and nothing else."""

from __future__ import annotations

from pathlib import Path

import yaml

from adapters.slack import COMMAND

MANIFEST = Path(__file__).parents[3] / "deploy" / "slack-manifest.yaml"


def test_manifest_subscribes_to_the_events_and_command_the_adapter_handles() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True  # pairing's buttons
    assert set(settings["event_subscriptions"]["bot_events"]) == {
        "app_mention",  # mentions in channels
        "message.im",  # DMs
        "message.channels",  # thread replies where it takes part, per kind of channel
        "message.groups",
        "message.mpim",
    }
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == [COMMAND]
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert scopes == {
        "app_mentions:read",
        "channels:history",
        "groups:history",
        "mpim:history",
        "im:history",
        "chat:write",
        "reactions:write",
        "files:read",
        "files:write",
        "users:read",
        "im:write",
        "commands",
    }
