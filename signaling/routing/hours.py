"""Opening hours: when the center (or one service item) takes calls. Pure: no I/O, no clock.

The pieces, each checked here and nowhere else:

- a **weekly schedule** (`WeeklySchedule`): a time zone and, for each day of the week, the
  periods it is open (`[["09:00", "12:00"], ["13:30", "17:00"]]`; an empty list is closed);
- the **official calendar** (routing/calendar.py): China's public holidays and make-up working
  days (调休) as the State Council's notice fixes them, from the `chinese-calendar` package;
- **day overrides** (`DayOverride`) an administrator sets or imports: `closed` (shut all day),
  `open` with periods, or `makeup` (a make-up working day: the weekday hours, or given periods).

`Hours` combines them: the schedule of a service item if it has one of its own, else the
center's. With neither, the item is always open and the calendar is not applied (a deployment
that never set hours behaves as before). Once a schedule applies, a day is decided in this
order: an override; else the official calendar (a holiday is closed, a make-up working day opens
with the weekday hours); else the schedule's periods for that day of the week.

Times are `datetime`s with a zone (UTC from the engine); dates are local dates in the
schedule's time zone. Questions others ask: `open_at(t)`, `next_open(t)`, `closes_at(t)`,
`day(d)` (the periods and why), `windows(d)` (the periods of a date as datetimes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable, Mapping, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_TIME_ZONE = "Asia/Shanghai"
REASONS = ("workday", "weekend", "holiday", "makeup_workday")
OVERRIDE_KINDS = ("closed", "open", "makeup")
MAX_PERIODS = 12  # per day: more is a mistake, not a schedule
NOTE_MAX_LEN = 200
HORIZON_DAYS = 400  # next_open looks this far ahead (past a year of holidays) before saying "never"
DAY_MINUTES = 24 * 60

Period = tuple[int, int]  # minutes after local midnight, start < end <= 1440

_TIME = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
_ZONE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}$")


class HoursError(ValueError):
    """A bad schedule, period, time zone or day override; `field` names what was wrong."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


# ---- periods and time zones -------------------------------------------------------------


def parse_time(text: Any, where: str, *, end: bool = False, field: str | None = None) -> int:
    """`HH:MM` → minutes after midnight; `24:00` only as the end of a period."""
    if not isinstance(text, str) or not _TIME.match(text):
        raise HoursError(f"{where}: {text!r} is not a time HH:MM", field or where)
    minutes = int(text[:2]) * 60 + int(text[3:])
    if minutes > DAY_MINUTES or (minutes == DAY_MINUTES and not end):
        raise HoursError(f"{where}: {text} is not a time of day (24:00 may only end a period)", field or where)
    return minutes


def fmt_time(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_periods(raw: Any, where: str) -> tuple[Period, ...]:
    """`[["09:00", "12:00"], ...]` → sorted periods; refuses inverted, empty and overlapping ones
    (periods that touch, 12:00–12:00, are allowed: the day is then open across the join)."""
    if not isinstance(raw, (list, tuple)):
        raise HoursError(f"{where}: expected a list of [start, end] periods", where)
    if len(raw) > MAX_PERIODS:
        raise HoursError(f"{where}: at most {MAX_PERIODS} periods a day", where)
    periods = []
    for i, pair in enumerate(raw):
        at = f"{where}[{i}]"
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise HoursError(f"{at}: a period is [\"HH:MM\", \"HH:MM\"]", where)
        start, end = parse_time(pair[0], at, field=where), parse_time(pair[1], at, end=True, field=where)
        if start >= end:
            raise HoursError(f"{at}: {pair[0]}–{pair[1]} ends before it starts", where)
        periods.append((start, end))
    periods.sort()
    for (s1, e1), (s2, e2) in zip(periods, periods[1:]):
        if s2 < e1:
            raise HoursError(f"{where}: {fmt_time(s1)}–{fmt_time(e1)} overlaps {fmt_time(s2)}–{fmt_time(e2)}", where)
    return tuple(periods)


def parse_period_text(text: str, where: str) -> tuple[Period, ...]:
    """The CSV form: `09:00-12:00;13:30-17:00` (`;` or spaces between periods)."""
    pairs = []
    for part in re.split(r"[;\s]+", text.strip()):
        if part:
            bounds = part.split("-")
            if len(bounds) != 2:
                raise HoursError(f"{where}: {part!r} is not a period HH:MM-HH:MM", where)
            pairs.append(bounds)
    return parse_periods(pairs, where)


def periods_json(periods: Iterable[Period]) -> list[list[str]]:
    return [[fmt_time(s), fmt_time(e)] for s, e in periods]


def zone(name: Any) -> ZoneInfo:
    """An IANA time zone by name (`Asia/Shanghai`); anything else is refused."""
    if not isinstance(name, str) or len(name) > 64 or not _ZONE.match(name):
        raise HoursError(f"time_zone: {name!r} is not an IANA time zone name", "time_zone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise HoursError(f"time_zone: unknown time zone {name!r}", "time_zone") from None


# ---- schedules and overrides -------------------------------------------------------------


@dataclass(frozen=True)
class WeeklySchedule:
    """Periods open for each day of the week (Monday first), in `time_zone`."""

    time_zone: str = DEFAULT_TIME_ZONE
    weekly: tuple[tuple[Period, ...], ...] = ((),) * 7

    @property
    def tz(self) -> ZoneInfo:
        return zone(self.time_zone)

    def workday_periods(self) -> tuple[Period, ...]:
        """The hours of a make-up working day: those of the first of Monday–Friday that opens."""
        return next((p for p in self.weekly[:5] if p), ())

    def as_dict(self) -> dict:
        return {"time_zone": self.time_zone, "weekly": {d: periods_json(p) for d, p in zip(DAYS, self.weekly)}}


def validate_schedule(raw: Any, default_zone: str = DEFAULT_TIME_ZONE) -> WeeklySchedule:
    """`{time_zone?, weekly: {mon: [[start, end], ...], ..., sun: []}}`; a day left out is closed."""
    if not isinstance(raw, dict):
        raise HoursError("the schedule must be an object {time_zone, weekly}")
    unknown = set(raw) - {"time_zone", "weekly"}
    if unknown:
        raise HoursError(f"unknown keys: {', '.join(sorted(map(str, unknown)))}", sorted(map(str, unknown))[0])
    name = raw.get("time_zone", default_zone)
    zone(name)
    weekly = raw.get("weekly")
    if not isinstance(weekly, dict):
        raise HoursError("weekly must be an object {mon: [...], ..., sun: [...]}", "weekly")
    bad = set(weekly) - set(DAYS)
    if bad:
        raise HoursError(f"weekly: unknown days {', '.join(sorted(map(str, bad)))} (use {', '.join(DAYS)})", "weekly")
    return WeeklySchedule(name, tuple(parse_periods(weekly.get(d, []), f"weekly.{d}") for d in DAYS))


@dataclass(frozen=True)
class DayOverride:
    """An administrator's ruling on one date: `closed`, `open` with periods, or `makeup`
    (a make-up working day: the given periods, or the schedule's weekday hours when none)."""

    day: date
    kind: str
    periods: tuple[Period, ...] = ()
    note: str = ""

    def as_dict(self) -> dict:
        return {"date": self.day.isoformat(), "kind": self.kind, "periods": periods_json(self.periods), "note": self.note}


def parse_date(raw: Any, where: str = "date") -> date:
    if not isinstance(raw, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        raise HoursError(f"{where}: {raw!r} is not a date YYYY-MM-DD", where)
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise HoursError(f"{where}: {raw} is not a date", where) from None


def make_override(day: date, kind: Any, periods: tuple[Period, ...], note: Any = "") -> DayOverride:
    if kind not in OVERRIDE_KINDS:
        raise HoursError(f"kind must be one of {', '.join(OVERRIDE_KINDS)}", "kind")
    if kind == "open" and not periods:
        raise HoursError("an open day needs its periods", "periods")
    if kind == "closed" and periods:
        raise HoursError("a closed day has no periods", "periods")
    if not isinstance(note, str) or len(note) > NOTE_MAX_LEN:
        raise HoursError(f"note must be text of at most {NOTE_MAX_LEN} characters", "note")
    return DayOverride(day, kind, periods, note.strip())


def validate_override(day: date, raw: Any) -> DayOverride:
    """`{kind, periods?, note?}` for the date `day`."""
    if not isinstance(raw, dict):
        raise HoursError("the override must be an object {kind, periods?, note?}")
    unknown = set(raw) - {"kind", "periods", "note", "date"}
    if unknown:
        raise HoursError(f"unknown keys: {', '.join(sorted(map(str, unknown)))}", sorted(map(str, unknown))[0])
    if "date" in raw and raw["date"] != day.isoformat():
        raise HoursError("date in the body differs from the path", "date")
    periods = parse_periods(raw.get("periods") or [], "periods")
    return make_override(day, raw.get("kind"), periods, raw.get("note", ""))


# ---- the answer for a date ---------------------------------------------------------------


class Calendar(Protocol):
    """The official calendar: (`holiday` | `makeup_workday`, name) for a special date, else None."""

    def official(self, day: date) -> tuple[str, str | None] | None: ...

    def known(self, year: int) -> bool: ...


class NoCalendar:
    def official(self, day: date) -> None:
        return None

    def known(self, year: int) -> bool:
        return False


@dataclass(frozen=True)
class DayHours:
    """One local date: open or not, its periods and why (`reason` as in GET /api/hours).

    `source` says what decided: `always` (no schedule), `schedule`, `calendar` or `override`."""

    day: date
    open: bool
    periods: tuple[Period, ...]
    reason: str
    source: str
    name: str | None = None  # the holiday's name from the calendar, or an override's note

    def as_dict(self) -> dict:
        return {"date": self.day.isoformat(), "open": self.open, "periods": periods_json(self.periods),
                "reason": self.reason}


ALWAYS = ((0, DAY_MINUTES),)


def _weekday_reason(day: date) -> str:
    return "workday" if day.weekday() < 5 else "weekend"


@dataclass
class Hours:
    """Everything that decides whether a service item takes calls at a given moment."""

    center: WeeklySchedule | None = None
    items: Mapping[str, WeeklySchedule] = field(default_factory=dict)
    overrides: Mapping[date, DayOverride] = field(default_factory=dict)
    calendar: Calendar = field(default_factory=NoCalendar)

    def schedule_for(self, item: str | None = None) -> WeeklySchedule | None:
        """The item's own schedule, else the center's, else None (always open)."""
        return self.items.get(item, self.center) if item is not None else self.center

    def scheduled(self, item: str | None = None) -> bool:
        return self.schedule_for(item) is not None

    @property
    def any_scheduled(self) -> bool:
        return self.center is not None or bool(self.items)

    def tz(self, item: str | None = None) -> ZoneInfo:
        schedule = self.schedule_for(item)
        return schedule.tz if schedule is not None else zone(DEFAULT_TIME_ZONE)

    def local_date(self, t: datetime, item: str | None = None) -> date:
        return _aware(t).astimezone(self.tz(item)).date()

    def day(self, day: date, item: str | None = None) -> DayHours:
        schedule = self.schedule_for(item)
        if schedule is None:
            return DayHours(day, True, ALWAYS, _weekday_reason(day), "always")
        override = self.overrides.get(day)
        if override is not None:
            note = override.note or None
            if override.kind == "closed":
                return DayHours(day, False, (), "holiday", "override", note)
            if override.kind == "open":
                return DayHours(day, True, override.periods, _weekday_reason(day), "override", note)
            periods = override.periods or schedule.workday_periods()
            return DayHours(day, bool(periods), periods, "makeup_workday", "override", note)
        official = self.calendar.official(day)
        if official is not None:
            kind, name = official
            if kind == "holiday":
                return DayHours(day, False, (), "holiday", "calendar", name)
            periods = schedule.workday_periods()
            return DayHours(day, bool(periods), periods, "makeup_workday", "calendar", name)
        periods = schedule.weekly[day.weekday()]
        return DayHours(day, bool(periods), periods, _weekday_reason(day), "schedule")

    def periods(self, day: date, item: str | None = None) -> tuple[Period, ...]:
        return self.day(day, item).periods

    def windows(self, day: date, item: str | None = None) -> list[tuple[datetime, datetime]]:
        """The periods of local date `day` as (start, end) datetimes in UTC."""
        tz = self.tz(item)
        return [(_at(day, s, tz), _at(day, e, tz)) for s, e in self.day(day, item).periods]

    def open_at(self, t: datetime, item: str | None = None) -> bool:
        return self._period_at(t, item) is not None

    def closes_at(self, t: datetime, item: str | None = None) -> datetime | None:
        """When the opening that `t` falls in ends (across a join at midnight); None when closed
        at `t` or open without end (no schedule)."""
        if not self.scheduled(item):
            return None
        window = self._period_at(t, item)
        if window is None:
            return None
        for _ in range(HORIZON_DAYS * MAX_PERIODS):
            following = self._period_at(window[1], item)  # one that starts where this one ends
            if following is None:
                return window[1]
            window = following
        return None  # open throughout the horizon

    def next_open(self, t: datetime, item: str | None = None) -> datetime | None:
        """The first moment at or after `t` that is open: `t` itself when open now, None when
        nothing opens within HORIZON_DAYS (a schedule with no periods at all)."""
        t = _aware(t)
        if self.open_at(t, item):
            return t
        first = self.local_date(t, item)
        for offset in range(HORIZON_DAYS):
            for start, _end in self.windows(first + timedelta(days=offset), item):
                if start > t:
                    return start
        return None

    def _period_at(self, t: datetime, item: str | None) -> tuple[datetime, datetime] | None:
        t = _aware(t)
        for start, end in self.windows(t.astimezone(self.tz(item)).date(), item):
            if start <= t < end:
                return start, end
        return None


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)


def _at(day: date, minutes: int, tz: ZoneInfo) -> datetime:
    """Local `day` + `minutes` (1440 = the next midnight) in `tz`, as UTC."""
    # Wall-clock time in the zone (on a DST day 09:00 stays 09:00), then to UTC.
    local = datetime.combine(day + timedelta(days=minutes // DAY_MINUTES),
                             time((minutes % DAY_MINUTES) // 60, minutes % 60), tzinfo=tz)
    return local.astimezone(timezone.utc)
