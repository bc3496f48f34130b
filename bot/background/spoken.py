"""Times written in the person's language: "明天上午十点", "下周三", "nächsten Montag",
"el viernes", "내일 오후 3시 반".

dateparser knows many languages but, measured (docs/design.md, "Reminders in the
person's language"), misses exactly the everyday forms: Chinese numerals and 点
("上午十点"), "下周三", "nächsten Montag", "el viernes", and it drops the hour of
"明日の午前10時" and "9 Uhr" (scheduling noon instead). Letting it detect the language
costs ~100 ms per language on first use and guesses wrong on short phrases. So:

- Chinese, Japanese and Korean (told apart by their script) are read here: a day
  (today/tomorrow/the day after, a date 12月24日 / 3월 1일, a weekday of this or next
  week, N days from now) or N seconds/minutes/hours from now, and a clock time (上午/下午, 午前/午後, 오전/오후, 点/時/시, 半/반, 分/분).
- Other scripts go to dateparser with the languages of that script (Latin: the short
  list `LATIN_LANGUAGES`, English first), after rewriting the forms it misses: "next"
  words before a weekday and articles ("nächsten Montag" → "Montag", "el viernes" →
  "viernes"; a weekday is always the coming one) and hours without minutes ("9 Uhr",
  "a las 10", "à 9h" → "9:00"), so a time is never silently dropped.

English text never comes here unless English failed, so its speed is unchanged.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

# Latin-script languages tried after English, in order. Short on purpose: each
# language dateparser tries costs time, and a long list lets it misread a phrase.
LATIN_LANGUAGES = ("de", "es", "fr", "it", "pt", "nl")
SCRIPT_LANGUAGES = (
    (re.compile(r"[\u0400-\u04ff]"), ("ru", "uk")),
    (re.compile(r"[\u0370-\u03ff]"), ("el",)),
    (re.compile(r"[\u0600-\u06ff]"), ("ar", "fa")),
    (re.compile(r"[\u0590-\u05ff]"), ("he",)),
    (re.compile(r"[\u0e00-\u0e7f]"), ("th",)),
    (re.compile(r"[\u0900-\u097f]"), ("hi",)),
)

KANA = re.compile(r"[\u3041-\u30ff]")
HANGUL = re.compile(r"[\uac00-\ud7a3]")
HAN = re.compile(r"[\u4e00-\u9fff]")

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5}
_DIGITS |= {"六": 6, "七": 7, "八": 8, "九": 9}
# Numerals of a count or a clock ("十点", "两小时", "三天"), not of a weekday ("周三").
_NUMERAL = re.compile(
    r"[零〇一二两兩三四五六七八九十]+(?=\s*(?:点|點|时|時|分|秒|小|个|個|天|日|半))"
)

_DAYS = {
    "今天": 0, "今日": 0, "오늘": 0, "明天": 1, "明日": 1, "あした": 1, "あす": 1, "내일": 1,
    "后天": 2, "後天": 2, "明後日": 2, "あさって": 2, "모레": 2, "大后天": 3, "大後天": 3,
}  # fmt: skip
_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_WEEKDAY |= {"月": 0, "火": 1, "水": 2, "木": 3, "金": 4, "土": 5}
_WEEKDAY |= {"월": 0, "화": 1, "수": 2, "목": 3, "금": 4, "토": 5, "일": 6}
# "下周三" shares its 周 with the weekday; "来週の水曜日", "다음 주 수요일" do not.
_NEXT_WEEK = r"下(?:个|個)?(?=周|週|星期|礼拜|禮拜)|来週|來週|다음\s*주"
_THIS_WEEK = r"(?:这|這)(?:个|個)?(?=周|週|星期)|本(?=周|週)|今週|이번\s*주"
_WEEKDAY_WORD = re.compile(
    rf"(?:({_NEXT_WEEK})|({_THIS_WEEK}))?\s*(?:の)?\s*"
    r"(?:(?:周|週|星期|礼拜|禮拜)([一二三四五六日天])|([月火水木金土日])曜日?|([월화수목금토일])요일)"
)
_DAY_WORD = re.compile("|".join(sorted(_DAYS, key=len, reverse=True)))
_AFTER = re.compile(
    r"(\d+)\s*(?:个|個)?\s*(秒钟|秒鐘|秒|초|分钟|分鐘|分|분|小时|小時|時間|시간|天|日|일)\s*"
    r"(?:后|後|以后|以後|후|뒤)"
)
_PERIOD = re.compile(
    r"上午|早上|早晨|凌晨|午前|오전|아침|下午|晚上|傍晚|夜里|午後|夜|오후|저녁|밤|中午|正午|낮"
)
_AFTERNOON = ("下午", "晚上", "傍晚", "夜里", "午後", "夜", "오후", "저녁", "밤")
_NOON = ("中午", "正午", "낮")
_CLOCK = re.compile(
    r"(\d{1,2})\s*(?:[:：](\d{2})|(?:点|點|時|시)\s*(?:(\d{1,2})\s*(?:分|분)?|(半|반))?)"
)
_FILLER = re.compile(r"[\s,，、。のにで에]|提醒我|叫我|remind me", re.I)

_NEXT_WORDS = re.compile(
    r"\b(?:(?:am|nächste[nrs]?|kommende[nrs]?|diese[nrs]?|el|la|le|il|o|a|"
    r"próxim[oa]|proxim[oa]|prochaine?|prossim[oa]|volgende|este|esta|ce)\s+)+"
    r"(?=(?:montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|lunes|martes|"
    r"miércoles|miercoles|jueves|viernes|sábado|sabado|domingo|lundi|mardi|mercredi|jeudi|"
    r"vendredi|samedi|dimanche|lunedì|martedì|mercoledì|giovedì|venerdì|sabato|"
    r"segunda|terça|quarta|quinta|sexta|maandag|dinsdag|woensdag|donderdag|vrijdag|"
    r"zaterdag|zondag)\b)",
    re.I,
)
_TRAILING_NEXT = re.compile(r"\b(\w+)\s+(?:prochaine?|que\s+vient)\b", re.I)
_HOUR_WORD = re.compile(
    r"\b(?:um\s+|a\s+las\s+|a\s+la\s+|à\s+|alle\s+|às\s+|om\s+)?(?<![:.\d])(\d{1,2})\s*(?:uhr|h|heures?|hs)?"
    r"(?=\s*$|\s+(?:uhr|morgens|abends|de\s+la|del|du))",
    re.I,
)


def languages_for(text: str) -> tuple[str, ...]:
    """The dateparser languages worth trying for `text`, from its script."""
    for pattern, languages in SCRIPT_LANGUAGES:
        if pattern.search(text):
            return languages
    return LATIN_LANGUAGES


def is_cjk(text: str) -> bool:
    return bool(HAN.search(text) or KANA.search(text) or HANGUL.search(text))


def _number(text: str) -> str:
    """Chinese numerals up to 99 as digits ("十" 10, "二十五" 25), in place."""

    def value(match: re.Match[str]) -> str:
        word = match.group()
        if "十" not in word:
            return "".join(str(_DIGITS[c]) for c in word)
        tens, _, ones = word.partition("十")
        return str(
            (_DIGITS.get(tens, 1) if tens else 1) * 10 + (_DIGITS.get(ones, 0) if ones else 0)
        )

    return _NUMERAL.sub(value, text)


def read_cjk(text: str, zone: ZoneInfo, now: datetime) -> datetime | None:
    """A one-off time written in Chinese, Japanese or Korean, or None when some part of
    the text is not understood (the caller then says what works)."""
    local = now.astimezone(zone)
    rest = _number(text)
    after = _AFTER.search(rest)
    if after and after.group(2) not in _DAY_UNITS:  # seconds, minutes, hours: an instant
        rest = rest.replace(after.group(), " ")
        return None if _FILLER.sub("", rest) else local + _amount(after)
    day, rest, moved, yearless = _day(rest, local)
    clock, rest = _clock(rest)
    if _FILLER.sub("", rest) or not (moved or clock):
        return None
    # A day without a time keeps the time of day, as dateparser reads "tomorrow".
    hour, minute = clock or (local.hour, local.minute)
    if hour > 23 or minute > 59:
        return None
    at = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
    if at <= local and not moved:
        at += timedelta(days=1)  # "上午十点" once ten has passed: tomorrow's
    elif at <= local and yearless:
        at = at.replace(year=at.year + 1)  # "1月5日" in December: next January's
    return at


_DAY_UNITS = ("天", "日", "일")
_DATE = re.compile(r"(?:(\d{4})\s*[年년]\s*)?(\d{1,2})\s*[月월]\s*(\d{1,2})\s*[日号號일]")


def _amount(after: re.Match[str]) -> timedelta:
    amount, unit = int(after.group(1)), after.group(2)
    if unit in ("秒钟", "秒鐘", "秒", "초"):
        return timedelta(seconds=amount)
    if unit in ("分钟", "分鐘", "分", "분"):
        return timedelta(minutes=amount)
    if unit in _DAY_UNITS:
        return timedelta(days=amount)
    return timedelta(hours=amount)


def _day(rest: str, local: datetime) -> tuple[date, str, bool, bool]:
    """The day `rest` names (today when none), `rest` without it, whether a day was
    named, and whether it was a date without its year."""
    day, moved, yearless = local.date(), False, False
    after = _AFTER.search(rest)
    if after:
        day, moved = (local + _amount(after)).date(), True
        rest = rest.replace(after.group(), " ")
    dated = _DATE.search(rest)
    if dated:
        year = int(dated.group(1)) if dated.group(1) else day.year
        try:
            day = date(year, int(dated.group(2)), int(dated.group(3)))
        except ValueError:
            return day, rest, False, False  # the date stays in `rest`: not read
        rest, moved, yearless = rest.replace(dated.group(), " "), True, not dated.group(1)
    weekday = _WEEKDAY_WORD.search(rest)
    if weekday:
        wanted = _WEEKDAY[next(g for g in weekday.groups()[2:] if g)]
        monday = day - timedelta(days=day.weekday())
        if weekday.group(1):
            day = monday + timedelta(days=7 + wanted)
        elif weekday.group(2):
            day = monday + timedelta(days=wanted)
        else:
            day += timedelta(days=(wanted - day.weekday()) % 7)
        rest, moved = rest.replace(weekday.group(), " "), True
    named = _DAY_WORD.search(rest)
    if named:
        day += timedelta(days=_DAYS[named.group()])
        rest, moved = rest.replace(named.group(), " "), True
    return day, rest, moved, yearless


def _clock(rest: str) -> tuple[tuple[int, int] | None, str]:
    """The time of day `rest` names (上午十点, 午後3時, 오후 3시 반, 15:00) and `rest` without it."""
    period = _PERIOD.search(rest)
    found = _CLOCK.search(rest)
    clock = None
    if found:
        hour = int(found.group(1))
        minute = int(found.group(2) or found.group(3) or 0) + (30 if found.group(4) else 0)
        if period and period.group() in _AFTERNOON and hour < 12:
            hour += 12
        elif period and period.group() in _NOON and hour < 6:
            hour += 12
        clock = (hour, minute)
        rest = rest.replace(found.group(), " ")
    elif period and period.group() in _NOON:
        clock = (12, 0)
    if period:
        rest = rest.replace(period.group(), " ", 1)
    return clock, rest


def for_dateparser(text: str) -> str:
    """Other languages' text rewritten into forms dateparser reads: no "next" word or
    article before a weekday, and hours written with minutes."""
    text = _NEXT_WORDS.sub("", text)
    text = _TRAILING_NEXT.sub(r"\1", text)
    return _HOUR_WORD.sub(lambda m: f"{m.group(0)[: m.start(1) - m.start(0)]}{m.group(1)}:00", text)
