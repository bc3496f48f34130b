"""Dates mentioned in a search query ("in May", "on 8 May 2023", "last week"), also in
Chinese, Japanese and Korean ("5月8日", "2023年5月", "上周", "先月", "작년") and with German,
Spanish, French, Italian and Portuguese month names ("8. Mai", "el 3 de marzo").

Search uses them to prefer messages from that time; nothing is filtered out,
so a wrong guess costs ranking, never results.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan", "januar", "enero", "janvier", "gennaio", "janeiro"),
            ("february", "feb", "februar", "febrero", "février", "febbraio", "fevereiro"),
            ("march", "mar", "märz", "marzo", "mars", "março"),
            ("april", "apr", "abril", "avril", "aprile"),
            ("may", "mai", "mayo", "maggio", "maio"),
            ("june", "jun", "juni", "junio", "juin", "giugno", "junho"),
            ("july", "jul", "juli", "julio", "juillet", "luglio", "julho"),
            ("august", "aug", "agosto", "août"),
            ("september", "sep", "sept", "septiembre", "septembre", "settembre", "setembro"),
            ("october", "oct", "oktober", "octubre", "octobre", "ottobre", "outubro"),
            ("november", "nov", "noviembre", "novembre", "novembro"),
            ("december", "dec", "dezember", "diciembre", "décembre", "dicembre", "dezembro"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_ORD = r"(?:st|nd|rd|th)?"
_DAY_MONTH = re.compile(
    rf"\b(\d{{1,2}}){_ORD}\.?\s+(?:(?:of|de)\s+)?({_MONTH})\.?\b,?\s*(?:(?:de|del)\s+)?(\d{{4}})?",
    re.I,
)
_MONTH_DAY = re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}}){_ORD}\b,?\s*(\d{{4}})?", re.I)
_ISO_DAY = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_ISO_MONTH = re.compile(r"\b(\d{4})-(\d{2})\b")
# A bare month name only counts when capitalised or next to a year or "in":
# "may" and "march" are also verbs.
_MONTH_ALONE = re.compile(
    rf"\b(?:(in|during|since|of|im|en|de|seit)\s+)?({_MONTH})\b,?\s*(\d{{4}})?", re.I
)
_YEAR = re.compile(r"\b(19\d\d|20\d\d)\b")
_RELATIVE = re.compile(r"\b(today|yesterday|(?:last|this)\s+(?:week|month|year))\b", re.I)

# Chinese and Japanese write dates with 年 月 日 (号), Korean with 년 월 일.
_CJK_DAY = re.compile(r"(?:(\d{4})\s*[年년]\s*)?(\d{1,2})\s*[月월]\s*(\d{1,2})\s*[日号號일]")
_CJK_MONTH = re.compile(r"(?:(\d{4})\s*[年년]\s*)?(\d{1,2})\s*(?:月|월)(?!\s*\d)")
_CJK_YEAR = re.compile(r"(\d{4})\s*[年년]")
_CJK_RELATIVE = {
    "today": ("今天", "今日", "오늘"),
    "yesterday": ("昨天", "昨日", "어제"),
    "last week": ("上周", "上週", "上星期", "上个星期", "先週", "지난주", "지난 주"),
    "this week": ("这周", "這週", "本周", "本週", "今週", "이번 주", "이번주"),
    "last month": ("上个月", "上個月", "先月", "지난달", "지난 달"),
    "this month": ("这个月", "這個月", "本月", "今月", "이번 달", "이번달"),
    "last year": ("去年", "昨年", "작년", "지난해"),
    "this year": ("今年", "올해"),
}

NEAR_DAYS = 7


@dataclass(frozen=True)
class DateHint:
    """A time the query talks about: a day, a month (any year when `year` is None) or a year."""

    kind: str  # "day", "month", "year"
    year: int | None
    month: int | None = None
    day: int | None = None

    def closeness(self, when: datetime) -> float:
        """1.0 inside this time, less when near it, 0.0 otherwise."""
        at = when.date()
        if self.kind == "year":
            return 1.0 if at.year == self.year else 0.0
        if self.kind == "month":
            same_month = at.month == self.month and self.year in (None, at.year)
            return 1.0 if same_month else 0.0
        if self.month is None or self.day is None:
            return 0.0
        try:
            target = date(self.year or at.year, self.month, self.day)
        except ValueError:
            return 0.0
        gap = abs((at - target).days)
        if gap == 0:
            return 1.0
        if gap <= NEAR_DAYS:
            return 0.5
        return 0.25 if at.month == self.month and self.year in (None, at.year) else 0.0


def _valid(month: int, day: int | None = None) -> bool:
    return 1 <= month <= 12 and (day is None or 1 <= day <= 31)


def _relative(word: str, today: date) -> DateHint | None:
    word = " ".join(word.lower().split())
    if word in ("today", "yesterday"):
        day = today if word == "today" else today - timedelta(days=1)
        return DateHint("day", day.year, day.month, day.day)
    if word.endswith("week"):
        # "last week" points at the middle of the previous week; "near" covers the rest.
        middle = today - timedelta(days=7 if word.startswith("last") else 0)
        return DateHint("day", middle.year, middle.month, middle.day)
    if word.endswith("month"):
        first = today.replace(day=1)
        if word.startswith("last"):
            first = (first - timedelta(days=1)).replace(day=1)
        return DateHint("month", first.year, first.month)
    year = today.year - 1 if word.startswith("last") else today.year
    return DateHint("year", year)


def date_hints(query: str, now: datetime | None = None) -> list[DateHint]:
    """The dates a query mentions, most specific first."""
    text = query[:2_000]
    hints: list[DateHint] = []
    for match in _DAY_MONTH.finditer(text):
        month, day = MONTHS[match[2].lower()], int(match[1])
        if _valid(month, day):
            hints.append(DateHint("day", int(match[3]) if match[3] else None, month, day))
    for match in _MONTH_DAY.finditer(text):
        month, day = MONTHS[match[1].lower()], int(match[2])
        if _valid(month, day):
            hints.append(DateHint("day", int(match[3]) if match[3] else None, month, day))
    for match in _ISO_DAY.finditer(text):
        month, day = int(match[2]), int(match[3])
        if _valid(month, day):
            hints.append(DateHint("day", int(match[1]), month, day))
    if not hints:
        for match in _ISO_MONTH.finditer(text):
            if _valid(int(match[2])):
                hints.append(DateHint("month", int(match[1]), int(match[2])))
        for match in _MONTH_ALONE.finditer(text):
            name, year = match[2], match[3]
            if year or match[1] or name[0].isupper():
                hints.append(DateHint("month", int(year) if year else None, MONTHS[name.lower()]))
    if now is not None:
        for match in _RELATIVE.finditer(text):
            hint = _relative(match[1], now.date())
            if hint is not None:
                hints.append(hint)
    hints.extend(_cjk_hints(text, now))
    if not hints:
        hints.extend(DateHint("year", int(match[1])) for match in _YEAR.finditer(text))
        hints.extend(DateHint("year", int(match[1])) for match in _CJK_YEAR.finditer(text))
    return hints[:8]


def _cjk_hints(text: str, now: datetime | None) -> list[DateHint]:
    if text.isascii():
        return []
    hints = []
    for match in _CJK_DAY.finditer(text):
        month, day = int(match[2]), int(match[3])
        if _valid(month, day):
            hints.append(DateHint("day", int(match[1]) if match[1] else None, month, day))
    if not hints:
        for match in _CJK_MONTH.finditer(text):
            if _valid(int(match[2])):
                hints.append(DateHint("month", int(match[1]) if match[1] else None, int(match[2])))
    if now is not None:
        for meaning, words in _CJK_RELATIVE.items():
            if any(word in text for word in words):
                hint = _relative(meaning, now.date())
                if hint is not None:
                    hints.append(hint)
    return hints


def closeness(hints: list[DateHint], when: datetime) -> float:
    """How well `when` fits the query's dates: the best match of any hint, 0..1."""
    return max((hint.closeness(when) for hint in hints), default=0.0)
