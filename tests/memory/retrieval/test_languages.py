"""Search in Chinese, Japanese, Korean, German and Spanish, on real SQLite and PostgreSQL:
messages and memories, words inside unspaced text, one- and two-character queries,
mixed-language messages, edits and deletions kept in the index."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncEngine

from memory.db.models import Message
from memory.memories import MemoryStore
from memory.retrieval.scopes import Scope
from memory.retrieval.search import Searcher
from tests.memory.conftest import T0, Person, days, person

# (what was said, what is asked later in other words, something else said meanwhile)
SAID_AND_ASKED = [
    ("我下周三要去上海出差，住在外滩附近的酒店。", "我什么时候去上海？", "今天天气很好，我们去公园散步了。"),
    ("我对花生过敏，吃了会起疹子。", "我对什么过敏？", "我昨天买了一本新书。"),
    ("東京の友達と寿司を食べに行きました。", "寿司はどこで食べた？", "明日は雨が降るそうです。"),
    ("다음 주에 서울에서 친구를 만나요.", "서울에서 누구를 만나요?", "오늘 점심은 김치찌개였어요."),
    ("Mein Zahnarzt heißt Doktor Weber und ist in der Lindenstraße.", "Wie heißt mein Zahnarzt?",
     "Das Wetter in Hamburg war gestern schön."),
    ("Mi hermana vive en Valencia y trabaja en un hospital.", "¿Dónde vive mi hermana?",
     "El viernes fuimos al cine con unos amigos."),
]  # fmt: skip


async def _search(engine: AsyncEngine, who: Person, query: str) -> list[str]:
    return [h.text for h in await Searcher(engine).search_messages(Scope(who.user.id), query)]


@pytest.mark.parametrize(("said", "asked", "other"), SAID_AND_ASKED)
async def test_a_fact_said_in_a_language_is_found_by_a_question_in_other_words(
    engine: AsyncEngine, said: str, asked: str, other: str
) -> None:
    ana = await person(engine, "ana")
    await ana.says(said, reply="👍", at=T0)
    await ana.says(other, reply="👌", at=T0 + days(1))
    found = await _search(engine, ana, asked)
    assert found, f"nothing found for {asked!r}"
    assert found[0] == said


async def test_one_and_two_character_words_are_found_inside_unspaced_text(
    engine: AsyncEngine,
) -> None:
    ana = await person(engine, "ana")
    await ana.says("我明天上午十点在公司开会。", reply="好的")
    await ana.says("我的猫叫小白，它很喜欢睡觉。", reply="可爱")
    await ana.says("東京タワーに行きたいです。", reply="いいですね")
    # (Replies come along as neighbours of what matched, so only the first hit counts.)
    assert (await _search(engine, ana, "开会"))[0] == "我明天上午十点在公司开会。"
    assert (await _search(engine, ana, "猫"))[0] == "我的猫叫小白，它很喜欢睡觉。"
    assert (await _search(engine, ana, "東京"))[0] == "東京タワーに行きたいです。"
    assert (await _search(engine, ana, "タワー"))[0] == "東京タワーに行きたいです。"
    # A character that is in no message finds nothing, not everything.
    assert await _search(engine, ana, "狗") == []


async def test_mixed_language_messages_are_found_by_either_language(engine: AsyncEngine) -> None:
    ana = await person(engine, "ana")
    mixed = "明天的meeting改到3点了，记得带laptop。"
    await ana.says(mixed, reply="OK")
    await ana.says("The laptop battery is dead again", reply="Oh no")
    assert (await _search(engine, ana, "meeting"))[0] == mixed
    assert (await _search(engine, ana, "明天 meeting"))[0] == mixed
    assert set((await _search(engine, ana, "laptop"))[:2]) == {
        mixed,
        "The laptop battery is dead again",
    }
    # English keeps its stemming beside the CJK grams.
    assert (await _search(engine, ana, "batteries"))[0] == "The laptop battery is dead again"


async def test_german_and_spanish_words_with_accents_are_found(engine: AsyncEngine) -> None:
    ana = await person(engine, "ana")
    await ana.says("Nächsten Montag fahre ich nach Zürich.", reply="Gute Reise")
    await ana.says("El café de la esquina abre a las siete de la mañana.", reply="Genial")
    assert (await _search(engine, ana, "Zürich"))[0] == "Nächsten Montag fahre ich nach Zürich."
    assert (await _search(engine, ana, "mañana café"))[0] == (
        "El café de la esquina abre a las siete de la mañana."
    )


async def test_memories_are_found_in_chinese_and_japanese(engine: AsyncEngine) -> None:
    ana = await person(engine, "ana")
    memories = MemoryStore(engine)
    await memories.remember(ana.user.id, "生日是三月十二日", key="生日")
    await memories.remember(ana.user.id, "对花生过敏")
    await memories.remember(ana.user.id, "好きな食べ物は寿司")
    searcher = Searcher(engine)

    async def found(query: str) -> list[str]:
        return [h.memory.content for h in await searcher.search_memories(ana.user.id, query)]

    assert (await found("我的生日是哪天？"))[0] == "生日是三月十二日"
    assert await found("过敏") == ["对花生过敏"]
    assert await found("寿司") == ["好きな食べ物は寿司"]


async def test_edited_and_deleted_cjk_messages_leave_the_index(engine: AsyncEngine) -> None:
    ana = await person(engine, "ana")
    await ana.says("我住在北京。", reply="好")
    async with engine.begin() as connection:
        await connection.execute(
            update(Message).where(Message.content == "我住在北京。").values(content="我住在深圳。")
        )
    assert await _search(engine, ana, "北京") == []
    assert (await _search(engine, ana, "深圳"))[0] == "我住在深圳。"
    async with engine.begin() as connection:
        await connection.execute(delete(Message).where(Message.content == "我住在深圳。"))
    assert await _search(engine, ana, "深圳") == []


async def test_cjk_search_stays_inside_the_scope(engine: AsyncEngine) -> None:
    ana = await person(engine, "ana")
    bo = await person(engine, "bo")
    await ana.says("我的密码提示是熊猫。", reply="好")
    await bo.says("我喜欢熊猫。", reply="好")
    assert set(await _search(engine, ana, "熊猫")) == {"我的密码提示是熊猫。", "好"}
    assert set(await _search(engine, bo, "熊猫")) == {"我喜欢熊猫。", "好"}


@pytest.mark.parametrize(
    "query",
    ["我5月8日吃了什么饺子？", "5月8日のギョーザは？", "5월 8일에 만두 먹었어요?", "Welche Knödel am 8. Mai?",
     "¿Qué dumplings el 8 de mayo?"],
)  # fmt: skip
async def test_a_date_in_the_persons_language_ranks_messages_from_then_first(
    engine: AsyncEngine, query: str
) -> None:
    ana = await person(engine, "ana")
    # May first: the middle message gets the most from its neighbours without a date.
    for month, end in ((5, "!"), (3, "."), (7, "?")):
        lunch = f"Lunch: 饺子 dumplings ギョーザ 만두 Knödel{end}"
        await ana.says(lunch, at=T0.replace(month=month, day=8))
    hits = await Searcher(engine).search_messages(Scope(ana.user.id), query)
    assert hits[0].at == T0.replace(month=5, day=8)
