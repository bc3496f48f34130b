"""Reading times: ISO-8601, natural language, cron and "every …", and refusing bad ones."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.background.when import WhenError, fire_times_between, parse_when, zone_named

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 29, 6, 30, tzinfo=UTC)  # 07:30 in Berlin


@pytest.mark.parametrize(
    ("text", "expected_utc"),
    [
        ("in 10 minutes", "2026-11-29T06:40:00+00:00"),
        ("tomorrow at 9", "2026-11-30T08:00:00+00:00"),
        ("tomorrow at 9:30", "2026-11-30T08:30:00+00:00"),
        ("2026-12-01T09:00", "2026-12-01T08:00:00+00:00"),
        ("2026-12-01 09:00", "2026-12-01T08:00:00+00:00"),
        ("2026-12-01T09:00:00+00:00", "2026-12-01T09:00:00+00:00"),
    ],
)
def test_one_off_times_in_the_persons_zone(text: str, expected_utc: str) -> None:
    schedule = parse_when(text, BERLIN, NOW)
    assert schedule.once and schedule.spec == {"at": expected_utc}


def test_recurring_forms() -> None:
    weekdays = parse_when("every weekday at 8", BERLIN, NOW)
    assert weekdays.spec == {"cron": "0 8 * * mon-fri", "tz": "Europe/Berlin"}
    assert parse_when("every 2 hours", BERLIN, NOW).spec["every"] == 7200
    cron = parse_when("0 8 * * 1-5", BERLIN, NOW)
    first = cron.trigger().get_next_fire_time(None, NOW)
    assert first is not None and first.astimezone(BERLIN).hour == 8
    evening = parse_when("every monday at 5pm", BERLIN, NOW)
    assert evening.spec["cron"] == "0 17 * * mon"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("yesterday", "is in the past"),
        ("2026-11-29T05:00:00Z", "is in the past"),
        ("2026-13-01", "is not a real date"),
        ("tomorrow at 25:00", "25:00 is not a time of day"),
        ("Feb 30 2027", "could not read"),
        ("whenever you like", "could not read"),
        ("in 100 years", "more than five years ahead"),
        ("0 0 30 2 *", "never fires"),
        ("61 * * * *", "not a valid cron line"),
        ("every 10 seconds", "shortest interval is one minute"),
        ("* * * * * *", "could not read"),
        ("", "no time given"),
        ("x" * 300, "too long"),
    ],
)
def test_bad_times_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(WhenError, match=message):
        parse_when(text, BERLIN, NOW)


def test_unknown_time_zone_says_what_works() -> None:
    with pytest.raises(WhenError, match="use an IANA name"):
        zone_named("Mars/Olympus")


def test_fire_times_between_lists_missed_runs() -> None:
    spec = {"every": 60, "start": "2026-11-29T06:00:00+00:00"}
    times = fire_times_between(spec, datetime(2026, 11, 29, 6, 0, tzinfo=UTC), NOW)
    assert len(times) == 31 and times[-1] == NOW


SHANGHAI = ZoneInfo("Asia/Shanghai")
# Saturday 5 December 2026, 12:00 in Shanghai, 05:00 in Berlin.
SATURDAY = datetime(2026, 12, 5, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "zone", "expected_local"),
    [
        ("明天上午十点", SHANGHAI, "2026-12-06 10:00"),
        ("明天下午3点半", SHANGHAI, "2026-12-06 15:30"),
        ("下周三", SHANGHAI, "2026-12-09 12:00"),
        ("下个星期一早上7点", SHANGHAI, "2026-12-07 07:00"),
        ("周五晚上八点", SHANGHAI, "2026-12-11 20:00"),
        ("后天中午", SHANGHAI, "2026-12-07 12:00"),
        ("两小时后", SHANGHAI, "2026-12-05 14:00"),
        ("10分钟后", SHANGHAI, "2026-12-05 12:10"),
        ("十点", SHANGHAI, "2026-12-06 10:00"),
        ("12月24日晚上8点", SHANGHAI, "2026-12-24 20:00"),
        ("1月5号上午9点", SHANGHAI, "2027-01-05 09:00"),
        ("2027年3月1日", SHANGHAI, "2027-03-01 12:00"),
        ("3월 1일 오후 2시", SHANGHAI, "2027-03-01 14:00"),
        ("明日の午前10時", SHANGHAI, "2026-12-06 10:00"),
        ("来週の水曜日 15:00", SHANGHAI, "2026-12-09 15:00"),
        ("내일 오전 10시", SHANGHAI, "2026-12-06 10:00"),
        ("다음 주 수요일 오후 3시 반", SHANGHAI, "2026-12-09 15:30"),
        ("nächsten Montag um 9 Uhr", BERLIN, "2026-12-07 09:00"),
        ("morgen 9 Uhr", BERLIN, "2026-12-06 09:00"),
        ("nächsten Montag", BERLIN, "2026-12-07 00:00"),
        ("el viernes", BERLIN, "2026-12-11 00:00"),
        ("el viernes a las 10", BERLIN, "2026-12-11 10:00"),
        ("el próximo viernes a las 10:30", BERLIN, "2026-12-11 10:30"),
        ("mañana a las 8:15", BERLIN, "2026-12-06 08:15"),
        ("vendredi prochain à 9h", BERLIN, "2026-12-11 09:00"),
        ("завтра в 10:00", BERLIN, "2026-12-06 10:00"),
    ],
)
def test_times_in_the_persons_language(text: str, zone: ZoneInfo, expected_local: str) -> None:
    schedule = parse_when(text, zone, SATURDAY)
    at = datetime.fromisoformat(schedule.spec["at"]).astimezone(zone)
    assert f"{at:%Y-%m-%d %H:%M}" == expected_local


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("这周五", "is in the past"),  # Friday was yesterday
        ("明天去买菜", "could not read"),  # a time and something else: never half-read
        ("明天二十五点", "could not read"),
        ("下周", "could not read"),
        ("2月30日", "could not read"),
    ],
)
def test_bad_times_in_other_languages_are_refused(text: str, message: str) -> None:
    with pytest.raises(WhenError, match=message):
        parse_when(text, SHANGHAI, SATURDAY)
