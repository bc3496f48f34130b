"""Variables that look like settings but are none: `CLAWLING_MODLE=...` is silently
ignored by the settings class, so we name it, with the closest real setting.

Checked: every `CLAWLING_*`, `OPENAI_*`, `TELEGRAM_*` and `SLACK_*` name in `.env` and
in the environment. Left alone, because they are legitimate without being ours:

- `NAME_FILE` when NAME is a setting (a secret read from a file, Docker secrets);
- `CLAWLING_TEST_*`, the test suite's own switches;
- names the libraries we use read themselves: the openai client's `OPENAI_ORG_ID`,
  `OPENAI_PROJECT_ID`, `OPENAI_LOG`... (from the environment only, not from `.env`),
  and the Slack SDK's OAuth-flow names (`SLACK_CLIENT_ID`...), which other Slack
  tools on the same machine may set.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from pathlib import Path

from dotenv import dotenv_values
from pydantic import BaseModel

PREFIXES = ("CLAWLING_", "OPENAI_", "TELEGRAM_", "SLACK_")

# Read by the openai and Slack libraries themselves; not typos, not ours.
LIBRARY_NAMES = frozenset(
    {
        "OPENAI_ORG_ID",
        "OPENAI_PROJECT_ID",
        "OPENAI_LOG",
        "OPENAI_CUSTOM_HEADERS",
        "OPENAI_WEBHOOK_SECRET",
        "OPENAI_ADMIN_KEY",
        "OPENAI_API_VERSION",
        "OPENAI_API_TYPE",
        "SLACK_CLIENT_ID",
        "SLACK_CLIENT_SECRET",
        "SLACK_SCOPES",
        "SLACK_USER_SCOPES",
        "SLACK_REDIRECT_URI",
        "SLACK_REDIRECT_URI_PATH",
        "SLACK_INSTALL_PATH",
        "SLACK_VERIFICATION_TOKEN",
    }
)


# Names other tools and older guides use for what one of ours does.
_MEANT = {
    "OPENAI_API_BASE": "OPENAI_BASE_URL",
    "OPENAI_BASE": "OPENAI_BASE_URL",
    "OPENAI_KEY": "OPENAI_API_KEY",
    "OPENAI_MODEL": "CLAWLING_MODEL",
    "OPENAI_MODEL_NAME": "CLAWLING_MODEL",
    "TELEGRAM_TOKEN": "TELEGRAM_BOT_TOKEN",
    "SLACK_TOKEN": "SLACK_BOT_TOKEN",
}


def setting_names(groups: dict[str, type[BaseModel]]) -> set[str]:
    """Every variable name the settings read: `GROUP_FIELD`, upper case."""
    return {
        f"{group}_{field}".upper()
        for group, model in groups.items()
        for field in model.model_fields
    }


def _is_ours_or_legit(name: str, known: set[str]) -> bool:
    base = name.removesuffix("_FILE")
    return (
        base in known
        or name in LIBRARY_NAMES
        or name.startswith("CLAWLING_TEST_")
        or not name.startswith(PREFIXES)
    )


def _suggestion(name: str, known: Iterable[str]) -> str:
    base = name.removesuffix("_FILE")
    close = [_MEANT[base]] if base in _MEANT else []
    if not close:
        # Compared after the prefix, which every candidate of the group shares and which
        # would make any two names of a group look alike.
        prefix = next(p for p in PREFIXES if base.startswith(p))
        rests = {name.removeprefix(prefix): name for name in known if name.startswith(prefix)}
        rest = base.removeprefix(prefix)
        close = [rests[r] for r in difflib.get_close_matches(rest, sorted(rests), 1, 0.7)]
    if not close:
        return f"{name} is not a setting (see the settings table in the README)"
    suffix = "_FILE" if name.endswith("_FILE") else ""
    return f"{name} is not a setting — did you mean {close[0]}{suffix}?"


def unknown_settings(groups: dict[str, type[BaseModel]], env_file: Path | None) -> list[str]:
    """One sentence per unknown name in `.env` and the environment, with the closest real
    setting when one is close, and where it was found."""
    known = setting_names(groups)
    dotenv = env_file if env_file is not None else Path(".env")
    in_file = set(dotenv_values(dotenv)) if dotenv.is_file() else set()
    names = in_file | set(os.environ)
    found = []
    for name in sorted(names):
        if _is_ours_or_legit(name, known):
            continue
        where = " (in .env)" if name in in_file and name not in os.environ else ""
        found.append(_suggestion(name, known) + where)
    return found
