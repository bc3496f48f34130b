"""Every example a settings message shows passes that setting's own validation: a
person who copies the example from the fix gets a working value."""

from __future__ import annotations

import re

import pytest

from bot.errors import ConfigError
from bot.settings import load_settings
from bot.settings.channels import CHANNEL_SETTING_FIXES
from bot.settings.core import CORE_SETTING_FIXES
from bot.settings.tools import TOOL_SETTING_FIXES

FIXES = {**CORE_SETTING_FIXES, **CHANNEL_SETTING_FIXES, **TOOL_SETTING_FIXES}

MCP_EXAMPLE = '{"files": {"command": "mcp-files", "tools": ["read"], "scope": "shared"}}'

# The examples shown by the fixes above and by the validators' own messages.
EXAMPLES = [
    ("CLAWLING_TIMEZONE", "Europe/Berlin"),
    ("CLAWLING_TIMEZONE", "America/New_York"),
    ("CLAWLING_DATABASE_URL", "sqlite:///path/to/file.db"),
    ("CLAWLING_DATABASE_URL", "postgresql+asyncpg://user:pass@host/db"),
    ("OPENAI_BASE_URL", "https://api.deepseek.com"),
    ("CLAWLING_LOG_LEVEL", "DEBUG"),
    ("CLAWLING_LOG_LEVEL", "ERROR"),
    ("CLAWLING_LOG_FORMAT", "text"),
    ("CLAWLING_LOG_FORMAT", "json"),
    ("CLAWLING_OWNERS", "telegram:12345"),
    ("CLAWLING_OWNERS", "slack:U0123"),
    ("CLAWLING_RECALL_TOKENS", "0"),
    ("CLAWLING_MAX_OUTPUT_TOKENS", "2048"),
    ("CLAWLING_CONTEXT_TOKENS", "8192"),
    ("CLAWLING_MODEL_CONTEXT_TOKENS", "qwen2.5:7b=8192,llama3.2=4096"),
    ("TELEGRAM_BOT_TOKEN", "123456789:AAH-your-token-from-BotFather"),
    ("TELEGRAM_MODE", "polling"),
    ("TELEGRAM_MODE", "webhook"),
    ("TELEGRAM_BASE_URL", "http://localhost:8081/bot"),
    ("SLACK_API_URL", "https://slack.com/api/"),
    ("CLAWLING_WEB_ALLOWED_NETWORKS", "192.168.1.20/32"),
    ("CLAWLING_SEARXNG_URL", "http://searxng:8080"),
    ("CLAWLING_MCP_SERVERS", MCP_EXAMPLE),
    ("CLAWLING_SHELL_ALLOWLIST", "ls,cat,head,tail,wc,grep"),
]

# "e.g. X", "such as X", "like X", and "or Y" right after one of them.
_WORD = r"[^\s()]+?(?=[.,;)]*(?:\s|$))"  # up to the punctuation that ends the sentence
_SHOWN = re.compile(rf"(?:e\.g\.|such as|like) (\{{.*\}}|{_WORD})(?: or ({_WORD}))?")


def shown_examples(message: str) -> list[str]:
    found = []
    for match in _SHOWN.finditer(message):
        found.extend(group for group in match.groups() if group)
    return found


def test_every_example_in_a_fix_is_checked_here() -> None:
    checked = set(EXAMPLES)
    shown = [(name, example) for name, fix in FIXES.items() for example in shown_examples(fix)]
    assert shown, "the pattern finds the examples"
    assert [pair for pair in shown if pair not in checked] == []


# A bad value for each setting whose refusal shows examples, in its message or its fix.
BAD_VALUES = [
    ("CLAWLING_OWNERS", "12345"),
    ("CLAWLING_TIMEZONE", "Mars/Olympus"),
    ("CLAWLING_DATABASE_URL", "mysql://x"),
    ("OPENAI_BASE_URL", "api.deepseek.com"),
    ("TELEGRAM_BOT_TOKEN", "not-a-token"),
    ("TELEGRAM_BASE_URL", "localhost:8081/bot"),
    ("SLACK_API_URL", "slack.com/api"),
    ("CLAWLING_WEB_ALLOWED_NETWORKS", "the office"),
    ("CLAWLING_SEARXNG_URL", "searxng:8080"),
    ("CLAWLING_MCP_SERVERS", "{not json"),
    ("CLAWLING_SHELL_ALLOWLIST", ""),
    ("CLAWLING_LOG_FORMAT", "xml"),
    ("CLAWLING_MAX_OUTPUT_TOKENS", "0"),
    ("CLAWLING_MODEL_CONTEXT_TOKENS", "qwen=big"),
    ("CLAWLING_CONTEXT_TOKENS", "lots"),
]


@pytest.mark.parametrize(("name", "bad"), BAD_VALUES)
def test_examples_in_a_refusal_are_accepted(
    name: str, bad: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name, bad)
    try:
        load_settings()
    except ConfigError as exc:
        refusal = str(exc)
    else:
        refusal = FIXES.get(name, "")  # accepted as it is: check the fix's examples only
    examples = shown_examples(refusal)
    for example in examples:
        monkeypatch.setenv(name, example)
        load_settings()  # raises ConfigError naming the setting if the example is refused
    if name in FIXES and shown_examples(FIXES[name]):
        assert examples, refusal


@pytest.mark.parametrize(("name", "example"), EXAMPLES)
def test_the_example_passes_its_own_validation(
    name: str, example: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name, example)
    load_settings()  # raises ConfigError naming the setting if the example is refused


def test_a_refused_example_would_be_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The old token example, cut short, is what this file exists to catch."""
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:ABC-DEF...")
    with pytest.raises(ConfigError):
        load_settings()
