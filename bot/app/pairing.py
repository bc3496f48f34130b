"""Who gets in: the doorman (allowlists, blocked people, strangers) and pairing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.commands.pairing import pairing_commands
from bot.commands.registry import CommandRegistry
from bot.people.doorman import Allowlist, Doorman
from bot.people.pairing import Pairing
from bot.settings import Settings
from memory.audit import AuditStore
from memory.pairing import PairingStore
from memory.people import PeopleStore


@dataclass(frozen=True)
class Door:
    doorman: Doorman
    pairing: Pairing


def build_door(
    settings: Settings,
    engine: AsyncEngine,
    people: PeopleStore,
    audit: AuditStore,
    commands: CommandRegistry,
    *,
    now: Callable[[], datetime],
    wake_deliverer: Callable[[], None],
) -> Door:
    """The doorman and pairing for these settings, with /allow and /deny registered."""
    core = settings.core
    pairing = Pairing(
        PairingStore(engine),
        people,
        audit,
        assistant_name=core.assistant_name,
        now=now,
        wake_deliverer=wake_deliverer,
    )
    # Only the platforms this deployment talks on: a channel of another name (the
    # in-process ones of tests and benchmarks) admits people it does not know.
    allowlists = {}
    if settings.telegram.bot_token is not None:
        allowlists["telegram"] = Allowlist("telegram", settings.telegram.allowed_users, core.owners)
    if settings.slack.enabled:
        allowlists["slack"] = Allowlist("slack", settings.slack.allowed_users, core.owners)
    doorman = Doorman(people, pairing, allowlists=allowlists, pairing_on=core.pairing == "on")
    pairing_commands(commands, pairing)
    return Door(doorman, pairing)
