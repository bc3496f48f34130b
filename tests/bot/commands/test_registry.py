"""What counts as a command, a mistyped command, or ordinary text."""

from __future__ import annotations

import pytest

from bot.commands.registry import UNKNOWN, Command, CommandContext, CommandRegistry


async def _nothing(ctx: CommandContext) -> str:
    return ""


@pytest.fixture
def registry() -> CommandRegistry:
    registry = CommandRegistry()
    for name in ("new", "help", "forget"):
        registry.add(Command(name, name, _nothing))
    return registry


@pytest.mark.parametrize(
    "text", ["/frobnicate", "/frob now please", "  /Frob_2\nmore", "/x\tthing", "/newer"]
)
def test_a_command_shaped_word_that_names_no_command_is_unknown(
    registry: CommandRegistry, text: str
) -> None:
    assert registry.parse(text.strip()) is None
    assert registry.unknown(text) == UNKNOWN


@pytest.mark.parametrize(
    "text",
    [
        "/etc/hosts is weird",
        "/usr/bin",
        "/ alone",
        "/",
        "/a-b",
        "/émoji",
        "hi /frob",
        "/frob@otherbot hi",  # a Telegram group command maybe for another bot
        "/new",
        "/NEW now",
        "/forget 3",
        "/help@ourbot",
    ],
)
def test_commands_paths_and_other_text_are_not_unknown(
    registry: CommandRegistry, text: str
) -> None:
    assert registry.unknown(text) is None
