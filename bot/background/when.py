"""Reading "when" for reminders and jobs: ISO-8601, natural language, cron, "every …".

`parse_when` turns what a person (or the model) wrote into a `Schedule`: a JSON-able
spec stored with the job, from which an APScheduler trigger is rebuilt at any time.
Bad input raises `WhenError` with a message that says what would work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dateparser
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.background import spoken

MIN_INTERVAL = timedelta(minutes=1)
MAX_AHEAD = timedelta(days=5 * 366)
MAX_TEXT = 200

EXAMPLES = (
    'e.g. "in 10 minutes", "tomorrow 9:00", "2026-12-24T18:00", "every weekday at 8:00" '
    'or cron "0 8 * * 1-5"'
)

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400}
_DAYS = {
    "day": "*",
    "weekday": "mon-fri",
    "weekend": "sat,sun",
    "monday": "mon",
    "tuesday": "tue",
    "wednesday": "wed",
    "thursday": "thu",
    "friday": "fri",
    "saturday": "sat",
    "sunday": "sun",
}
_EVERY_UNIT = re.compile(r"^every\s+(\d+\s*)?(second|minute|hour|day|week)s?$")
_EVERY_DAY = re.compile(
    r"^every\s+(day|weekday|weekend|monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
    r"(?:\s+at\s+(.+))?$"
)
_CLOCK = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$")
_BARE_HOUR = re.compile(r"\bat\s+(\d{1,2})(?![\d:.]|\s*(?:am|pm|a\.m\.|p\.m\.))")
_WRITTEN_CLOCK = re.compile(r"\b(\d{1,2}):(\d{2})\b")


class WhenError(ValueError):
    """The time could not be read or makes no sense; the message says why and what works."""


@dataclass(frozen=True)
class Schedule:
    """When a job fires: once (`at`), on a cron line, or every N seconds."""

    spec: dict[str, Any]
    description: str

    @property
    def once(self) -> bool:
        return "at" in self.spec

    def trigger(self) -> BaseTrigger:
        return trigger_for(self.spec)


def zone_named(name: str) -> ZoneInfo:
    """The IANA time zone `name`, or WhenError saying how to write one."""
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise WhenError(
            f"unknown time zone {name.strip()!r}: use an IANA name such as Europe/Berlin, "
            "America/New_York or Asia/Tokyo"
        ) from None


def trigger_for(spec: dict[str, Any]) -> BaseTrigger:
    """The APScheduler trigger for a stored spec."""
    if "at" in spec:
        return DateTrigger(run_date=datetime.fromisoformat(spec["at"]))
    if "cron" in spec:
        return CronTrigger.from_crontab(spec["cron"], timezone=spec["tz"])
    return IntervalTrigger(
        seconds=int(spec["every"]), start_date=datetime.fromisoformat(spec["start"]), timezone=UTC
    )


def parse_when(text: str, zone: ZoneInfo, now: datetime) -> Schedule:
    """Read `text` as a one-off time or a recurring schedule in the person's `zone`."""
    raw = " ".join(text.strip().split())
    if not raw:
        raise WhenError(f"no time given; {EXAMPLES}")
    if len(raw) > MAX_TEXT:
        raise WhenError(f"the time is too long ({len(raw)} characters); {EXAMPLES}")
    lowered = raw.lower().removeprefix("cron:").strip()
    if lowered.startswith("every "):
        return _every(lowered, zone, now)
    fields = lowered.split()
    # A cron line starts with its minute ("0 8 * * 1-5"), never with a word ("el
    # viernes a las 10" has five words too).
    if (
        len(fields) == 5
        and re.fullmatch(r"[\d*/,\-a-z ]+", lowered)
        and fields[0][0] in "0123456789*"
    ):
        return _cron(lowered, zone, now)
    return _once(raw, zone, now)


def _once(raw: str, zone: ZoneInfo, now: datetime) -> Schedule:
    at = _iso(raw, zone) or _natural(raw, zone, now)
    if at is None:
        raise WhenError(f"I could not read {raw!r} as a time; {EXAMPLES}")
    at = at.astimezone(UTC)
    if at <= now:
        shown = at.astimezone(zone).strftime("%a %d %b %Y %H:%M")
        raise WhenError(f"{raw!r} is in the past ({shown} {zone.key}); give a future time")
    if at - now > MAX_AHEAD:
        raise WhenError("that is more than five years ahead; pick a nearer time")
    local = at.astimezone(zone)
    return Schedule({"at": at.isoformat()}, f"once, {local:%a %d %b %Y %H:%M} ({zone.key})")


def _iso(raw: str, zone: ZoneInfo) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(raw.replace(" ", "T", 1) if raw[:4].isdigit() else raw)
    except ValueError:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ].*)?", raw):
            raise WhenError(f"{raw!r} is not a real date and time") from None
        return None
    return parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed


def _natural(raw: str, zone: ZoneInfo, now: datetime) -> datetime | None:
    """English first (as fast as it always was), then the person's own language:
    Chinese, Japanese and Korean read by bot/background/spoken.py, other scripts by
    dateparser in that script's languages."""
    # dateparser ignores a bare hour ("tomorrow at 9"), so spell it as a clock time.
    english = _dateparsed(
        _BARE_HOUR.sub(lambda m: f"at {m.group(1)}:00", raw.lower()), ("en",), zone, now
    )
    if english is not None:
        return english
    if spoken.is_cjk(raw):
        return spoken.read_cjk(raw, zone, now)
    return _dateparsed(spoken.for_dateparser(raw.lower()), spoken.languages_for(raw), zone, now)


def _dateparsed(
    text: str, languages: tuple[str, ...], zone: ZoneInfo, now: datetime
) -> datetime | None:
    for hour, minute in _WRITTEN_CLOCK.findall(text):
        if int(hour) > 23 or int(minute) > 59:
            raise WhenError(f"{hour}:{minute} is not a time of day")
    parsed = dateparser.parse(
        text,
        languages=list(languages),
        settings={
            "TIMEZONE": zone.key,
            "RETURN_AS_TIMEZONE_AWARE": True,
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": now.astimezone(zone).replace(tzinfo=None),
        },
    )
    if parsed is None:
        return None
    for hour, minute in _WRITTEN_CLOCK.findall(text):
        # dateparser drops parts it cannot place; never schedule a time nobody asked for.
        local = parsed.astimezone(zone)
        if (local.hour, local.minute) != (int(hour), int(minute)):
            raise WhenError(f"I could not read {text!r} reliably; {EXAMPLES}")
    return parsed


def _every(lowered: str, zone: ZoneInfo, now: datetime) -> Schedule:
    unit = _EVERY_UNIT.match(lowered)
    if unit:
        count = int(unit.group(1) or 1)
        seconds = count * _UNITS[unit.group(2)]
        if timedelta(seconds=seconds) < MIN_INTERVAL:
            raise WhenError("the shortest interval is one minute")
        if timedelta(seconds=seconds) > MAX_AHEAD:
            raise WhenError("that interval is longer than five years")
        start = now + timedelta(seconds=seconds)
        plural = f"{count} {unit.group(2)}s" if count != 1 else unit.group(2)
        return Schedule(
            {"every": seconds, "start": start.astimezone(UTC).isoformat()}, f"every {plural}"
        )
    day = _EVERY_DAY.match(lowered)
    if day:
        hour, minute = _clock(day.group(2) or "9:00")
        expr = f"{minute} {hour} * * {_DAYS[day.group(1)]}"
        schedule = _cron(expr, zone, now)
        return Schedule(
            schedule.spec, f"every {day.group(1)} at {hour:02d}:{minute:02d} ({zone.key})"
        )
    raise WhenError(f"I could not read {lowered!r} as a repeating time; {EXAMPLES}")


def _clock(text: str) -> tuple[int, int]:
    match = _CLOCK.match(text.strip())
    if not match:
        raise WhenError(f"{text!r} is not a time of day; write it like 8:30 or 5pm")
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if match.group(3) == "pm" and hour < 12:
        hour += 12
    elif match.group(3) == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        raise WhenError(f"{text!r} is not a time of day")
    return hour, minute


def _cron(expr: str, zone: ZoneInfo, now: datetime) -> Schedule:
    try:
        trigger = CronTrigger.from_crontab(expr, timezone=zone)
    except ValueError as exc:
        raise WhenError(f"{expr!r} is not a valid cron line: {exc}") from None
    first = trigger.get_next_fire_time(None, now)
    if first is None or first - now > MAX_AHEAD:
        raise WhenError(f"the cron line {expr!r} never fires (check the day and month)")
    following = trigger.get_next_fire_time(first, first)
    if following is not None and following - first < MIN_INTERVAL:
        raise WhenError("the shortest interval is one minute")
    return Schedule({"cron": expr, "tz": zone.key}, f"cron {expr} ({zone.key})")


def fire_times_between(
    spec: dict[str, Any], after: datetime, until: datetime, limit: int = 10_000
) -> list[datetime]:
    """Fire times of `spec` from `after` (inclusive) up to `until` (inclusive), at most `limit`."""
    trigger = trigger_for(spec)
    times: list[datetime] = []
    current: datetime | None = after
    while current is not None and current <= until and len(times) < limit:
        times.append(current)
        current = trigger.get_next_fire_time(current, current)
    return times
