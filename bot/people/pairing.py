"""Pairing: how a stranger gets in without anyone editing .env or restarting.

Rules:
- A stranger who writes privately gets a short reply with a code (CODE_LENGTH letters
  and digits of ALPHABET, which has no 0/O/1/I/L), and every active owner gets a
  message in their private chat naming them (`platform:id`, name, @username) with
  `/allow CODE` and `/deny CODE` spelled out and as buttons.
- Codes last CODE_LIFETIME; then the request is "expired". A person has at most one
  pending request: writing again shows the same code and asks nobody again. Owners are
  asked about one person at most once per NOTIFY_AGAIN_AFTER. At most MAX_PENDING
  requests wait at once; beyond that strangers are asked to try later and owners hear
  nothing, so a flood of strangers cannot spam them.
- Someone denied hears it once; what they write for DENIED_QUIET afterwards gets no
  answer and asks nobody.
- Nothing a stranger writes is stored or reaches the model: only the request row.
- `/allow`, `/deny` and `clawling users allow|deny` are this one `decide`. Approving
  makes them an active member (PeopleStore) and tells them in their private chat;
  denying tells them politely. Both messages, like the owners', are deliveries
  (retried until the platform takes them).
- Wrong codes are answered plainly and audited as code.failed; more than
  WRONG_CODES_ALLOWED of them within WRONG_CODES_WINDOW by one actor are refused
  before the code is even looked at.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from memory.audit import SYSTEM, Actor, AuditStore
from memory.db.sqltypes import utcnow
from memory.deliveries import OutgoingMessage
from memory.pairing import APPROVED, DENIED, CodeTaken, PairingRecord, PairingStore, Stranger
from memory.people import MEMBER, PeopleStore, Person

log = logging.getLogger(__name__)

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud or retyped safely
CODE_LENGTH = 8
CODE_LIFETIME = timedelta(hours=1)
NOTIFY_AGAIN_AFTER = timedelta(hours=1)
# A family or a team has a handful of people asking at once; twenty is more than a real
# wave of newcomers (a team told "write to the bot" on the same morning) and still a
# list an owner can read in one go. Beyond it, it is a flood, not people.
MAX_PENDING = 20
DENIED_QUIET = timedelta(hours=24)
WRONG_CODES_ALLOWED = 10
WRONG_CODES_WINDOW = timedelta(minutes=10)
NAME_CHARS = 64

CODE_FAILED = "code.failed"
WAITING = "Your request is still waiting for my owner. Your code is {code}."
ASKED = (
    "Hi{name}! I'm {assistant}, a private assistant. I've asked my owner to let you in; "
    "your code is {code}. I'll tell you here when they answer (the code lasts an hour)."
)
TOO_MANY = "Sorry, I can't take new requests right now. Please try again later."
LET_IN = "You're in! My owner let you in. Send me a message any time."
TURNED_DOWN = "Sorry, my owner decided not to let you in."


@dataclass(frozen=True)
class Decision:
    """Who decides: the audit's actor, their person (None from the command line), and the
    command word they typed, for the messages."""

    actor: Actor
    user_id: int | None = None
    command: str = "/allow"


@dataclass(frozen=True)
class Answer:
    """What deciding a code did: `done` when this decision counted, and the sentence for
    whoever decided."""

    done: bool
    text: str


def new_code() -> str:
    """A fresh code; always with a letter, so it never reads as an approval's number
    (`/deny 42` answers a tool call, `/deny K7QX9MPA` a stranger)."""
    while True:
        code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
        if not code.isdigit():
            return code


def normalise_code(text: str) -> str:
    """What an owner typed as a code: case, spaces and dashes do not matter."""
    return re.sub(r"[\s\-]", "", text).upper()


def shown_name(name: str) -> str:
    """A name someone chose, safe to put in an owner's message: one line, no Markdown
    that could pose as a link or as more of the message, not too long."""
    cleaned = re.sub(r"[`*_\[\]()<>~|#\\]", "", " ".join(name.split()))
    return cleaned[:NAME_CHARS].strip() or "(no name)"


class Pairing:
    def __init__(
        self,
        store: PairingStore,
        people: PeopleStore,
        audit: AuditStore,
        *,
        assistant_name: str,
        now: Callable[[], datetime],
        wake_deliverer: Callable[[], None],
    ) -> None:
        self._store = store
        self._people = people
        self._audit = audit
        self._assistant = assistant_name
        self._now = now
        self._wake = wake_deliverer
        # Requests are counted and created one at a time, so a burst of strangers
        # arriving at once cannot all pass the MAX_PENDING check together.
        self._lock = asyncio.Lock()

    async def request(self, stranger: Stranger) -> str:
        """A stranger wrote privately: what to answer them ("" = nothing at all)."""
        async with self._lock:
            await self.expire()
            now = self._now()
            waiting = await self._store.pending_for(stranger.platform, stranger.external_id)
            if waiting is not None:
                return WAITING.format(code=waiting.code)
            denied = await self._store.last_time(
                stranger.platform, stranger.external_id, of="denied"
            )
            if denied is not None and now - denied < DENIED_QUIET:
                return ""
            if await self._store.count_pending() >= MAX_PENDING:
                log.warning(
                    "pairing: %s waiting already; %s was asked to try later",
                    MAX_PENDING,
                    stranger.label,
                )
                return TOO_MANY
            record = await self._create(stranger, now)
        await self._audit.record(
            "pairing.requested",
            Actor(stranger.label, stranger.platform),
            subject=stranger.label,
            code=record.code,
            owners_told=record.notified_at is not None,
        )
        self._wake()
        return ASKED.format(
            name=_first_name(stranger.display_name), assistant=self._assistant, code=record.code
        )

    async def decide(self, code_text: str, *, allow: bool, by: Decision) -> Answer:
        """Approve or deny the request with this code."""
        code = normalise_code(code_text)
        if not code:
            return Answer(False, f"Usage: {by.command} CODE (the code from my message about them).")
        since = utcnow() - WRONG_CODES_WINDOW  # the audit's own clock stamps entries
        if await self._audit.count(CODE_FAILED, by.actor.label, since) >= WRONG_CODES_ALLOWED:
            return Answer(False, "Too many wrong codes just now; wait a few minutes and try again.")
        await self.expire()
        found = await self._store.by_code(code)
        if found is None:
            return await self._failed(code, "unknown", by, None)
        person = None
        if allow and found.status == "pending" and found.expires_at > self._now():
            # Stored first: if deciding fails after this, /allow again finds them stored
            # and simply goes on.
            who = found.stranger
            person = await self._people.add(
                who.platform, who.external_id, who.display_name, username=who.username
            )
            if person.role != MEMBER:  # someone removed earlier comes back as a member
                await self._people.set_role(person.id, MEMBER)
        answer = OutgoingMessage(
            key=f"pairing:{code}:answer",
            channel=found.stranger.platform,
            chat_id=found.stranger.external_id,
            thread_id="",
            text=LET_IN if allow else TURNED_DOWN,
            to_account=True,
        )
        decided = await self._store.decide(
            code,
            APPROVED if allow else DENIED,
            now=self._now(),
            decided_by=by.user_id,
            deliveries=[answer],
        )
        record = decided.record
        if decided.outcome != "done" or record is None:
            return await self._failed(code, decided.outcome, by, record)
        self._wake()
        who = record.stranger
        await self._audit.record(
            "pairing.allowed" if allow else "pairing.denied",
            by.actor,
            subject=who.label,
            subject_id=person.id if person is not None else None,
            code=code,
        )
        name = shown_name(who.display_name)
        if allow:
            return Answer(
                True, f"Let in {name} ({who.label}). I've told them; they can talk to me now."
            )
        return Answer(True, f"Turned down {name} ({who.label}). I've told them.")

    async def expire(self) -> int:
        """Requests whose code ran out become "expired" (and are audited)."""
        expired = await self._store.expire(self._now())
        for record in expired:
            await self._audit.record(
                "pairing.expired",
                Actor(SYSTEM, SYSTEM),
                subject=record.stranger.label,
                code=record.code,
            )
        return len(expired)

    async def pending(self) -> list[PairingRecord]:
        await self.expire()
        return await self._store.pending()

    async def _create(self, stranger: Stranger, now: datetime) -> PairingRecord:
        last = await self._store.last_time(stranger.platform, stranger.external_id, of="notified")
        notify = last is None or now - last >= NOTIFY_AGAIN_AFTER
        owners = await self._people.owners() if notify else []
        if notify and not owners:
            log.warning("pairing: no active owner to ask about %s", stranger.label)
        for _ in range(5):
            code = new_code()
            try:
                return await self._store.create(
                    stranger,
                    code,
                    now=now,
                    expires_at=now + CODE_LIFETIME,
                    notified=bool(owners),
                    deliveries=[
                        _question(owner, stranger, code) for owner in owners if owner.accounts
                    ],
                )
            except CodeTaken:
                continue  # the code is taken (by a request, ever): draw another
        raise RuntimeError("could not draw an unused pairing code")

    async def _failed(
        self, code: str, outcome: str, by: Decision, record: PairingRecord | None
    ) -> Answer:
        await self._audit.record(
            CODE_FAILED,
            by.actor,
            subject=record.stranger.label if record is not None else None,
            kind="pairing",
            reason=outcome,
            code=code,
        )
        if outcome == "unknown" or record is None:
            return Answer(
                False,
                f"No request has the code {code}. Check it against my message, or ask them "
                "to write to me again for a new one.",
            )
        name = f"{shown_name(record.stranger.display_name)} ({record.stranger.label})"
        if outcome == "expired":
            return Answer(
                False,
                f"The code {code} has expired (codes last an hour). Ask {name} to write to "
                "me again for a new one.",
            )
        verdict = "let in" if record.status == APPROVED else "turned down"
        return Answer(False, f"The code {code} was already used: {name} was {verdict}.")


def _first_name(display_name: str) -> str:
    """The greeting's " Eve" for "Eve Example"; "" when they showed no usable name."""
    words = display_name.split()
    first = shown_name(words[0]) if words else ""
    return f" {first}" if words and first != shown_name("") else ""


def _question(owner: Person, stranger: Stranger, code: str) -> OutgoingMessage:
    """The message asking one owner, in their private chat on the stranger's platform
    when they have an account there, else on their first account."""
    accounts = owner.accounts
    account = next((a for a in accounts if a.platform == stranger.platform), None) or next(
        (a for a in accounts if a.platform != "console"), accounts[0]
    )
    username = f", @{shown_name(stranger.username)}" if stranger.username else ""
    text = (
        "Someone asks to talk to me:\n"
        f"{shown_name(stranger.display_name)}{username} ({stranger.label})\n\n"
        f"To let them in: /allow {code}\n"
        f"To turn them down: /deny {code}\n"
        "(The code lasts an hour.)"
    )
    return OutgoingMessage(
        key=f"pairing:{code}:owner:{owner.id}",
        channel=account.platform,
        chat_id=account.external_id,
        thread_id="",
        text=text,
        buttons=(("Allow", f"/allow {code}"), ("Deny", f"/deny {code}")),
        to_account=True,
    )
