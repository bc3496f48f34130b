"""Slack: DMs, mentions and threads through slack-bolt (Socket Mode or HTTP Events API)."""

from adapters.slack.adapter import CHANNEL, COMMAND, EVENTS_PATH, SlackAdapter, SlackConfig

__all__ = ["CHANNEL", "COMMAND", "EVENTS_PATH", "SlackAdapter", "SlackConfig"]
