"""PeopleStore's guarded change and UserSkillStore's waiting drafts, on both databases."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from memory.people import BLOCKED, MEMBER, OWNER, REMOVED, PeopleStore
from memory.skills import UserSkillStore


async def test_a_change_that_would_leave_no_active_owner_is_not_made(engine: AsyncEngine) -> None:
    people = PeopleStore(engine)
    olga = await people.add("telegram", "1", "Olga", role=OWNER)
    max_ = await people.add("slack", "U2", "Max")
    assert not await people.change_keeping_an_owner(olga.id, role=MEMBER)
    assert not await people.change_keeping_an_owner(olga.id, status=BLOCKED)
    assert not await people.change_keeping_an_owner(olga.id, role=OWNER, status=REMOVED)
    assert await people.change_keeping_an_owner(max_.id, status=BLOCKED)  # not an owner
    # An owner made blocked is no owner to rely on.
    assert await people.change_keeping_an_owner(max_.id, role=OWNER)
    assert not await people.change_keeping_an_owner(olga.id, role=MEMBER)
    assert await people.change_keeping_an_owner(max_.id, status="active")
    assert await people.change_keeping_an_owner(olga.id, role=MEMBER)
    assert [p.label for p in await people.owners()] == ["slack:U2"]


async def test_two_owners_demoting_each_other_at_once_leave_one_owner(engine: AsyncEngine) -> None:
    people = PeopleStore(engine)
    first = await people.add("telegram", "1", "Olga", role=OWNER)
    second = await people.add("telegram", "2", "Sam", role=OWNER)
    for _ in range(5):
        done = await asyncio.gather(
            people.change_keeping_an_owner(first.id, role=MEMBER),
            people.change_keeping_an_owner(second.id, role=MEMBER),
        )
        assert sorted(done) == [False, True]
        assert await people.count_active_owners() == 1
        await people.set_role(first.id, OWNER)
        await people.set_role(second.id, OWNER)


async def test_owners_see_everyone_s_waiting_drafts(engine: AsyncEngine) -> None:
    people = PeopleStore(engine)
    ann = await people.add("telegram", "1", "Ann")
    bob = await people.add("slack", "U2", "Bob")
    skills = UserSkillStore(engine)
    await skills.propose(ann.id, "review", "d", "x")
    draft = await skills.propose(bob.id, "review", "d", "y")
    await skills.propose(bob.id, "plan", "d", "z")
    assert [(d.user_id, d.name) for d in await skills.waiting()] == [
        (ann.id, "review"),
        (bob.id, "review"),
        (bob.id, "plan"),
    ]
    await skills.decide(draft.id, approve=True)
    assert [d.user_id for d in await skills.waiting("review")] == [ann.id]
