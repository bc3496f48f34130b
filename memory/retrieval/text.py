"""Turning free text into safe search terms.

Every query, whatever it contains (search syntax, quotes, SQL, binary noise,
megabytes of it), is reduced to a short list of plain words before it comes
near a full-text engine, so no input can be a syntax error there.
"""

from __future__ import annotations

import re

from memory.retrieval.cjk import CJK_RANGES, CJK_SPLIT, has_cjk, query_grams

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


# Chinese, Japanese and Korean function characters (pronouns, particles, question
# words): asked alone, or paired with each other ("什么", "我的"), they say nothing about
# what a message is about, like the English stop words, and each matches most messages.
CJK_STOP = frozenset(
    "的了是我你他她它们們在有和就也都不吗嗎呢吧啊呀么麼什怎哪谁誰这這那个個说說过過会會"
    "要能到着著给給对對把被让讓从從还還很"
    "のはがをにでとももたてしいかなよねだ"
    "이가은는을를에의도요고다"
)


def terms(text: str, *, limit: int = MAX_TERMS) -> list[str]:
    """The distinct content words of `text`, lower-cased, in order of appearance.

    Chinese, Japanese and Korean runs become their character pairs and characters, as
    the index holds them (memory/retrieval/cjk.py): "上海开会" asks for 上海, 海开, 开会,
    上, 海, 开 and 会; function characters alone or paired (`CJK_STOP`) are dropped.
    """
    found: list[str] = []
    seen: set[str] = set()
    for word in _words(text[:MAX_QUERY_CHARS].lower()):
        if word in STOPWORDS or word in seen or len(word) > MAX_TERM_CHARS:
            continue
        if len(word) <= 2 and all(c in CJK_STOP for c in word):
            continue
        seen.add(word)
        found.append(word)
        if len(found) >= limit:
            break
    return found


def _words(text: str) -> list[str]:
    words = []
    for match in WORD.finditer(text):
        word = match.group()
        if not has_cjk(word):
            words.append(word)
            continue
        for i, part in enumerate(CJK_SPLIT.split(word)):
            if i % 2:
                words.extend(query_grams(part))
            elif part:
                words.append(part)
    return words


def fts5_query(words: list[str], scope_token: str) -> str:
    """An FTS5 MATCH expression: the scope token AND any of the words.

    Words are plain letters/digits (see `terms`), quoted as FTS5 strings, so
    the expression is always valid.
    """
    anyof = " OR ".join(f'"{word}"' for word in words)
    return f'scope : "{scope_token}" AND {{content label}} : ({anyof})'


# Tokens per character by script, for what tokenizers of the models people use make of
# it (cl100k/o200k, Qwen, DeepSeek, Llama): about four Latin characters to a token,
# three of Cyrillic, Greek, Arabic or Hebrew, two of Indic scripts or Thai, and about a
# token for each Chinese, Japanese or Korean character or emoji. Estimates err high
# rather than low, and the per-model calibration (bot/llm/window.py) corrects them
# against the `prompt_tokens` the endpoint reports.
_SCRIPTS = re.compile(
    f"([{CJK_RANGES}\U00020000-\U0003134f\U0001f000-\U0001faff]+)"
    "|([\u0900-\u0dff\u0e00-\u0eff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff]+)"
    "|([\u0370-\u058f\u0590-\u05ff\u0600-\u06ff\u0750-\u077f\u10a0-\u10ff]+)"
)
_RATES = (1.0, 0.5, 1 / 3)
LATIN_RATE = 0.25


def estimate_tokens(text: str) -> int:
    """A rough token count for budgeting: characters weighed by their script's rate
    (four Latin characters to a token, one Chinese character to a token)."""
    if text.isascii():
        return len(text) // 4 + 1
    counted = [0, 0, 0]
    for match in _SCRIPTS.finditer(text):
        group = match.lastindex or 1
        counted[group - 1] += match.end() - match.start()
    rest = len(text) - sum(counted)
    weighed = sum(n * rate for n, rate in zip(counted, _RATES, strict=True))
    return int(rest * LATIN_RATE + weighed) + 1
