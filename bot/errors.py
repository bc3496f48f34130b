"""The three error families (see STYLE.md, habit 6)."""

from __future__ import annotations


class ConfigError(Exception):
    """Stops start-up: bad or missing configuration. The message names the fix."""


class StartupFailure(ConfigError):
    """Stops start-up because of the machine rather than a setting's value (a port
    already in use). The message names the setting that avoids it; the exit code is 1."""


class ToolError(Exception):
    """A tool could not do what the model asked; the message goes back to the model."""


class TransportError(Exception):
    """A remote service (model endpoint, chat platform) failed after retries.

    `user_message` is safe to show to the person in the chat.
    """

    def __init__(self, message: str, user_message: str) -> None:
        super().__init__(message)
        self.user_message = user_message
