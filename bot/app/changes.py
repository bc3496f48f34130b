"""Wiring the replicas' "this changed" notices (memory/db/notices.py) to what caches.

Each replica caches people (the doorman's "let in" for 2 s, accounts' persons for 5 s,
persons by id), private conversations by chat, and people's active skills. A change
made in one replica is told to all by a notice, and each drops what it holds about
that person; the time limits stay as the fallback for a lost notice, and a replica
whose listening connection came back drops its people caches whole.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.chat.sessions import SessionManager
from memory.conversations import ConversationStore
from memory.db.notices import Notices
from memory.people import PeopleStore
from memory.skills import UserSkillStore


def listen_for_changes(
    notices: Notices,
    people: PeopleStore,
    sessions: SessionManager,
    store: ConversationStore,
    skill_store: UserSkillStore,
) -> Callable[[tuple[int, ...]], None]:
    """Drop what this replica caches when another one says it changed; returns the
    listener that tells the others about people this one linked or unlinked."""

    def person_changed(key: str) -> None:
        ids = (int(key),)
        people.heard()  # the doorman's "let in"
        sessions.forget_people(ids)
        store.forget_users(ids)
        skill_store.forget(ids)

    def missed_notices() -> None:
        people.heard()
        sessions.accounts.forget_all()

    def tell_others(user_ids: tuple[int, ...]) -> None:
        for user_id in user_ids:
            notices.announce("people", user_id)

    notices.on("people", person_changed)
    notices.on("skills", lambda key: skill_store.forget((int(key),)))
    notices.on_resumed(missed_notices)
    return tell_others
