"""China's official holiday calendar, and the CSV an administrator imports for other years.

`OfficialCalendar` reads the `chinese-calendar` package (github.com/LKI/chinese-calendar), which
carries each year's State Council notice (国务院办公厅关于 20XX 年部分节假日安排的通知): the days
off, weekends inside a holiday included, and the make-up working days (调休上班), each with the
festival's name. Version 1.11 knows 2004–2026; for a year it does not know it answers nothing
(weekdays open, weekends closed) and `known(year)` is False, which the administration pages
show, so that the year's notice is imported as CSV (`parse_calendar_csv`) until a release of
the package has it. Pure: the package is data, read once.

CSV: one day a line, `date,kind[,periods]`, a header line `date,kind,periods` optional, blank
lines and lines starting with `#` skipped. `kind` is `closed` (a holiday), `makeup` (a make-up
working day: the weekday hours, or the periods given) or `open` (open with the periods given).
Periods: `09:00-12:00;13:30-17:00`.
"""

from __future__ import annotations

import csv
import io
from datetime import date

import chinese_calendar

from .hours import DayOverride, HoursError, make_override, parse_date, parse_period_text

MAX_CSV_ROWS = 1000


class OfficialCalendar:
    """Holidays and make-up working days from the `chinese-calendar` package."""

    def __init__(self) -> None:
        self._holidays: dict[date, str | None] = dict(chinese_calendar.holidays)
        self._workdays: dict[date, str | None] = dict(chinese_calendar.workdays)
        years = [d.year for d in self._holidays]
        self.first_year, self.last_year = min(years), max(years)

    def known(self, year: int) -> bool:
        return self.first_year <= year <= self.last_year

    def year(self, year: int) -> list[tuple[date, str, str | None]]:
        """The year's special days, in order: (date, `holiday` | `makeup_workday`, name)."""
        days = [(d, "holiday", n) for d, n in self._holidays.items() if d.year == year]
        days += [(d, "makeup_workday", n) for d, n in self._workdays.items() if d.year == year]
        return sorted(days)

    def official(self, day: date) -> tuple[str, str | None] | None:
        """`("holiday", name)` for a day off the notice lists (a weekend inside a holiday too),
        `("makeup_workday", name)` for a weekend day worked instead, else None (an ordinary
        weekday or weekend, or a year the package does not know)."""
        if day in self._workdays:
            return "makeup_workday", self._workdays[day]
        if day in self._holidays:
            return "holiday", self._holidays[day]
        return None


class CalendarCsvError(ValueError):
    """A bad row of a calendar CSV; `line` is the file's line (1-based)."""

    def __init__(self, line: int | None, message: str):
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.line = line
        self.message = message


def parse_calendar_csv(text: str, year: int | None = None) -> list[DayOverride]:
    """Every row checked before anything is kept: the first bad one raises with its line.

    With `year`, every date must fall in that year. A date listed twice is refused."""
    out: list[DayOverride] = []
    seen: dict[date, int] = {}
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    try:
        for row in reader:
            line, start = start, reader.line_num + 1
            cells = [c.strip() for c in row]
            if not any(cells) or cells[0].startswith("#"):
                continue
            if [c.lower() for c in cells[:2]] == ["date", "kind"]:
                if line != 1 or out:
                    raise CalendarCsvError(line, "the header may only be the first line")
                continue
            if len(cells) not in (2, 3):
                raise CalendarCsvError(line, f"expected date,kind[,periods], found {len(cells)} fields")
            try:
                day = parse_date(cells[0])
                periods = parse_period_text(cells[2], "periods") if len(cells) == 3 else ()
                override = make_override(day, cells[1].lower(), periods)
            except HoursError as exc:
                raise CalendarCsvError(line, exc.message) from None
            if year is not None and day.year != year:
                raise CalendarCsvError(line, f"{day} is not in {year}")
            if day in seen:
                raise CalendarCsvError(line, f"{day} is listed twice (also on line {seen[day]})")
            seen[day] = line
            out.append(override)
            if len(out) > MAX_CSV_ROWS:
                raise CalendarCsvError(line, f"at most {MAX_CSV_ROWS} days in one file")
    except csv.Error as exc:
        raise CalendarCsvError(reader.line_num, f"malformed CSV: {exc}") from None
    if not out:
        raise CalendarCsvError(None, "no days in the file (one a line: date,kind[,periods])")
    return out
