"""Where a looping answer is cut, and what is left alone."""

from __future__ import annotations

import pytest

from bot.llm.repetition import CUT_MARK, SPAN, RepetitionWatch, cut, repeating_from


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("ok " + "!" * 3_000, "ok !"),
        ("Sure.\n" + "- buy milk\n" * 300, "Sure.\n- buy milk"),
        (
            "Intro. " + "The same long sentence comes back again and again here. " * 60,
            "Intro. The same long sentence comes back again and again here.",
        ),
    ],
    ids=["one-character", "one-line", "long-sentence"],
)
def test_a_loop_is_cut_after_its_first_copy(text: str, kept: str) -> None:
    start = repeating_from(text)
    assert start is not None
    assert cut(text, start) == f"{kept} {CUT_MARK}"


@pytest.mark.parametrize(
    "text",
    [
        "short " * 100,  # under the span: a short run is fine
        "".join(f"line {n}: nothing repeats here\n" for n in range(200)),
        "=" * 80 + "\n" + "".join(f"row {n} | value {n * n}\n" for n in range(150)),
        ("A paragraph of about five hundred characters. " * 11)[:500] * 3 + "The end.",
    ],
    ids=["short-run", "numbered-lines", "rule-and-rows", "ends-differently"],
)
def test_text_that_does_not_end_in_a_loop_is_left_alone(text: str) -> None:
    assert repeating_from(text) is None


def test_the_watch_finds_a_loop_at_its_first_look_past_the_span() -> None:
    watch = RepetitionWatch()
    text = ""
    found = None
    while found is None and len(text) < 20_000:
        text += "again and again "
        found = watch.check(text)
    assert found is not None
    assert len(text) < SPAN + len("again and again ")
