"""Linking accounts into one person, and separating them again: the rules (issue 17).

Rules (docs/security.md says why):
- `/link` gives a one-time code: 10 characters of a 32-letter alphabet without look-alikes
  (50 bits), valid 10 minutes; a new `/link` replaces the person's unused code.
- Linking needs both sides: the issuer consents by handing the code to their other
  account, the sender by sending it. A code only works sent from an account that is not
  already the issuer's; the issuer's person survives and the sender's joins it.
- Refused: malformed, unknown, used and expired codes (each one a `code.failed`, and
  after 5 of them in 10 minutes an account's codes are all refused until the window
  passes, a right one too); the issuer's own accounts; a sender whose account is
  already linked with others (it must /unlink first, so one code can never pull a
  whole set of accounts); blocked or removed people; a member's code sent from an
  owner's account (privilege flows only from the side that shared a code).
- Everything happens in private chats: a code shown in a group is a code given away.
- `/unlink` (or `/unlink platform:id`, one of one's own accounts) makes that account a
  person of its own; a person's last account cannot be unlinked.
- An account the assistant does not know yet (a stranger to the doorman) may send
  `/link CODE` privately: the issuer's code is their consent to let that account in
  as themselves, so no owner is asked. The code is checked (and wrong ones counted)
  before anything of the stranger is stored; only a right code makes them a person,
  who is joined to the issuer at once.

Caches keyed by a person's id are told through `listeners` (wired in bot/app/).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from memory.audit import Actor, AuditStore
from memory.linking import IssuedCode, LinkRefused, LinkStore
from memory.pairing import Stranger
from memory.people import REMOVED, PeopleStore, Person

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I, O, 0, 1
CODE_LENGTH = 10  # 32 ** 10 = 2 ** 50 codes
CODE_LIFETIME = timedelta(minutes=10)
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=10)

LINKED = "person.linked"
UNLINKED = "person.unlinked"
FAILED = "code.failed"

PRIVATE_ONLY = "Please use /{name} in your private chat with me, not in a group."
TOO_MANY = (
    "Too many wrong codes from this account. Wait 10 minutes, then ask for a new code "
    "with /link in your other app."
)
# To the account that asked for the code: a stolen code is noticed at once.
LINKED_NOTICE = (
    "🔗 {account} was linked to you with your /link code: it now shares your memory, "
    "tasks, reminders and usage. Not you? Send /unlink {account} at once."
)
_SEPARATORS = re.compile(r"[\s\-]+")

# Told of the ids of people who changed (merged away, joined, split) after each change.
Listener = Callable[[tuple[int, ...]], None]


@dataclass(frozen=True)
class Sender:
    """Who sent the command: their person's id and the account it came from."""

    user_id: int
    account: str  # platform:id
    private: bool

    @property
    def platform(self) -> str:
        return self.account.partition(":")[0]


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise(text: str) -> str:
    """What a person typed as a code: spaces and dashes dropped, any case."""
    return _SEPARATORS.sub("", text).upper()


@dataclass
class Linking:
    links: LinkStore
    people: PeopleStore
    audit: AuditStore
    listeners: list[Listener] = field(default_factory=list)
    # Wakes the deliverer, which sends the issuer's notice (queued with the merge).
    wake: Callable[[], None] = lambda: None

    async def issue(self, sender: Sender, now: datetime) -> str:
        """`/link`: a code for the sender's person, and what to do with it."""
        if not sender.private:
            return PRIVATE_ONLY.format(name="link")
        person = await self.people.person(sender.user_id)
        if person is None or not person.is_active:
            return "Your account cannot be linked."
        code = new_code()
        await self.links.issue(person.id, sender.account, code, now, now + CODE_LIFETIME)
        minutes = int(CODE_LIFETIME.total_seconds() // 60)
        power = " and an owner of this assistant" if person.is_owner else ""
        return (
            f"Your link code: {code}\n"
            f"In your other app, send /link {code} to me in a private chat (from the "
            f'terminal: `clawling chat --as NAME -m "/link {code}"`). It works once, '
            f"for {minutes} minutes.\n"
            "Both accounts then share one memory, tasks, reminders and usage.\n"
            f"Whoever sends this code becomes you here{power}: never give it to anyone."
        )

    async def redeem(self, sender: Sender, typed: str, now: datetime) -> str:
        """`/link CODE`: join the sender's account to the person who issued the code."""
        if not sender.private:
            return PRIVATE_ONLY.format(name="link")
        actor = Actor(sender.account, sender.platform, sender.user_id)
        failures = await self.audit.count(FAILED, sender.account, now - FAILURE_WINDOW)
        if failures >= MAX_FAILURES:
            return TOO_MANY
        code = normalise(typed)
        found = await self.links.find(code) if _well_formed(code) else None
        problem = _problem(found, now)
        if problem is not None or found is None:
            reason, text = problem or ("unknown", "")
            reason = reason if _well_formed(code) else "malformed"
            await self.audit.record(FAILED, actor, kind="link", reason=reason)
            left = MAX_FAILURES - failures - 1
            tries = f" ({left} more {'try' if left == 1 else 'tries'} in the next 10 minutes)"
            return f"{text}{tries if left else ''}"
        return await self._join(found, sender, now)

    async def redeem_from_stranger(self, stranger: Stranger, typed: str, now: datetime) -> str:
        """`/link CODE` from an account nobody let in yet: with a right code it becomes a
        person joined to the issuer; with a wrong one nothing of it is stored."""
        if not typed.strip():
            return (
                "To link this account to you, send /link CODE here with the code /link "
                "gave you in your other app. To ask to be let in instead, just write to me."
            )
        actor = Actor(stranger.label, stranger.platform)
        failures = await self.audit.count(FAILED, stranger.label, now - FAILURE_WINDOW)
        if failures >= MAX_FAILURES:
            return TOO_MANY
        code = normalise(typed)
        found = await self.links.find(code) if _well_formed(code) else None
        problem = _problem(found, now)
        if problem is not None or found is None:
            reason = (problem or ("unknown", ""))[0] if _well_formed(code) else "malformed"
            await self.audit.record(FAILED, actor, kind="link", reason=reason)
            return (problem or ("", "I don't know that code."))[1]
        person = await self.people.add(
            stranger.platform,
            stranger.external_id,
            stranger.display_name,
            username=stranger.username,
        )
        sender = Sender(person.id, stranger.label, private=True)
        reply = await self._join(found, sender, now)
        joined = await self.people.by_account(stranger.platform, stranger.external_id)
        if joined is None or joined.id == person.id:
            # Not joined after all (the issuer was blocked meanwhile, the code raced):
            # the account goes back to being a stranger.
            await self.people.set_status(person.id, REMOVED)
        return reply

    async def unlink(self, sender: Sender, target: str, now: datetime) -> str:
        """`/unlink [platform:id]`: make that account (default: this one) a person again."""
        if not sender.private:
            return PRIVATE_ONLY.format(name="unlink")
        account = target.strip() or sender.account
        person = await self.people.person(sender.user_id)
        if person is None or not person.is_active:
            return "Your account cannot be changed."
        labels = [a.label for a in person.accounts]
        if account not in labels:
            mine = ", ".join(labels)
            return f"{account} is not one of your accounts (yours: {mine})."
        if len(labels) < 2:
            return "This is your only account, so there is nothing to unlink."
        try:
            split = await self.links.split(person.id, account, now)
        except LinkRefused as refusal:
            return str(refusal)
        remaining = [label for label in labels if label != account]
        await self.audit.record(
            UNLINKED,
            Actor(sender.account, sender.platform, sender.user_id),
            subject=account,
            subject_id=split.user_id,
            remaining=remaining,
            conversations=split.conversations,
        )
        self._changed(person.id, split.user_id)
        chats = (
            "its private chats go with it, with the reminders and tasks that report there"
            if split.conversations
            else "it had no private chats"
        )
        return (
            f"{account} is a person of its own again ({chats}). Memories, skills, usage and "
            f"everything else stay with {', '.join(remaining)}."
        )

    async def _join(self, code: IssuedCode, sender: Sender, now: datetime) -> str:
        if code.user_id == sender.user_id:
            return (
                "That code is yours, and this account is already yours: send it from the "
                "account you want to link."
            )
        issuer = await self.people.person(code.user_id)
        joining = await self.people.person(sender.user_id)
        refusal = _refusal(issuer, joining, sender)
        if refusal is not None or issuer is None:
            return refusal or ""
        try:
            merged = await self.links.merge(
                code, sender.user_id, now, notice=LINKED_NOTICE.format(account=sender.account)
            )
        except LinkRefused as late:
            return str(late)
        survivor = await self.people.person(merged.survivor_id)
        accounts = [a.label for a in survivor.accounts] if survivor else [sender.account]
        await self.audit.record(
            LINKED,
            Actor(sender.account, sender.platform, merged.survivor_id),
            subject=survivor.label if survivor else code.account,
            subject_id=merged.survivor_id,
            accounts=accounts,
            issued_by=code.account,
        )
        self._changed(sender.user_id, merged.survivor_id)
        self.wake()
        return (
            f"Linked: {', '.join(accounts)} are now one person — one memory, one set of "
            "tasks, reminders and usage. /unlink separates this account again."
        )

    def _changed(self, *user_ids: int) -> None:
        for listener in self.listeners:
            listener(user_ids)


def _well_formed(code: str) -> bool:
    return len(code) == CODE_LENGTH and all(c in ALPHABET for c in code)


def _problem(found: IssuedCode | None, now: datetime) -> tuple[str, str] | None:
    """Why a code cannot be used (audit reason, what the person reads), or None."""
    if found is None:
        return "unknown", "I don't know that code. Check it, or ask for a new one with /link."
    if found.used_at is not None:
        return "used", "That code was used already. Ask for a new one with /link."
    if found.expires_at <= now:
        return "expired", "That code has expired. Ask for a new one with /link."
    return None


def _refusal(issuer: Person | None, joining: Person | None, sender: Sender) -> str | None:
    """Why these two people cannot be joined, in words for the sender, or None."""
    if issuer is None or not issuer.is_active:
        return "The account that made this code can no longer be linked."
    if joining is None or not joining.is_active:
        return "Your account cannot be linked."
    others = [a.label for a in joining.accounts if a.label != sender.account]
    if others:
        return (
            f"This account is already linked with {', '.join(others)}. Send /unlink here "
            "first, then the code again: a code joins one account, never a whole set."
        )
    if joining.is_owner and not issuer.is_owner:
        return (
            "This code comes from a member's account and you are an owner: linking would "
            "make that account an owner too. Send /link here instead, and the new code "
            "from the other account."
        )
    return None
