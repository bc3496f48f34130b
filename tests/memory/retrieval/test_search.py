"""Message search on real SQLite and PostgreSQL: ranking aids, filters, scopes, index sync."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from memory.db.models import User
from memory.history import History, HistoryLine
from memory.privacy import PrivacyStore
from memory.retrieval.fulltext import select_words
from memory.retrieval.scopes import MessageFilter, Scope
from memory.retrieval.search import FREQUENT, RECENT_WINDOW, Searcher, fuse
from memory.summaries import SummaryStore
from tests.memory.conftest import T0, days, group, person


async def test_finds_stemmed_words_with_dates_and_ignores_function_words(
    engine: AsyncEngine,
) -> None:
    alice = await person(engine, "alice")
    await alice.says("I am painting the kitchen blue", at=T0)
    await alice.says("The weather is lovely", at=T0 + days(1))
    hits = await Searcher(engine).search_messages(Scope(alice.user.id), "Did I paint anything?")
    assert hits[0].text == "I am painting the kitchen blue"
    assert hits[0].at == T0
    assert await Searcher(engine).search_messages(Scope(alice.user.id), "the and of is") == []


async def test_a_named_month_ranks_messages_from_then_first(engine: AsyncEngine) -> None:
    alice = await person(engine, "alice")
    await alice.says("Viewing a flat near the river", at=T0.replace(month=3))
    await alice.says("Viewing a flat near the park", at=T0.replace(month=5))
    await alice.says("Viewing a flat near the station", at=T0.replace(month=7))
    searcher = Searcher(engine)
    hits = await searcher.search_messages(Scope(alice.user.id), "what about the flat in May?")
    assert hits[0].text == "Viewing a flat near the park"
    window = MessageFilter(since=T0.replace(month=7, day=1))
    hits = await searcher.search_messages(Scope(alice.user.id), "flat", where=window)
    assert [h.text for h in hits if "flat" in h.text] == ["Viewing a flat near the station"]


async def test_the_answer_next_to_the_question_is_found(engine: AsyncEngine) -> None:
    alice = await person(engine, "alice")
    for i in range(6):
        await alice.says(f"filler message number {i}", reply=f"filler answer {i}")
    await alice.says("Which dentist did Maria recommend?", reply="Doctor Okafor on Elm Street.")
    for i in range(6, 12):
        await alice.says(f"filler message number {i}", reply=f"filler answer {i}")
    hits = await Searcher(engine).search_messages(
        Scope(alice.user.id), "Maria dentist recommendation", limit=3
    )
    assert "Doctor Okafor on Elm Street." in [h.text for h in hits]


async def test_scopes_keep_people_and_chats_apart(engine: AsyncEngine) -> None:
    alice = await person(engine, "alice")
    bob = await person(engine, "bob")
    room = await group(engine)
    await alice.says("my secret password hint is pelican")
    await bob.says("bob likes the pelican at the zoo")
    await alice.says("pelican pictures for the group", chat=room)
    searcher = Searcher(engine)

    alice_sees = {h.text for h in await searcher.search_messages(Scope(alice.user.id), "pelican")}
    assert not alice_sees & {"bob likes the pelican at the zoo", "noted for Bob"}
    assert "my secret password hint is pelican" in alice_sees
    bob_sees = {h.text for h in await searcher.search_messages(Scope(bob.user.id), "pelican")}
    assert bob_sees <= {"bob likes the pelican at the zoo", "noted for Bob"}
    assert "bob likes the pelican at the zoo" in bob_sees
    # In the group: only the group's own messages, nobody's private chat.
    in_group = await searcher.search_messages(Scope(bob.user.id, room.id), "pelican password")
    assert {h.text for h in in_group} <= {"pelican pictures for the group", "noted for Alice"}
    assert "pelican pictures for the group" in {h.text for h in in_group}


async def test_live_context_can_be_left_out(engine: AsyncEngine) -> None:
    alice = await person(engine, "alice")
    await alice.says("the cat is called Miso")
    start = await SummaryStore(engine).window_start(alice.chat.id)
    skip = MessageFilter(skip_conversation=alice.chat.id, skip_from_turn=start)
    searcher = Searcher(engine)
    assert await searcher.search_messages(Scope(alice.user.id), "cat Miso", where=skip) == []
    assert await searcher.search_messages(Scope(alice.user.id), "cat Miso") != []


async def test_recall_sees_what_leaves_the_context_and_other_conversations(
    engine: AsyncEngine,
) -> None:
    alice = await person(engine, "alice")
    await alice.says("the cat is called Miso")
    await alice.says("the dog is called Rex")
    first = (await alice.store.load_context(alice.chat.id)).next_turn - 2
    searcher = Searcher(engine)
    scope = Scope(alice.user.id)

    def live_from(turn: int) -> MessageFilter:
        return MessageFilter(skip_conversation=alice.chat.id, skip_from_turn=turn)

    # Everything is in the live context: nothing to recall (asked twice: not cached).
    assert await searcher.search_messages(scope, "cat Miso", where=live_from(first)) == []
    assert await searcher.search_messages(scope, "cat Miso", where=live_from(first)) == []
    # The context moves past the first turn: it can be recalled, the second cannot.
    moved = live_from(first + 1)
    assert "the cat is called Miso" in {
        h.text for h in await searcher.search_messages(scope, "cat Miso", where=moved)
    }
    assert await searcher.search_messages(scope, "dog Rex", where=moved) == []
    # A message in another conversation is outside this one's context from the start.
    room = await group(engine)
    await alice.says("my cat Miso met the group", chat=room)
    found = await searcher.search_messages(scope, "cat Miso", where=live_from(first))
    assert found[0].text == "my cat Miso met the group"


async def test_deleted_messages_leave_the_index(engine: AsyncEngine) -> None:
    alice = await person(engine, "alice")
    bob = await person(engine, "bob")
    await alice.says("remember the violin lesson")
    await bob.says("violin concert tonight")
    searcher = Searcher(engine)
    await PrivacyStore(engine).erase(alice.user.id)
    assert await searcher.search_messages(Scope(alice.user.id), "violin") == []
    async with engine.begin() as connection:
        await connection.execute(delete(User).where(User.id == bob.user.id))
    assert await searcher.search_messages(Scope(bob.user.id), "violin") == []
    # New messages are indexed after the deletions.
    await alice.says("violin again")
    found = await searcher.search_messages(Scope(alice.user.id), "violin")
    assert found[0].text == "violin again"


def test_reciprocal_rank_fusion_rewards_agreement() -> None:
    fused = fuse([[1, 2, 3], [3, 1, 4]])
    assert max(fused, key=lambda k: fused[k]) == 1
    assert fused[3] > fused[2] and fused[4] < fused[2]


async def test_very_frequent_words_still_find_something(engine: AsyncEngine) -> None:
    history = History(engine, Searcher(engine))
    user = await history.ensure_user("test:many")
    lines = [
        HistoryLine(f"r{i}", "me", f"common chatter number {i}", T0 + days(i % 30))
        for i in range(FREQUENT + 50)
    ]
    lines.append(HistoryLine("needle", "me", "common words around a zeppelin", T0))
    await history.import_lines(user, lines)
    scope = Scope(user.id)
    searcher = history.searcher
    assert (await searcher.search_messages(scope, "common zeppelin"))[0].ref == "needle"
    # An unknown word must not hide the frequent one.
    assert await searcher.search_messages(scope, "common chatter nonexistentword") != []


def test_rare_words_pick_candidates() -> None:
    counts = {"common": FREQUENT, "rare": 3, "absent": 0}
    assert select_words(["common", "rare", "absent"], counts, FREQUENT) == ["rare"]
    assert select_words(["common", "absent"], counts, FREQUENT) == ["common", "absent"]


async def test_only_frequent_words_rank_the_newest_messages(engine: AsyncEngine) -> None:
    history = History(engine, Searcher(engine))
    user = await history.ensure_user("test:chatty")
    count = RECENT_WINDOW + FREQUENT
    lines = [
        HistoryLine(f"r{i}", "me", f"common chatter {i}", T0 + days(i % 9)) for i in range(count)
    ]
    await history.import_lines(user, lines)
    hits = await history.searcher.search_messages(Scope(user.id), "common chatter", limit=50)
    assert len(hits) == 50
    assert all(int(h.ref[1:]) >= FREQUENT - 5 for h in hits)
