"""The model's Markdown as Telegram messages: plain text plus entities, split to fit.

Sending text with entities (instead of MarkdownV2) means nothing has to be
escaped, so a reply can never fail to parse. Telegram counts lengths and entity
offsets in UTF-16 code units; a message holds at most 4096 of them.

What a reply writes is shown as written: the converter reads Markdown, where
`<b>` is an HTML tag (dropped) and `&amp;` an entity (decoded), so "x<y>z" would
arrive as "xz" and `/forget <id or text>` as "/forget ". `literal()` escapes just
those before converting; formatting (bold, code, lists, links) is untouched.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace

import pyromark
import telegramify_markdown
from telegramify_markdown import MessageEntity
from telegramify_markdown.converter import STANDARD_OPTIONS

log = logging.getLogger(__name__)

MAX_UNITS = 4096
# Entities inside which a cut is a last resort: a code block split in two still
# shows as two code blocks, but reads worse than a cut between blocks.
_BLOCKS = {"pre", "blockquote", "expandable_blockquote"}


@dataclass(frozen=True)
class Chunk:
    """One Telegram message: text and the entities that format it."""

    text: str
    entities: tuple[MessageEntity, ...] = ()


def units(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts it."""
    return telegramify_markdown.utf16_len(text)


# An HTML character reference as CommonMark reads it (`&amp;`, `&#60;`, `&#x3C;`).
_REFERENCE = re.compile(rb"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# Each pass escapes the outermost tags; text inside a tag may hold another. Nesting
# deeper than this is left as it is (the converter drops it).
_MAX_PASSES = 8


def literal(markdown: str) -> str:
    """The Markdown with HTML tags and character references backslash-escaped, so the
    converter shows them as text. Code spans, code blocks, autolinks (`<https://…>`)
    and link targets are left alone: there nothing is read as HTML anyway."""
    for _ in range(_MAX_PASSES):
        source = markdown.encode()
        escapes = []
        for payload, span in pyromark.events_with_range(markdown, options=STANDARD_OPTIONS):
            if not isinstance(payload, dict):
                continue
            start, end = span["start"], span["end"]
            if "InlineHtml" in payload or "Html" in payload:
                tag = source.find(b"<", start, end)
                if tag >= 0:
                    escapes.append(tag)
            elif "Text" in payload and _decoded_reference(payload["Text"], source, start, end):
                escapes.append(start)
        if not escapes:
            return markdown
        for at in sorted(escapes, reverse=True):
            source = source[:at] + b"\\" + source[at:]
        markdown = source.decode()
    return markdown


def _decoded_reference(text: str, source: bytes, start: int, end: int) -> bool:
    """Whether this piece of text is a character reference the parser decoded (in code
    it is not decoded, and needs no escape)."""
    return bool(_REFERENCE.fullmatch(source, start, end)) and text != source[start:end].decode()


def to_entities(markdown: str) -> Chunk:
    """Markdown → plain text and entities (the raw text if conversion fails)."""
    try:
        text, entities = telegramify_markdown.convert(literal(markdown))
    except Exception:
        # A converter bug must not cost the person their answer: send it unformatted.
        log.exception("Markdown conversion failed; sending plain text")
        return Chunk(markdown)
    return Chunk(text, tuple(entities))


def render(markdown: str, limit: int = MAX_UNITS) -> list[Chunk]:
    """The Markdown as one or more messages, each at most `limit` UTF-16 units."""
    whole = to_entities(markdown)
    chunks = [c for c in (_trim(c) for c in split(whole, limit)) if c.text]
    if chunks:
        return chunks
    fallback = markdown.strip() or "…"
    return [Chunk(part) for part in _hard_parts(fallback, limit)]


def preview(markdown: str, limit: int = MAX_UNITS) -> Chunk:
    """The first message of a reply still being written (what fits of it)."""
    return render(markdown, limit)[0]


def shortened(markdown: str, limit: int = MAX_UNITS) -> Chunk:
    """The Markdown as one message, cut short with "…" when it does not fit."""
    parts = render(markdown, limit - 1)
    if len(parts) == 1:
        return parts[0]
    return Chunk(parts[0].text + "…", parts[0].entities)


def split(chunk: Chunk, limit: int = MAX_UNITS) -> list[Chunk]:
    """Split at paragraph breaks, else between lines, else between words, keeping
    every entity (clipped where a cut falls inside it)."""
    offsets = _unit_offsets(chunk.text)
    if offsets[-1] <= limit:
        return [chunk]
    inside_block = _block_ranges(chunk.entities)
    pieces = []
    start = 0
    while start < len(chunk.text):
        if offsets[-1] - offsets[start] <= limit:
            end = len(chunk.text)
        else:
            end = _cut(chunk.text, offsets, start, limit, inside_block)
        pieces.append(_slice(chunk, offsets, start, end))
        start = end
    return pieces


def _unit_offsets(text: str) -> list[int]:
    """offsets[i] = UTF-16 offset of text[i]; offsets[len(text)] = total length."""
    offsets = [0] * (len(text) + 1)
    total = 0
    for i, char in enumerate(text):
        offsets[i] = total
        total += 2 if ord(char) > 0xFFFF else 1
    offsets[len(text)] = total
    return offsets


def _block_ranges(entities: tuple[MessageEntity, ...]) -> list[tuple[int, int]]:
    return [(e.offset, e.offset + e.length) for e in entities if e.type in _BLOCKS]


def _cut(
    text: str, offsets: list[int], start: int, limit: int, blocks: list[tuple[int, int]]
) -> int:
    """Where the piece starting at `start` should end (a string index)."""
    budget = offsets[start] + limit
    end = start
    while end < len(text) and offsets[end + 1] <= budget:
        end += 1

    def in_block(i: int) -> bool:
        unit = offsets[i]
        return any(lo < unit < hi for lo, hi in blocks)

    def last(predicate_at: int, lowest: int) -> int | None:
        for i in range(end, lowest, -1):
            if _is_break(text, i, predicate_at) and not in_block(i):
                return i
        return None

    # Prefer a good break in the second half of the budget; then any break at all.
    half = start + max(1, (end - start) // 2)
    for lowest in (half, start):
        for kind in (_PARAGRAPH, _LINE, _WORD):
            found = last(kind, lowest)
            if found is not None:
                return found
    for i in range(end, start, -1):  # a code block longer than a message: cut between lines
        if text[i - 1] == "\n":
            return i
    return max(end, start + 1)


_PARAGRAPH, _LINE, _WORD = 0, 1, 2


def _is_break(text: str, i: int, kind: int) -> bool:
    """Whether cutting before text[i] is a break of this kind."""
    if i <= 0 or i >= len(text):
        return False
    if kind == _PARAGRAPH:
        return text[i - 1] == "\n" and i >= 2 and text[i - 2] == "\n"
    if kind == _LINE:
        return text[i - 1] == "\n"
    return text[i - 1] == " " and text[i] != " "


def _slice(chunk: Chunk, offsets: list[int], start: int, end: int) -> Chunk:
    lo, hi = offsets[start], offsets[end]
    entities = []
    for entity in chunk.entities:
        e_lo, e_hi = max(entity.offset, lo), min(entity.offset + entity.length, hi)
        if e_hi > e_lo:
            entities.append(replace(entity, offset=e_lo - lo, length=e_hi - e_lo))
    return Chunk(chunk.text[start:end], tuple(entities))


def _trim(chunk: Chunk) -> Chunk:
    """Drop leading and trailing whitespace (Telegram would), moving entities along."""
    text = chunk.text
    head = len(text) - len(text.lstrip())
    body = text.strip()
    if not body:
        return Chunk("")
    shift = units(text[:head])
    size = units(body)
    entities = []
    for entity in chunk.entities:
        lo = max(entity.offset - shift, 0)
        hi = min(entity.offset + entity.length - shift, size)
        if hi > lo:
            entities.append(replace(entity, offset=lo, length=hi - lo))
    return Chunk(body, tuple(entities))


def _hard_parts(text: str, limit: int) -> list[str]:
    return [c.text for c in split(Chunk(text), limit)]
