"""Turning free text into safe search terms.

Every query, whatever it contains (search syntax, quotes, SQL, binary noise,
megabytes of it), is reduced to a short list of plain words before it comes
near a full-text engine, so no input can be a syntax error there.
"""

from __future__ import annotations

import re

# Letters and digits only: the same split as SQLite's unicode61 tokenizer and
# PostgreSQL's parser, so a term never carries search syntax.
WORD = re.compile(r"[^\W_]+")

MAX_TERMS = 32
MAX_TERM_CHARS = 64
# Only the start of an enormous query is read; the terms come from there.
MAX_QUERY_CHARS = 20_000

# Function words that say nothing about what a message is about. A superset of
# PostgreSQL's `english` stop list, so both backends drop the same words.
STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been
    before being below between both but by can could d did do does doing don down during
    each even ever few for from further get got had has have having he her here hers
    herself him himself his how i if in into is it its itself just ll m ma me might more
    most must my myself no nor not now o of off on once only or other ought our ours
    ourselves out over own re s same shall she should so some such t than that the their
    theirs them themselves then there these they this those through to too under until up
    us ve very was we were what when where which while who whom why will with would y you
    your yours yourself yourselves
    """.split()
)


def terms(text: str, *, limit: int = MAX_TERMS) -> list[str]:
    """The distinct content words of `text`, lower-cased, in order of appearance."""
    found: list[str] = []
    seen: set[str] = set()
    for match in WORD.finditer(text[:MAX_QUERY_CHARS].lower()):
        word = match.group()
        if word in STOPWORDS or word in seen or len(word) > MAX_TERM_CHARS:
            continue
        seen.add(word)
        found.append(word)
        if len(found) >= limit:
            break
    return found


def fts5_query(words: list[str], scope_token: str) -> str:
    """An FTS5 MATCH expression: the scope token AND any of the words.

    Words are plain letters/digits (see `terms`), quoted as FTS5 strings, so
    the expression is always valid.
    """
    anyof = " OR ".join(f'"{word}"' for word in words)
    return f'scope : "{scope_token}" AND {{content label}} : ({anyof})'


def estimate_tokens(text: str) -> int:
    """A rough token count (about four characters per token) for budgeting."""
    return len(text) // 4 + 1
