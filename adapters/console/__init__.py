"""The terminal channel for `clawling chat`: lines typed in become messages, replies are
printed as rendered Markdown."""

from adapters.console.adapter import ConsoleAdapter

__all__ = ["ConsoleAdapter"]
