"""Administering people: block, unblock, change role, remove (and forget) — the one
place these happen, for the owners' chat commands and `clawling users` alike.

Rules:
- People are named by any of their accounts, `platform:id`.
- The assistant always keeps an active owner: blocking, removing or demoting the last
  one is refused (checked and changed in one transaction, see
  `PeopleStore.change_keeping_an_owner`).
- Blocked: no answer at all. Removed: access gone, data kept. Both take effect at the
  person's next message: the access check reads the status from SQL each time, and
  nothing here keeps a copy.
- Remove with forget also erases their data exactly as /forget_me does
  (`PrivacyStore.erase`), keeping only the row that says they were removed.
- Every change is written to the audit trail after it is made (bot/people/trail.py);
  asking for what already holds changes nothing and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.people.trail import Trail
from memory.audit import Actor
from memory.history import BadUserName, split_user_name
from memory.people import ACTIVE, BLOCKED, OWNER, REMOVED, ROLES, PeopleStore, Person
from memory.privacy import PrivacyStore


class NotFound(Exception):
    """A name that is not `platform:id`, an account nobody has, or a role that is none:
    the message (a sentence) says which."""


class Refused(Exception):
    """The rules refuse the change (the last owner): the message says why and what to do."""


def shown(person: Person) -> str:
    """`telegram:42 (Ann)`; the name is left out when it only repeats the id."""
    external = person.label.partition(":")[2]
    return person.label if person.name in ("", external) else f"{person.label} ({person.name})"


async def find(people: PeopleStore, name: str) -> Person:
    """The person owning the account `platform:id`."""
    try:
        platform, external = split_user_name(name)
    except BadUserName as exc:
        raise NotFound(f"{str(exc)[:1].upper()}{str(exc)[1:]}.") from None
    person = await people.by_account(platform, external)
    if person is None:
        raise NotFound(f"Nobody has the account {platform}:{external} (check the platform:id).")
    return person


def _last_owner(person: Person) -> Refused:
    return Refused(
        f"{shown(person)} is the last active owner; the assistant needs one. Make someone "
        "else an owner first (/role USER owner, or clawling users role USER owner)."
    )


@dataclass(frozen=True)
class PeopleAdmin:
    people: PeopleStore
    privacy: PrivacyStore
    trail: Trail
    data_dir: Path
    # CLAWLING_OWNERS: made active owners again at every start, so a change that takes
    # that away from them says it will not last.
    seeded: tuple[str, ...] = ()

    def _lasting(self, person: Person, done: str) -> str:
        listed = [a.label for a in person.accounts if a.label in self.seeded]
        if not listed:
            return done
        return (
            f"{done} Note: {listed[0]} is in CLAWLING_OWNERS, which makes them an active "
            "owner again at every start; take them out of it too."
        )

    async def block(self, actor: Actor, person: Person) -> str:
        if person.status == BLOCKED:
            return f"{shown(person)} is already blocked."
        await self._change(person, status=BLOCKED)
        await self.trail.record("person.blocked", actor, subject=person, was=person.status)
        return self._lasting(person, f"Blocked {shown(person)}: they get no answer from now on.")

    async def unblock(self, actor: Actor, person: Person) -> str:
        """Gives access back, to a blocked or a removed person."""
        if person.status == ACTIVE:
            return f"{shown(person)} is not blocked."
        await self._change(person, status=ACTIVE)
        await self.trail.record("person.unblocked", actor, subject=person, was=person.status)
        return f"Unblocked {shown(person)}: they are answered again."

    async def set_role(self, actor: Actor, person: Person, role: str) -> str:
        role = role.strip().lower()
        if role not in ROLES:
            raise NotFound(f"The role must be {' or '.join(ROLES)}, not {role!r}.")
        if person.role == role:
            return f"{shown(person)} is already {_a(role)}."
        await self._change(person, role=role)
        await self.trail.record("person.role", actor, subject=person, role=role, was=person.role)
        done = f"{shown(person)} is now {_a(role)}."
        return done if role == OWNER else self._lasting(person, done)

    async def remove(self, actor: Actor, person: Person, *, forget: bool = False) -> str:
        """Take their access away (data kept); with `forget`, erase their data too."""
        if person.status == REMOVED and not forget:
            return f"{shown(person)} is already removed."
        if person.status != REMOVED:
            await self._change(person, status=REMOVED)
            await self.trail.record("person.removed", actor, subject=person, was=person.status)
        done = f"Removed {shown(person)}: they get no answer from now on"
        if not forget:
            return self._lasting(person, done + "; their data is kept.")
        erased = await self.privacy.erase(person.id, self.data_dir)
        await self.trail.record(
            "person.forgotten",
            actor,
            subject=person,
            memories=erased.memories,
            messages=erased.messages,
            summaries=erased.summaries,
        )
        return self._lasting(
            person,
            f"{done}, and their data is erased: {erased.memories} memories, "
            f"{erased.messages} messages, {erased.summaries} summaries.",
        )

    async def _change(
        self, person: Person, *, role: str | None = None, status: str | None = None
    ) -> None:
        if not await self.people.change_keeping_an_owner(person.id, role=role, status=status):
            raise _last_owner(person)


def _a(role: str) -> str:
    return "an owner" if role == OWNER else f"a {role}"
