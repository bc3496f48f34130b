"""Chinese, Japanese and Korean in the full-text index: overlapping character bigrams.

Chinese and Japanese are written without spaces, and Korean glues particles to its
words ("서울에서", in Seoul), so the word tokenizers of FTS5 (`unicode61`) and
PostgreSQL see a whole clause as one token and find nothing inside it. Two answers
were measured (docs/design.md, Search): FTS5's `trigram` tokenizer matches only
substrings of three or more characters — most Chinese words have two — and shares no
trigram between "我对花生过敏" and the question "我对什么过敏"; a segmenter (jieba)
is Chinese only and has no twin inside PostgreSQL. What both databases can do alike
is the classic CJK bigram index: each run of CJK characters is indexed as its
characters and its overlapping pairs ("上海开会" → 上 海 开 会 上海 海开 开会), and a
query's runs are asked as the same (pairs alone missed a quarter of the facts of the
Chinese set in bench/memory_recall.py that pairs and characters find); BM25 then
weighs rare pairs (过敏) over common ones (什么), as it does English words.

`index_text` is the text as indexed: CJK runs replaced by their grams, everything
else as written, so English keeps its stemming and stop words. SQLite calls it from
the FTS5 triggers as the SQL function `clawling_search_text` (registered on every
connection, memory/db/sqlite_inline.py); PostgreSQL has a twin in SQL,
`SEARCH_TEXT_FUNCTION`, used by the generated `search_vector`. Both make the same
tokens (tests/memory/retrieval/test_cjk.py compares them).
"""

from __future__ import annotations

import re

# Han (with extension A, compatibility ideographs, the iteration marks 々〆〇 and the
# supplementary planes), hiragana, katakana (with the long-vowel mark ー and half-width
# forms, without the middle dot ・), Hangul syllables and jamo. Written once, for
# Python's `re` and PostgreSQL's regular expressions alike.
CJK_RANGES = (
    r"\u3005-\u3007\u3041-\u3096\u309d-\u309f\u30a1-\u30fa\u30fc-\u30ff\u31f0-\u31ff"
    r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
    r"\u1100-\u11ff\u3131-\u318e\uac00-\ud7a3"
)
_ASTRAL = r"\U00020000-\U0003134f"
CJK_RUN = re.compile(f"[{CJK_RANGES}{_ASTRAL}]+")
CJK_SPLIT = re.compile(f"([{CJK_RANGES}{_ASTRAL}]+)")

# Characters of one text whose grams are indexed: beyond it, a PostgreSQL tsvector
# (at most 1 MB) could overflow, and an insert must never fail on size.
MAX_GRAM_CHARS = 30_000

SQL_FUNCTION = "clawling_search_text"


def has_cjk(text: str) -> bool:
    return not text.isascii() and CJK_RUN.search(text) is not None


def index_grams(run: str) -> list[str]:
    """What one CJK run is indexed as: each character, then each overlapping pair."""
    return list(run) + [run[i : i + 2] for i in range(len(run) - 1)]


def query_grams(run: str) -> list[str]:
    """What one CJK run of a query asks for: its pairs, then its characters. The
    characters find one-character words ("猫", "寿司を食べた" asking "お寿司") that no
    pair of a question shares; BM25 weighs the common ones (的, 我) near zero."""
    return [run[i : i + 2] for i in range(len(run) - 1)] + list(run)


def index_text(text: str | None) -> str | None:
    """The text as the full-text index reads it: CJK runs become their grams (appended,
    space-separated), all else is unchanged. The SQLite function behind the triggers."""
    if text is None or not has_cjk(text):
        return text
    runs = CJK_RUN.findall(text[:MAX_GRAM_CHARS])
    grams = [gram for run in runs for gram in index_grams(run)]
    return CJK_RUN.sub(" ", text) + " " + " ".join(grams)


# The same as `index_text`, in PostgreSQL's SQL: immutable, so a generated column may
# call it. Runs come from regexp_matches, their characters from regexp_split_to_table
# (substr() would walk a multibyte string from its start for every character), each
# character's successor from lead().
SEARCH_TEXT_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {SQL_FUNCTION}(t text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
SELECT CASE WHEN t !~ '[{CJK_RANGES}{_ASTRAL}]' THEN t ELSE
    regexp_replace(t, '[{CJK_RANGES}{_ASTRAL}]+', ' ', 'g') || ' ' || coalesce((
        SELECT string_agg(c || CASE WHEN n IS NULL THEN '' ELSE ' ' || c || n END, ' ')
        FROM (
            SELECT s.c, lead(s.c) OVER (PARTITION BY m.r ORDER BY s.k) AS n
            FROM regexp_matches(left(t, {MAX_GRAM_CHARS}), '[{CJK_RANGES}{_ASTRAL}]+', 'g')
                     WITH ORDINALITY AS m(g, r),
                 regexp_split_to_table(m.g[1], '') WITH ORDINALITY AS s(c, k)
        ) AS pairs
    ), '')
END
$fn$
"""
