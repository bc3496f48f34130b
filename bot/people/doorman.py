"""The doorman: the one decision whether a message's sender is answered.

Asked by the session manager for every message before anything is stored or any user
row made (and by adapters before work that costs something: downloading files, a
slash command's acknowledgement). Rules, in order:
- The terminal (`console`) is always admitted: whoever types there has the machine.
- A known, active person is admitted; a blocked one gets no answer at all.
- On a platform with an allowlist (TELEGRAM_ALLOWED_USERS, SLACK_ALLOWED_USERS, and
  CLAWLING_OWNERS' entries for it), an account listed by id or @username that the
  database does not know yet is stored as an active member and admitted: the
  allowlists keep working and seed the people table. A person an owner removed or
  blocked stays so: what was done to them later wins over the .env.
- Anyone else is a stranger. Privately: a pairing code (bot/people/pairing.py), or with
  CLAWLING_PAIRING=off the short refusal naming their `platform:id`. In a group: that
  refusal at most once per person, chat and GROUP_REFUSAL_EVERY (a stranger who keeps
  mentioning the assistant must not make it spam the group), else nothing.
- A few commands make sense before someone is let in (linking this account to a
  person who already is: `/link CODE`). Features register them with
  `on_stranger_command`; such a command from a stranger, privately, goes to its
  handler, which answers without the stranger being stored as a person.
- Channels without an allowlist (in-process channels of tests and benchmarks) admit
  people they do not know, as before pairing existed; blocked and removed people are
  refused there too.

Cost: for people who are let in, one indexed read per account per CACHE_SECONDS (only
that answer is kept: anyone else is read afresh each time, so an approval made in
another process is never hidden by a stale "stranger"). Changes made through this
process's PeopleStore drop the cache at once (its `generation`), so a block counts
from the next message; a block made by another process within CACHE_SECONDS.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

from bot.chat.channels import Admission, Inbound
from bot.people.pairing import Pairing
from memory.pairing import Stranger
from memory.people import ACTIVE, BLOCKED, PeopleStore, Standing

log = logging.getLogger(__name__)

LOCAL_CHANNELS = frozenset({"console"})
CACHE_SECONDS = 2.0
CACHE_SIZE = 10_000
GROUP_REFUSAL_EVERY = 3600.0  # seconds

ADMIT = Admission(True)
SILENCE = Admission(False)
_COMMAND = re.compile(r"/([A-Za-z0-9_]+)(?:@\S+)?(?:\s+(.*))?", re.DOTALL)

# A command a stranger may send privately: given who sent it and its arguments, the
# reply to show them.
StrangerCommand = Callable[[Stranger, str], Awaitable[str]]


def refusal(platform: str, sender_id: str) -> str:
    return (
        "Sorry, this is a private assistant and you are not on its list of people it talks "
        f"to. If you know its owner, ask them to add your ID: {platform}:{sender_id}"
    )


class Allowlist:
    """One platform's allowlist: ids or @usernames, plus CLAWLING_OWNERS' entries for the
    platform (`platform:id` or `platform:@username`)."""

    def __init__(self, platform: str, allowed: Iterable[str], owners: Iterable[str]) -> None:
        prefix = f"{platform}:"
        entries = [a.strip() for a in allowed if a.strip()]
        entries += [o.strip()[len(prefix) :] for o in owners if o.strip().startswith(prefix)]
        self._ids = {e for e in entries if e and not e.startswith("@")}
        # A lone "@" names nobody: it must not admit everyone without a username.
        self._usernames = {e[1:].lower() for e in entries if e.startswith("@") and e[1:]}

    def allows(self, sender_id: str, username: str | None = None) -> bool:
        if sender_id in self._ids:
            return True
        if not username:
            return False
        return username.lstrip("@").lower() in self._usernames


@dataclass
class _Known:
    standing: Standing
    until: float
    generation: int


class Doorman:
    def __init__(
        self,
        people: PeopleStore,
        pairing: Pairing,
        *,
        allowlists: Mapping[str, Allowlist],
        pairing_on: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._people = people
        self._pairing = pairing
        self._allowlists = dict(allowlists)
        self._pairing_on = pairing_on
        self._clock = clock
        self._known: dict[tuple[str, str], _Known] = {}
        self._refused: dict[tuple[str, str, str], float] = {}
        self._stranger_commands: dict[str, StrangerCommand] = {}

    def on_stranger_command(self, name: str, handler: StrangerCommand) -> None:
        """Let strangers send `/name ARGS` privately: `handler` answers it."""
        self._stranger_commands[name.lower()] = handler

    async def screen(self, inbound: Inbound) -> Admission:
        """Whether the sender of `inbound` is answered, and what they are told if not."""
        if inbound.channel in LOCAL_CHANNELS:
            return ADMIT
        standing = await self._standing(inbound.channel, inbound.sender_id)
        if standing is not None and standing.status == ACTIVE:
            if standing.name == inbound.sender_id and inbound.sender_name != inbound.sender_id:
                await self._people.name_seeded(
                    standing.user_id, inbound.channel, inbound.sender_id, inbound.sender_name
                )
            return ADMIT
        if standing is not None and standing.status == BLOCKED:
            return SILENCE
        allowlist = self._allowlists.get(inbound.channel)
        if standing is None and allowlist is None:
            return ADMIT  # a channel without an allowlist: created on first contact
        if standing is None and allowlist is not None:
            if allowlist.allows(inbound.sender_id, inbound.sender_username):
                await self._people.add(
                    inbound.channel,
                    inbound.sender_id,
                    inbound.sender_name,
                    username=inbound.sender_username,
                )
                return ADMIT
        return await self._stranger(inbound)

    async def _stranger(self, inbound: Inbound) -> Admission:
        who = f"{inbound.channel}:{inbound.sender_id}"
        if not inbound.is_direct:
            key = (inbound.channel, inbound.chat_id, inbound.sender_id)
            now = self._clock()
            if now - self._refused.get(key, float("-inf")) < GROUP_REFUSAL_EVERY:
                return SILENCE
            if len(self._refused) > CACHE_SIZE:
                self._refused.clear()
            self._refused[key] = now
            log.info("refused %s in a group", who)
            return Admission(False, refusal(inbound.channel, inbound.sender_id))
        stranger = Stranger(
            inbound.channel,
            inbound.sender_id,
            inbound.sender_name,
            inbound.sender_username,
            inbound.chat_id,
        )
        command = _COMMAND.fullmatch(inbound.text.strip())
        if command is not None and command.group(1).lower() in self._stranger_commands:
            handler = self._stranger_commands[command.group(1).lower()]
            return Admission(False, await handler(stranger, (command.group(2) or "").strip()))
        if not self._pairing_on:
            log.info("refused %s (pairing is off)", who)
            return Admission(False, refusal(inbound.channel, inbound.sender_id))
        return Admission(False, await self._pairing.request(stranger))

    async def _standing(self, channel: str, sender_id: str) -> Standing | None:
        key = (channel, sender_id)
        known = self._known.get(key)
        generation = self._people.generation
        if known is not None and known.generation == generation and known.until > self._clock():
            return known.standing
        standing = await self._people.standing(channel, sender_id)
        if standing is not None and standing.status == ACTIVE:
            if len(self._known) > CACHE_SIZE:
                self._known.clear()
            self._known[key] = _Known(standing, self._clock() + CACHE_SECONDS, generation)
        else:
            self._known.pop(key, None)
        return standing
