"""The CJK grams: the query side, and SQLite's Python function and PostgreSQL's SQL twin
making the same tokens from any text."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memory.retrieval.cjk import SEARCH_TEXT_FUNCTION, SQL_FUNCTION, index_text
from memory.retrieval.fulltext import only_frequent, select_words
from memory.retrieval.text import terms

PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

SAMPLES = [
    "",
    "plain English stays as it is",
    "我明天去上海开会",
    "東京で寿司を食べた。人々、コーヒー！",
    "다음 주에 서울에서 만나요",
    "明天的meeting改到3点了，記得帶laptop。",
    "𠀀𠀁 a 𠀂",
    "ｶﾀｶﾅ・カタカナ",
]

TEXT = st.text(
    alphabet=st.sampled_from(list("上海开会生日過敏東京寿司をのコーヒー서울에 abc1,。・ー\n")),
    max_size=40,
)


def test_queries_ask_for_pairs_and_characters() -> None:
    assert terms("上海开会") == ["上海", "海开", "开会", "上", "海", "开"]  # 会 alone: "will"
    assert terms("猫") == ["猫"]
    assert terms("Where is 上海?") == ["上海", "上", "海"]
    assert terms("iPhone15手机") == ["iphone15", "手机", "手", "机"]
    assert terms("서울에서") == ["서울", "울에", "에서", "서", "울"]


def test_function_characters_alone_or_paired_are_not_asked() -> None:
    assert terms("我对什么过敏？") == ["过敏", "敏"]
    assert terms("什么") == [] and terms("的") == []


def test_a_single_character_needs_to_be_rarer_than_a_word_to_pick_candidates() -> None:
    counts = {"过敏": 40, "敏": 700, "海": 300}
    assert select_words(["过敏", "敏", "海"], counts, 2_000) == ["过敏", "海"]
    assert not only_frequent({"敏": 700, "海": 300}, 2_000)
    assert only_frequent({"敏": 700, "的": 600}, 2_000)


def test_the_index_keeps_other_text_and_adds_characters_and_pairs() -> None:
    assert index_text("plain text") == "plain text"
    assert index_text(None) is None
    indexed = index_text("去上海 now")
    assert indexed is not None
    assert indexed.split() == ["now", "去", "上", "海", "去上", "上海"]


@pytest.fixture(scope="module")
def postgres() -> Iterator[psycopg.Connection]:
    connection = psycopg.connect(PG_URL)
    connection.execute("BEGIN")
    connection.execute(SEARCH_TEXT_FUNCTION)
    yield connection
    connection.execute("ROLLBACK")
    connection.close()


def _same_tokens(postgres: psycopg.Connection, text: str) -> None:
    row = postgres.execute(f"SELECT {SQL_FUNCTION}(%s)", (text,)).fetchone()
    assert row is not None
    assert Counter(row[0].split()) == Counter((index_text(text) or "").split())


@pytest.mark.parametrize("text", SAMPLES)
def test_postgres_makes_the_same_tokens_as_sqlite(postgres: psycopg.Connection, text: str) -> None:
    _same_tokens(postgres, text)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=TEXT)
def test_postgres_makes_the_same_tokens_for_any_text(
    postgres: psycopg.Connection, text: str
) -> None:
    _same_tokens(postgres, text)
