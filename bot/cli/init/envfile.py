"""What `clawling init` decided, as the settings it writes to `.env`.

The file is written readable by its owner only (mode 0600: it holds keys and tokens),
through a new file renamed into place, so an interrupted write leaves the old one whole.
An existing `.env` is updated rather than replaced: the lines of the variables set here,
and of the model endpoint as a whole, give way to the new values, and every other line
(comments, a database URL…) stays.
Whether it may be touched at all is asked before (`clawling init` never decides that).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

# Values made only of these are written bare; anything else is quoted.
_BARE = re.compile(r"[A-Za-z0-9_\-.:/@+,]*")
_ASSIGNMENT = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")

_HEADER = "# Written by `clawling init`"
ENV_FILE = Path(".env")
MODEL_VARIABLES = (
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY",
    "CLAWLING_MODEL",
)  # where the settings are read from: the working directory


@dataclass
class Setup:
    """The answers: a model endpoint, and optionally Telegram, Slack and the owners."""

    base_url: str
    model: str
    api_key: str | None = None
    telegram_token: str | None = None
    slack_bot_token: str | None = None
    slack_app_token: str | None = None
    owners: list[str] = field(default_factory=list)

    def variables(self) -> dict[str, str]:
        """The settings to write, by variable name (README "Settings")."""
        found = {"OPENAI_BASE_URL": self.base_url, "CLAWLING_MODEL": self.model}
        optional = {
            "OPENAI_API_KEY": self.api_key,
            "TELEGRAM_BOT_TOKEN": self.telegram_token,
            "SLACK_BOT_TOKEN": self.slack_bot_token,
            "SLACK_APP_TOKEN": self.slack_app_token,
            "CLAWLING_OWNERS": ",".join(dict.fromkeys(self.owners)) or None,
        }
        found.update({name: value for name, value in optional.items() if value})
        return found


def quoted(value: str) -> str:
    """`value` as python-dotenv reads it back unchanged.

    Single quotes take everything but a quote literally; a value holding one goes in
    double quotes with `\\` and `"` escaped. (python-dotenv expands `${VAR}` in any
    quotes, so such a value cannot be written: no key or token has one.)"""
    if _BARE.fullmatch(value):
        return value
    if "'" not in value:
        return f"'{value}'"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def render(setup: Setup, existing: str | None = None) -> str:
    """The new `.env` text: `existing` without the lines `setup` replaces, then its block."""
    new = setup.variables()
    # The endpoint's settings go together: an old key must not be sent to a new server.
    replaced = {*new, *MODEL_VARIABLES}
    replaced |= {f"{name}_FILE" for name in replaced}  # both set is a start-up error
    kept: list[str] = []
    for line in (existing or "").splitlines():
        assigned = _ASSIGNMENT.match(line)
        dropped = assigned is not None and assigned.group(1) in replaced
        if not dropped and not line.startswith(_HEADER):
            kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = [f"{_HEADER} on {stamp}. Every setting: README.md, Settings."]
    block += [f"{name}={quoted(value)}" for name, value in new.items()]
    return "\n".join([*kept, *([""] if kept else []), *block]) + "\n"


def write(path: Path, text: str) -> None:
    """Write `text` to `path` with mode 0600, replacing it in one step."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o600)  # O_CREAT's mode does not apply to a leftover file
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def save(console: Console, setup: Setup, *, say_start: bool = True) -> None:
    """Write `setup` to ./.env (updating one that is there) and say how to start."""
    existing = ENV_FILE.read_text(encoding="utf-8") if ENV_FILE.exists() else None
    write(ENV_FILE, render(setup, existing))
    verb = "Updated" if existing is not None else "Wrote"
    console.print(f"{verb} {ENV_FILE.resolve()} (readable only by you).", markup=False)
    if say_start:
        console.print(f"Start it with: {start_command(setup)}", markup=False)


def start_command(setup: Setup) -> str:
    """The one command that starts what was set up: the chat apps, or the terminal chat."""
    program = "./clawling" if Path("clawling").is_file() else "clawling"
    chat_apps = setup.telegram_token or setup.slack_bot_token
    return f"{program} run" if chat_apps else f"{program} chat"
