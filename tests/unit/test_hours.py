"""Opening hours against known dates of China's official calendar (signaling/routing/hours.py).

The dates are those of the State Council's notice on the 2026 holidays (国务院办公厅关于2026年
部分节假日安排的通知, published November 2025):
- 春节: 2月15日(周日)至23日(周一)放假调休, 共9天; 2月14日(周六)、2月28日(周六)上班.
- 劳动节: 5月1日至5日放假调休, 共5天; 5月9日(周六)上班.
- 国庆节: 10月1日(周四)至7日(周三)放假调休, 共7天; 9月20日(周日)、10月10日(周六)上班.
Each is checked against the `chinese-calendar` package's data and through the schedule.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import chinese_calendar
import pytest

from signaling.routing.calendar import CalendarCsvError, OfficialCalendar, parse_calendar_csv
from signaling.routing.hours import (
    DayOverride,
    Hours,
    HoursError,
    WeeklySchedule,
    parse_periods,
    validate_override,
    validate_schedule,
)

NINE_TO_FIVE = {d: [["09:00", "12:00"], ["13:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
SPRING_FESTIVAL_OFF = [date(2026, 2, 15) + timedelta(days=i) for i in range(9)]  # 15..23 February
SPRING_FESTIVAL_WORK = [date(2026, 2, 14), date(2026, 2, 28)]
NATIONAL_DAY_OFF = [date(2026, 10, 1) + timedelta(days=i) for i in range(7)]
NATIONAL_DAY_WORK = [date(2026, 9, 20), date(2026, 10, 10)]
CALENDAR = OfficialCalendar()


def shanghai(y, m, d, hh=0, mm=0) -> datetime:
    """A Beijing time as UTC (UTC+8, no daylight saving)."""
    return datetime(y, m, d, hh, mm, tzinfo=timezone.utc) - timedelta(hours=8)


def hours(**kw) -> Hours:
    center = validate_schedule({"time_zone": "Asia/Shanghai", "weekly": NINE_TO_FIVE})
    return Hours(center=center, calendar=CALENDAR, **kw)


# ---- the package against the notice -------------------------------------------------------


def test_the_package_has_the_2026_notice():
    assert CALENDAR.known(2026)
    for day in SPRING_FESTIVAL_OFF:
        assert chinese_calendar.is_holiday(day) and CALENDAR.official(day) == ("holiday", "Spring Festival")
    for day in SPRING_FESTIVAL_WORK:
        assert day.weekday() == 5  # both Saturdays
        assert chinese_calendar.is_workday(day) and CALENDAR.official(day) == ("makeup_workday", "Spring Festival")
    assert [d for d, kind, _ in CALENDAR.year(2026) if kind == "makeup_workday"] == [
        date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9), date(2026, 9, 20), date(2026, 10, 10)]
    # The days just outside the holiday are ordinary ones.
    assert CALENDAR.official(date(2026, 2, 13)) is None and CALENDAR.official(date(2026, 2, 24)) is None
    assert CALENDAR.official(date(2026, 3, 1)) is None  # an ordinary Sunday


def test_a_year_the_package_does_not_know_has_no_special_days():
    assert not CALENDAR.known(2027)
    assert CALENDAR.official(date(2027, 10, 1)) is None
    h = hours()
    assert h.day(date(2027, 10, 1)).open  # a Friday: open until the year is imported


# ---- the schedule on known dates ----------------------------------------------------------


def test_spring_festival_2026_is_closed_and_its_saturdays_open():
    h = hours()
    for day in SPRING_FESTIVAL_OFF:
        d = h.day(day)
        assert (d.open, d.reason, d.periods, d.name) == (False, "holiday", (), "Spring Festival"), day
    for day in SPRING_FESTIVAL_WORK:  # a Saturday that is a working day: the weekday hours
        d = h.day(day)
        assert d.open and d.reason == "makeup_workday"
        assert d.as_dict()["periods"] == [["09:00", "12:00"], ["13:00", "17:00"]]
    assert not h.open_at(shanghai(2026, 2, 16, 10))  # a Monday that is a holiday
    assert h.open_at(shanghai(2026, 2, 14, 10))  # the Saturday before
    assert h.day(date(2026, 2, 24)).reason == "workday" and h.open_at(shanghai(2026, 2, 24, 9))
    assert h.day(date(2026, 3, 7)).as_dict() == {"date": "2026-03-07", "open": False, "periods": [], "reason": "weekend"}


def test_national_day_2026():
    h = hours()
    assert all(h.day(d).reason == "holiday" and not h.day(d).open for d in NATIONAL_DAY_OFF)
    assert all(h.day(d).reason == "makeup_workday" and h.day(d).open for d in NATIONAL_DAY_WORK)
    assert date(2026, 9, 20).weekday() == 6  # a Sunday worked
    assert h.next_open(shanghai(2026, 9, 30, 17, 30)) == shanghai(2026, 10, 8, 9)


def test_next_open_across_the_spring_festival():
    h = hours()
    # Friday evening before: the make-up Saturday opens next.
    assert h.next_open(shanghai(2026, 2, 13, 17, 30)) == shanghai(2026, 2, 14, 9)
    # That Saturday after closing: nine days off, then Tuesday 24 February.
    assert h.next_open(shanghai(2026, 2, 14, 17, 0)) == shanghai(2026, 2, 24, 9)
    assert h.next_open(shanghai(2026, 2, 18, 10)) == shanghai(2026, 2, 24, 9)
    # The lunch break, and open now (next_open is then the moment itself).
    assert h.next_open(shanghai(2026, 2, 24, 12, 30)) == shanghai(2026, 2, 24, 13)
    assert h.next_open(shanghai(2026, 2, 24, 10)) == shanghai(2026, 2, 24, 10)
    assert h.closes_at(shanghai(2026, 2, 24, 10)) == shanghai(2026, 2, 24, 12)
    assert h.closes_at(shanghai(2026, 2, 24, 12, 30)) is None


def test_no_schedule_is_always_open_and_ignores_the_calendar():
    h = Hours(calendar=CALENDAR)
    t = shanghai(2026, 2, 17, 3)  # the middle of the Spring Festival, at night
    assert h.open_at(t) and h.next_open(t) == t and h.closes_at(t) is None
    d = h.day(date(2026, 2, 17))
    assert d.as_dict() == {"date": "2026-02-17", "open": True, "periods": [["00:00", "24:00"]], "reason": "workday"}
    assert h.day(date(2026, 2, 15)).reason == "weekend" and not h.any_scheduled


def test_a_service_item_has_its_own_schedule_or_the_centers():
    mornings = validate_schedule({"weekly": {"mon": [["08:00", "10:00"]]}})
    h = hours(items={"SI-001": mornings})
    monday_9 = shanghai(2026, 3, 2, 9)
    monday_11 = shanghai(2026, 3, 2, 11)
    assert h.open_at(monday_9, "SI-001") and not h.open_at(monday_11, "SI-001")
    assert h.open_at(monday_11, "SI-002") and h.open_at(monday_11)  # the center's
    assert not h.open_at(shanghai(2026, 2, 16, 9), "SI-001")  # the calendar applies to it too
    # An item schedule alone (no center schedule): only that item is restricted.
    alone = Hours(items={"SI-001": mornings}, calendar=CALENDAR)
    assert not alone.open_at(monday_11, "SI-001") and alone.open_at(monday_11, "SI-002")


def test_overrides_win_over_the_calendar_and_the_week():
    closed = DayOverride(date(2026, 3, 3), "closed", note="staff training")
    special = validate_override(date(2026, 2, 18), {"kind": "open", "periods": [["10:00", "12:00"]]})
    makeup = validate_override(date(2026, 3, 7), {"kind": "makeup"})
    h = hours(overrides={o.day: o for o in (closed, special, makeup)})
    assert h.day(date(2026, 3, 3)).as_dict()["reason"] == "holiday" and not h.day(date(2026, 3, 3)).open
    assert h.day(date(2026, 3, 3)).name == "staff training"
    assert h.open_at(shanghai(2026, 2, 18, 11)) and not h.open_at(shanghai(2026, 2, 18, 9))
    assert h.day(date(2026, 3, 7)).reason == "makeup_workday" and h.open_at(shanghai(2026, 3, 7, 9))
    assert h.next_open(shanghai(2026, 3, 2, 18)) == shanghai(2026, 3, 4, 9)  # Tuesday 3rd closed


def test_a_schedule_in_another_time_zone():
    h = Hours(center=validate_schedule({"time_zone": "Europe/Berlin", "weekly": {"mon": [["09:00", "17:00"]]}}))
    # 2026-03-30 is the Monday after the change to summer time (UTC+2).
    assert h.next_open(datetime(2026, 3, 29, 12, tzinfo=timezone.utc)) == datetime(2026, 3, 30, 7, tzinfo=timezone.utc)
    assert h.next_open(datetime(2026, 3, 20, 12, tzinfo=timezone.utc)) == datetime(2026, 3, 23, 8, tzinfo=timezone.utc)


def test_open_until_midnight_joins_the_next_morning():
    h = Hours(center=validate_schedule({"weekly": {"mon": [["20:00", "24:00"]], "tue": [["00:00", "02:00"]]}}))
    assert h.closes_at(shanghai(2026, 3, 2, 21)) == shanghai(2026, 3, 3, 2)
    assert h.open_at(shanghai(2026, 3, 2, 23, 59)) and h.open_at(shanghai(2026, 3, 3, 0))
    assert h.next_open(shanghai(2026, 3, 3, 3)) == shanghai(2026, 3, 9, 20)


def test_a_week_with_no_periods_never_opens():
    h = Hours(center=WeeklySchedule())
    assert h.next_open(shanghai(2026, 3, 2)) is None and not h.open_at(shanghai(2026, 3, 2, 10))


# ---- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize("raw, field", [
    ({"time_zone": "Mars/Olympus", "weekly": {}}, "time_zone"),
    ({"time_zone": "../../etc/passwd", "weekly": {}}, "time_zone"),
    ({"time_zone": 8, "weekly": {}}, "time_zone"),
    ({"weekly": {"mon": [["17:00", "09:00"]]}}, "weekly.mon"),
    ({"weekly": {"mon": [["09:00", "09:00"]]}}, "weekly.mon"),
    ({"weekly": {"mon": [["09:00", "12:00"], ["11:00", "14:00"]]}}, "weekly.mon"),
    ({"weekly": {"tue": [["24:00", "24:00"]]}}, "weekly.tue"),
    ({"weekly": {"tue": [["9:00", "12:00"]]}}, "weekly.tue"),
    ({"weekly": {"tue": [["09:00"]]}}, "weekly.tue"),
    ({"weekly": {"monday": []}}, "weekly"),
    ({"weekly": []}, "weekly"),
    ({"weekly": {}, "extra": 1}, "extra"),
])
def test_bad_schedules_are_refused(raw, field):
    with pytest.raises(HoursError) as info:
        validate_schedule(raw)
    assert info.value.field == field


def test_periods_are_sorted_and_may_touch():
    assert parse_periods([["13:00", "17:00"], ["09:00", "13:00"]], "p") == ((540, 780), (780, 1020))


@pytest.mark.parametrize("raw", [{"kind": "open"}, {"kind": "closed", "periods": [["09:00", "10:00"]]},
                                 {"kind": "holiday"}, {"kind": "makeup", "note": "x" * 201}, [], {"kind": "open", "x": 1}])
def test_bad_overrides_are_refused(raw):
    with pytest.raises(HoursError):
        validate_override(date(2026, 3, 3), raw)


# ---- CSV -------------------------------------------------------------------------------------


def test_calendar_csv():
    text = ("date,kind,periods\n# the center's 2027 days\n2027-02-08,closed\n\n"
            "2027-02-20,makeup\n2027-02-21,open,09:00-12:00;13:00-16:00\n")
    days = parse_calendar_csv(text, year=2027)
    assert [(d.day.isoformat(), d.kind) for d in days] == [
        ("2027-02-08", "closed"), ("2027-02-20", "makeup"), ("2027-02-21", "open")]
    assert days[2].periods == ((540, 720), (780, 960))
    h = hours(overrides={d.day: d for d in days})
    assert not h.day(date(2027, 2, 8)).open and h.day(date(2027, 2, 20)).reason == "makeup_workday"


@pytest.mark.parametrize("text, line", [
    ("2027-02-08,closed\n2027-02-30,closed\n", 2),
    ("date,kind\n2027-02-08,closed\n2027-02-09,shut\n", 3),
    ("2027-02-08,open\n", 1),
    ("2027-02-08,open,09:00-08:00\n", 1),
    ("2027-02-08,closed\n2027-02-08,makeup\n", 2),
    ("2027-02-08,closed\n2026-02-09,closed\n", 2),  # not in the year imported
    ("2027-02-08,closed,,x\n", 1),
    ("2027-02-08,closed\ndate,kind\n", 2),
])
def test_a_bad_csv_row_is_named_by_its_line(text, line):
    with pytest.raises(CalendarCsvError) as info:
        parse_calendar_csv(text, year=2027)
    assert info.value.line == line


def test_an_empty_csv_is_refused():
    with pytest.raises(CalendarCsvError):
        parse_calendar_csv("date,kind\n\n")
