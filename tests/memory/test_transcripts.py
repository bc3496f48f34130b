"""Reading a person's conversations back: their private chats and their side of groups,
never another person's private chat or words, newest first, paged backwards."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from memory.conversations import NewMessage
from memory.transcripts import Transcripts
from tests.memory.conftest import T0, days, group, person


async def test_a_person_sees_their_chats_and_their_side_of_groups(engine: AsyncEngine) -> None:
    ana, bob = await person(engine, "ana"), await person(engine, "bob")
    room = await group(engine)
    await ana.says("ana in private", "hello ana", at=T0)
    await bob.says("bob in private", "hello bob", at=T0 + days(1))
    await bob.says("bob in the group", "answer for bob", at=T0 + days(2), chat=room)
    await ana.says("ana in the group", "answer for ana", at=T0 + days(3), chat=room)
    # A tool step in Ana's chat: not something said.
    context = await ana.store.load_context(ana.chat.id)
    await ana.store.record_step(
        ana.chat.id, ana.user.id, context.next_turn, [NewMessage("tool", "x")]
    )
    transcripts = Transcripts(engine)

    chats = await transcripts.chats(ana.user.id)
    assert [(c.id, c.is_direct, c.messages) for c in chats] == [
        (room.id, False, 2),
        (ana.chat.id, True, 2),
    ]
    assert await transcripts.count(ana.user.id) == 2
    in_group = await transcripts.lines(ana.user.id, room.id)
    assert [line.text for line in in_group.lines] == ["ana in the group", "answer for ana"]
    assert not in_group.earlier
    assert await transcripts.chat(ana.user.id, bob.chat.id) is None
    assert (await transcripts.lines(ana.user.id, bob.chat.id)).lines == []


async def test_someone_elses_private_chat_is_never_theirs(engine: AsyncEngine) -> None:
    ana, bob = await person(engine, "ana"), await person(engine, "bob")
    # A message of Ana's stored in Bob's private chat (as after accounts were split).
    await ana.says("ana somehow here", at=T0, chat=bob.chat)
    transcripts = Transcripts(engine)
    assert await transcripts.chats(ana.user.id) == []
    assert await transcripts.count(ana.user.id) == 0
    assert await transcripts.chat(ana.user.id, bob.chat.id) is None


async def test_pages_go_back_from_the_newest(engine: AsyncEngine) -> None:
    ana = await person(engine, "ana")
    for n in range(5):
        await ana.says(f"question {n}", f"answer {n}", at=T0 + days(n))
    transcripts = Transcripts(engine)
    newest = await transcripts.lines(ana.user.id, ana.chat.id, limit=4)
    assert [line.text for line in newest.lines] == [
        "question 3",
        "answer 3",
        "question 4",
        "answer 4",
    ]
    assert newest.earlier
    older = await transcripts.lines(ana.user.id, ana.chat.id, before=newest.lines[0].id, limit=4)
    assert [line.text for line in older.lines][-1] == "answer 2"
    oldest = await transcripts.lines(ana.user.id, ana.chat.id, before=older.lines[0].id, limit=4)
    assert [line.text for line in oldest.lines] == ["question 0", "answer 0"]
    assert not oldest.earlier
    chat = await transcripts.chat(ana.user.id, ana.chat.id)
    # The replies were stored as they were written (now), after the questions.
    assert chat is not None and chat.messages == 10
    assert chat.last_at == newest.lines[-1].at and chat.last_at > T0 + days(4)
