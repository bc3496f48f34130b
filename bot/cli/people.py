"""People in the admin commands: named `platform:id` (telegram:42, slack:U123,
console:alice) in what is typed and what is printed, never by internal row ids.

A person may have linked several platform accounts; they are shown by the oldest one,
with their display name: `telegram:42 (Ann)`. Any of their accounts finds them.
"""

from __future__ import annotations

from bot.app import App
from memory.conversations import UserRecord
from memory.history import BadUserName


class UnknownPerson(Exception):
    """A `--user` that is malformed or names nobody stored: the message says which."""


async def find_person(app: App, name: str) -> UserRecord:
    """The person with the account `platform:id`."""
    try:
        user = await app.memory.history.find_user(name)
    except BadUserName as exc:
        raise UnknownPerson(str(exc)) from None
    if user is None:
        raise UnknownPerson(f"no user {name.strip()} is stored (check the platform:id)")
    return user


class People:
    """Labels for the people in one listing, each looked up once."""

    def __init__(self, app: App) -> None:
        self._app = app
        self._known: dict[int, tuple[str, str]] = {}

    async def label(self, user_id: int) -> str:
        """`platform:id (Name)` for the person, e.g. `telegram:42 (Ann)`; the name is left
        out when it only repeats the id."""
        account, name = await self._lookup(user_id)
        shown_id = account.partition(":")[2]
        return f"{account} ({name})" if name and name != shown_id else account

    async def account(self, user_id: int) -> str:
        """The person's `platform:id` alone."""
        return (await self._lookup(user_id))[0]

    async def name(self, user_id: int) -> str:
        """The person's display name."""
        return (await self._lookup(user_id))[1]

    async def _lookup(self, user_id: int) -> tuple[str, str]:
        if user_id not in self._known:
            accounts = await self._app.store.identities(user_id)
            user = await self._app.store.get_user(user_id)
            # Every person is created with an account; "unknown" only if rows were edited.
            account = accounts[0] if accounts else "unknown:?"
            self._known[user_id] = (account, user.name if user is not None else "")
        return self._known[user_id]
