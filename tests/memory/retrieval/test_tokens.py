"""Token estimates by script: what budgets and compaction plan with before the endpoint
reports real counts."""

from __future__ import annotations

import pytest

from memory.retrieval.text import estimate_tokens


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("a" * 400, 101),  # English as before: four characters to a token
        ("é" * 400, 101),  # other Latin letters alike
        ("我" * 400, 401),  # a token per Chinese character
        ("の" * 200 + "東" * 200, 401),  # Japanese kana and kanji
        ("한" * 400, 401),  # Korean
        ("я" * 300, 101),  # Cyrillic: three characters to a token
        ("ส" * 400, 201),  # Thai: two
        ("🙂" * 10, 11),  # emoji: about one each
    ],
)
def test_each_script_is_counted_at_its_own_rate(text: str, tokens: int) -> None:
    assert estimate_tokens(text) == tokens


def test_mixed_text_adds_up_its_scripts() -> None:
    english, chinese = "meeting at ten " * 10, "明天上午十点开会" * 10
    assert estimate_tokens(english + chinese) == len(english) // 4 + len(chinese) + 1
