"""History import: odd but valid lines are stored safely; broken lines are named."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from memory.history import History, parse_lines
from memory.retrieval.scopes import Scope
from memory.retrieval.search import Searcher


async def test_binary_looking_text_is_stored_and_searchable(engine: AsyncEngine) -> None:
    history = History(engine, Searcher(engine))
    user = await history.ensure_user("console:bob")
    good, bad = parse_lines(
        [
            '{"ref": "1", "speaker": "Bob", "text": "nul\\u0000byte and emu", "at": "2026-01-01"}',
            '{"ref": "2", "speaker": "Bob", "text": "lone \\ud800 surrogate emu", "at": "2026-01-02"}',
            '{"ref": 3, "speaker": "", "text": "numeric ref emu", "at": "2026-01-03T00:00:00+05:00"}',
            '["a list"]',
            '{"ref": "4", "speaker": "Bob", "text": "x", "at": "yesterday"}',
            '{"ref": "", "speaker": "Bob", "text": "x", "at": "2026-01-01"}',
        ]
    )
    assert [n for n, _ in bad] == [4, 5, 6]
    report = await history.import_lines(user, good)
    assert report.imported == 3
    hits = await history.searcher.search_messages(Scope(user.id), "emu")
    assert {h.ref for h in hits} == {"1", "2", "3"}
    assert "nulbyte and emu" in {h.text for h in hits}
    assert await history.ensure_user("console:bob") == user
