"""Turning a skill's text into what the model will effectively read, for the scanner.

Invisible and direction-changing characters are found (each is a finding) and
removed; the rest is NFKC-normalised, lower-cased and has look-alike letters of
other scripts folded to Latin. Line breaks are kept, so every character of the
result still maps to a line of the original. Runs of text hidden in an encoding
(base64, even wrapped over lines; hex; percent; HTML entities; backslash
escapes; rot13 where the text says so) are decoded for a second look.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import html
import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import unquote

import yaml

RULES_FILE = Path(__file__).with_name("scan_rules.yaml")


@cache
def rules_data() -> dict[str, object]:
    """The scanner's rules file, read once."""
    data = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@dataclass(frozen=True)
class CharClass:
    id: str
    message: str
    ranges: tuple[tuple[int, int], ...]


@cache
def char_classes() -> tuple[CharClass, ...]:
    classes = rules_data()["characters"]
    assert isinstance(classes, list)
    return tuple(
        CharClass(c["id"], c["message"], tuple((low, high) for low, high in c["ranges"]))
        for c in classes
    )


@cache
def class_table() -> dict[int, CharClass]:
    table: dict[int, CharClass] = {}
    for cls in char_classes():
        for low, high in cls.ranges:
            for code in range(low, high + 1):
                table[code] = cls
    return table


FORMAT_CHARACTER = CharClass(
    "format-character", "an invisible format character can hide text or split words", ()
)


@cache
def confusables() -> dict[int, str]:
    folded = rules_data()["confusables"]
    assert isinstance(folded, dict)
    return {ord(k): v for k, v in folded.items()}


_KEEP = {"\t", "\n", "\r"}
_TAGS = (0xE0000, 0xE007F)
_EMOJI_JOINER = 0x200D
_EMOJI_STYLE = {0xFE0E, 0xFE0F}


def hidden_class(text: str, index: int) -> CharClass | None:
    """The class of the invisible character at `index`, or None when it is visible
    (or part of an emoji: a joiner between pictographs, a style selector after a symbol)."""
    char = text[index]
    if char in _KEEP:
        return None
    code = ord(char)
    cls = class_table().get(code)
    if cls is None:
        if unicodedata.category(char) != "Cf":
            return None
        cls = FORMAT_CHARACTER
    if code == _EMOJI_JOINER and _pictograph(text, index - 1) and _pictograph(text, index + 1):
        return None
    if code in _EMOJI_STYLE and index > 0 and _symbol(text[index - 1]):
        return None
    return cls


def _pictograph(text: str, index: int) -> bool:
    if not 0 <= index < len(text):
        return False
    char = text[index]
    if 0x1F3FB <= ord(char) <= 0x1F3FF or char == "\ufe0f":  # skin tones, emoji style
        return True
    return ord(char) >= 0x2195 and unicodedata.category(char) == "So"  # arrows on


def _symbol(char: str) -> bool:
    return char in "#*0123456789©®" or unicodedata.category(char) in ("So", "Sm")


@dataclass(frozen=True)
class Decoded:
    line: int  # 0-based line where the encoded run starts
    kind: str  # base64, hex, percent, entities, escapes, rot13, tag characters
    text: str


@dataclass(frozen=True)
class Hidden:
    """Invisible characters of one class on one line."""

    cls: CharClass
    line: int  # 0-based line of the text
    column: int  # 1-based column of the first one
    count: int
    code: int  # the first one's code point


@dataclass(frozen=True)
class Normalised:
    text: str  # same line structure as the original
    visible: str  # the original without its invisible characters, NFKC (case kept)
    hidden: tuple[Hidden, ...]
    mixed: tuple[tuple[int, str], ...]  # (0-based line, word) mixing scripts
    smuggled: tuple[Decoded, ...] = ()  # ASCII carried by invisible tag characters


def normalise(text: str) -> Normalised:
    """What the model reads, as the scanner matches it (see the module docstring)."""
    hidden: dict[tuple[str, int], Hidden] = {}
    tagged: dict[int, list[str]] = {}
    kept: list[str] = []
    line = 0
    column = 0
    for index, char in enumerate(text):
        if char == "\n":
            line += 1
            column = 0
            kept.append(char)
            continue
        column += 1
        cls = hidden_class(text, index)
        if cls is None:
            kept.append(char)
            continue
        if _TAGS[0] <= ord(char) <= _TAGS[1]:
            tagged.setdefault(line, []).append(chr(ord(char) - _TAGS[0]))
        key = (cls.id, line)
        seen = hidden.get(key)
        if seen is None:
            hidden[key] = Hidden(cls, line, column, 1, ord(char))
        else:
            hidden[key] = Hidden(cls, line, seen.column, seen.count + 1, seen.code)
    lines = "".join(kept).split("\n")
    visible: list[str] = []
    folded: list[str] = []
    mixed: list[tuple[int, str]] = []
    table = confusables()
    for number, raw in enumerate(lines):
        plain = unicodedata.normalize("NFKC", raw)
        visible.append(plain)
        plain = plain.lower()
        for word in _mixed_words(plain, table):
            mixed.append((number, word))
        folded.append(plain.translate(table))
    smuggled = tuple(Decoded(n, "tag characters", "".join(t)) for n, t in tagged.items())
    return Normalised(
        "\n".join(folded), "\n".join(visible), tuple(hidden.values()), tuple(mixed), smuggled
    )


_WORD = re.compile(r"\w+")


def _mixed_words(line: str, table: dict[int, str]) -> list[str]:
    if line.isascii():
        return []
    found = []
    for match in _WORD.finditer(line):
        word = match.group()
        if any(ord(c) in table for c in word) and any("a" <= c <= "z" for c in word):
            found.append(word)
    return found


# --- Joined text: one line per file, mapped back to the original lines ---------


@dataclass(frozen=True)
class Joined:
    """A text with its line breaks turned into spaces, so that a sentence split over
    lines is matched as one; `line_at` maps an offset back to its 0-based line."""

    text: str
    starts: tuple[int, ...]  # offset where each line starts

    def line_at(self, offset: int) -> int:
        return bisect_right(self.starts, offset) - 1


def join_lines(text: str) -> Joined:
    starts = [0]
    for match in re.finditer("\n", text):
        starts.append(match.end())
    return Joined(text.replace("\n", " "), tuple(starts))


_SPACE_RUN = re.compile(r"\s+")


def collapse(text: str) -> tuple[str, list[int]]:
    """`text` with every run of white space made one space, and for each of its
    characters the offset it came from."""
    parts: list[str] = []
    origin: list[int] = []
    last = 0
    for match in _SPACE_RUN.finditer(text):
        parts.append(text[last : match.start()])
        origin.extend(range(last, match.start()))
        parts.append(" ")
        origin.append(match.start())
        last = match.end()
    parts.append(text[last:])
    origin.extend(range(last, len(text)))
    origin.append(len(text))
    return "".join(parts), origin


# Letters written apart ("i g n o r e", "i.g.n.o.r.e") are read as the word they spell.
_SPACED = re.compile(r"\b(?:\w[ .\-_*|]){1,}\w\b")


def squeeze(text: str) -> str:
    """Words spelled out letter by letter joined up; the length stays the same (padded
    with spaces) so offsets still map to lines."""

    def joined(match: re.Match[str]) -> str:
        letters = match.group()[::2]
        return letters + " " * (len(match.group()) - len(letters))

    return _SPACED.sub(joined, text)


# --- Encoded runs ----------------------------------------------------------------

_BASE64 = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
_BASE64_LINE = re.compile(r"^\s*[A-Za-z0-9+/=]{16,}\s*$")
_HEX = re.compile(r"(?:\\x|%|0x)?(?:[0-9a-fA-F]{2}(?:\\x|[\s:,-]|0x)?){8,}")
_PERCENT = re.compile(r"\S*?%[0-9A-Fa-f]{2}\S*?%[0-9A-Fa-f]{2}\S*")
_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_ESCAPE = re.compile(
    r"(?:\\u[0-9a-fA-F]{4}|\\U[0-9a-fA-F]{8}|\\x[0-9a-fA-F]{2}|\\[0-7]{3}|\\[\"'\\/])"
)
_ROT13 = re.compile(r"rot[-_ ]?13", re.I)


def _readable(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if len(text) < 4:
        return None
    printable = sum(1 for c in text if c.isprintable() or c.isspace())
    return text if printable >= 0.9 * len(text) and any(c.isalpha() for c in text) else None


_URL_SAFE = str.maketrans("-_", "+/")


def _base64_text(run: str) -> str | None:
    """The text a base64 run (standard or URL-safe, padded or not) stands for."""
    try:
        # Extra padding is ignored when decoding leniently; missing padding is not.
        data = base64.b64decode(run.translate(_URL_SAFE) + "==")
    except binascii.Error:
        return None
    return _readable(data)


def _wrapped_base64(lines: list[str]) -> list[tuple[int, str]]:
    """Runs of two or more lines holding only base64, joined (mail-style wrapping)."""
    runs: list[tuple[int, str]] = []
    start = -1
    for number, line in enumerate([*lines, ""]):
        if _BASE64_LINE.match(line):
            if start < 0:
                start = number
            continue
        if start >= 0 and number - start >= 2:
            runs.append((start, "".join(part.strip() for part in lines[start:number])))
        start = -1
    return runs


def decode_runs(text: str) -> list[Decoded]:
    """Every encoded run of `text` that decodes to readable text, with its line."""
    lines = text.split("\n")
    found: list[Decoded] = []
    for start, run in _wrapped_base64(lines):
        decoded = _base64_text(run)
        if decoded is not None:
            found.append(Decoded(start, "base64", decoded))
    for number, line in enumerate(lines):
        for match in _BASE64.finditer(line):
            decoded = _base64_text(match.group())
            if decoded is not None:
                found.append(Decoded(number, "base64", decoded))
        for match in _HEX.finditer(line):
            digits = re.sub(r"\\x|0x|[^0-9a-fA-F]", "", match.group())
            if len(digits) % 2 == 0:
                decoded = _readable(bytes.fromhex(digits))
                if decoded is not None:
                    found.append(Decoded(number, "hex", decoded))
        if "%" in line:
            for match in _PERCENT.finditer(line):
                found.append(Decoded(number, "percent", unquote(match.group())))
        if "&" in line and _ENTITY.search(line):
            found.append(Decoded(number, "entities", html.unescape(line)))
        if "\\" in line and _ESCAPE.search(line):
            found.append(Decoded(number, "escapes", _unescape(line)))
    if _ROT13.search(text):
        found.append(Decoded(0, "rot13", codecs.encode(text, "rot13")))
    return found


def _unescape(line: str) -> str:
    def one(match: re.Match[str]) -> str:
        token = match.group()
        try:
            if token[1] in "\"'\\/":
                return token[1]
            if token[1] in "uUx":
                return chr(int(token[2:], 16))
            return chr(int(token[1:], 8))
        except (ValueError, OverflowError):
            return token

    return _ESCAPE.sub(one, line)
