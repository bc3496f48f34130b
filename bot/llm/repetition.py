"""Cutting off an answer that repeats itself: a small model in a loop writes the same
sentence until the output cap, and that reply would be stored and sent back in every
later request.

The sign is the end of the text being one unit repeated: over the last `SPAN`
characters, some period of at most `MAX_UNIT` characters (so at least three copies).
Shorter runs are left alone: a rule line, a table's separator or a column of zeros are
legitimate and short. The check looks only at the tail and runs once per `EVERY` new
characters, so a streamed answer pays it about once per 50 tokens.
"""

from __future__ import annotations

SPAN = 1_200
MAX_UNIT = 400
EVERY = 200
CUT_MARK = "…(cut: the answer was repeating itself)"


def repeating_from(text: str) -> int | None:
    """Where to cut `text` when it ends in a loop (after one copy of the repeated unit),
    or None when it does not."""
    if len(text) < SPAN:
        return None
    tail = text[-SPAN:]
    last = tail[-1]
    for unit in range(1, MAX_UNIT + 1):
        # A cheap test first: a periodic tail repeats its last character `unit` back.
        if tail[-1 - unit] != last or tail[unit:] != tail[:-unit]:
            continue
        # The loop may have begun before the tail: walk back to where the period starts.
        start = len(text) - SPAN
        while start > 0 and text[start - 1] == text[start - 1 + unit]:
            start -= 1
        # Where the first copy ends, moved on to the end of its word: a copy is found
        # at any phase of the unit, and should not stop mid-word.
        end = start + unit
        if not any(char.isspace() for char in text[start:end]):
            return end  # a unit without spaces (`!`, `ab`) has no words to finish
        while end < len(text) and end < start + 2 * unit and not text[end].isspace():
            end += 1
        return end
    return None


def cut(text: str, start: int) -> str:
    """The text up to the repetition (one copy of the unit kept), marked as cut."""
    return f"{text[:start].rstrip()} {CUT_MARK}"


class RepetitionWatch:
    """Watches a growing answer; `check` says where to cut it, once it loops."""

    def __init__(self) -> None:
        self._next = SPAN

    def check(self, text: str) -> int | None:
        if len(text) < self._next:
            return None
        self._next = len(text) + EVERY
        return repeating_from(text)
