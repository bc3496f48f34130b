"""Which person each platform account is: a short-lived cache in front of the store.

Every message asks, and the answer changes only when accounts are linked or unlinked
(bot/people/linking.py). In this process the linking rules tell this cache at once
(`forget_people`), and so does another replica's `people:<id>` notice
(memory/db/notices.py); if that notice is lost, an account is looked up again after
`ACCOUNT_CACHE_SECONDS`, and a message it stores meanwhile for a person merged
away (`PersonGone`) is stored for the account's person of now (see the session manager).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from memory.conversations import ConversationStore, UserRecord

ACCOUNT_CACHE_SECONDS = 5.0
CACHE_SIZE = 10_000


@dataclass(frozen=True)
class _Known:
    user: UserRecord
    at: float  # time.monotonic() when it was looked up


class Accounts:
    def __init__(self, store: ConversationStore, size: int = CACHE_SIZE) -> None:
        self._store = store
        self._size = size
        self._known: OrderedDict[tuple[str, str], _Known] = OrderedDict()

    async def person(self, channel: str, sender_id: str, sender_name: str) -> UserRecord:
        """The account's person (created on first contact)."""
        key = (channel, sender_id)
        known = self._known.get(key)
        if known is not None and time.monotonic() - known.at < ACCOUNT_CACHE_SECONDS:
            return known.user
        user = await self._store.resolve_identity(channel, sender_id, sender_name)
        self._known[key] = _Known(user, time.monotonic())
        self._known.move_to_end(key)
        if len(self._known) > self._size:
            self._known.popitem(last=False)
        return user

    def forget(self, channel: str, sender_id: str) -> None:
        self._known.pop((channel, sender_id), None)

    def forget_all(self) -> None:
        """Anything may have changed (notices from other replicas were lost)."""
        self._known.clear()

    def forget_people(self, user_ids: tuple[int, ...]) -> None:
        """These people changed (accounts linked or unlinked): their accounts are looked up
        again on their next message."""
        for key in [k for k, known in self._known.items() if known.user.id in user_ids]:
            del self._known[key]
