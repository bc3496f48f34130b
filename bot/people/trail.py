"""Writing the audit trail (memory/audit.py) from the rules, the commands and the gate.

The order, everywhere: the action first, its entry after it succeeded. So the trail
never claims what did not happen, and writing it can neither stop an action nor make
one run twice: a write that fails is logged with everything the entry would have held
(the log is the trail's fallback) and the action's own answer stands — a tool call is
not reported failed, so the model does not call it again; a CLI command still exits 0.
The price: a crash between an action and its entry loses that one entry.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from memory.audit import CLI, SYSTEM, Actor, AuditStore, Entry
from memory.history import split_user_name
from memory.people import PeopleStore, Person

log = logging.getLogger(__name__)

CLI_ACTOR = Actor(CLI, "cli")
SYSTEM_ACTOR = Actor(SYSTEM, "system")


def person_actor(person: Person, platform: str) -> Actor:
    """The person as an actor, named by their first account."""
    return Actor(person.label, platform, person.id)


class Trail:
    """Records entries, never raising (see the module's docstring for why)."""

    def __init__(self, audit: AuditStore, people: PeopleStore) -> None:
        self.audit = audit
        self.people = people

    async def record(
        self,
        action: str,
        actor: Actor,
        *,
        subject: Person | None = None,
        **detail: Any,
    ) -> bool:
        """Write one entry after its action; False (and a logged error) when it failed."""
        try:
            await self.audit.record(
                action,
                actor,
                subject=None if subject is None else subject.label,
                subject_id=None if subject is None else subject.id,
                **detail,
            )
        except Exception:
            log.exception(
                "the audit trail could not record %s by %s (subject %s, %s); the action "
                "itself was done",
                action,
                actor.label,
                None if subject is None else subject.label,
                detail,
            )
            return False
        return True

    async def actor(self, user_id: int, platform: str) -> Actor:
        """The person with this id as an actor (`user:<id>` if their row cannot be read)."""
        try:
            person = await self.people.person(user_id)
        except Exception:
            log.exception("could not read user %s for the audit trail", user_id)
            person = None
        label = person.label if person is not None else f"user:{user_id}"
        return Actor(label, platform, user_id)


def entry_line(entry: Entry) -> str:
    """One readable line: `2026-12-05 12:30 telegram:42 person.blocked telegram:7 (why)`."""
    subject = f" {entry.subject}" if entry.subject else ""
    # The platform is said only when the actor's name does not say it (a linked account).
    said = entry.actor.startswith(f"{entry.platform}:") or entry.platform in (CLI, SYSTEM)
    where = "" if said else f" via {entry.platform}"
    details = detail_text(entry)
    return f"{entry.at:%Y-%m-%d %H:%M} {entry.actor}{where} {entry.action}{subject}" + (
        f" — {details}" if details else ""
    )


def detail_text(entry: Entry) -> str:
    """The entry's details as `key: value; …`, each value on one line, cut at 120."""
    return "; ".join(f"{k}: {_short(v)}" for k, v in entry.detail.items() if v not in (None, ""))


def entry_json(entry: Entry) -> dict[str, Any]:
    """An entry for `clawling audit --json`: people as `platform:id`, no row ids."""
    return {
        "at": entry.at.isoformat(),
        "action": entry.action,
        "actor": entry.actor,
        "platform": entry.platform,
        "subject": entry.subject,
        "detail": entry.detail,
    }


_AGO = re.compile(r"(\d{1,6})\s*([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def since_time(text: str, now: datetime) -> datetime:
    """WHEN: a date or time ("2026-12-01", "2026-12-01T08:00", UTC unless it says) or an
    age ("30m", "24h", "7d", "2w"). ValueError says what was wrong with `text`."""
    value = text.strip().lower()
    if match := _AGO.fullmatch(value):
        return now - timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        at = datetime.fromisoformat(value.upper())
    except ValueError:
        raise ValueError(f"{text!r} is neither a date (2026-12-01) nor an age (24h, 7d)") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


async def trail_of(people: PeopleStore, name: str) -> tuple[int | None, tuple[str, ...]]:
    """Whose entries `platform:id` asks for, as `AuditStore.entries` takes them: the
    person and all their accounts, or, for an account nobody has any more (or never had:
    a stranger's pairing request), its `platform:id` text. BadUserName when `name` is not
    `platform:id`."""
    platform, external = split_user_name(name)
    person = await people.by_account(platform, external)
    if person is None:
        return None, (f"{platform}:{external}",)
    return person.id, tuple(a.label for a in person.accounts)


def _short(value: object) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= 120 else text[:119] + "…"
