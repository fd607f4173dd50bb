"""Opening hours in the database: weekly schedules and the calendar's day overrides.

The rules (valid periods, time zones, override kinds) live in `signaling.routing.hours`
(pure); this module reads and writes them. Every write is one transaction: an import of a
calendar CSV keeps all its days or none.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from sqlalchemy import delete, select

from ..routing.hours import DayOverride, HoursError, WeeklySchedule, make_override, parse_periods, periods_json, validate_schedule
from .models import CalendarDay, OpeningHours, ServiceItem, iso

log = logging.getLogger(__name__)

CENTER = ""  # the service item code under which the center's default schedule is kept


class UnknownServiceItem(LookupError):
    pass


@dataclass
class HoursConfig:
    """What the engine needs to decide: the center's schedule, the items' own, the overrides."""

    center: WeeklySchedule | None = None
    items: dict[str, WeeklySchedule] = field(default_factory=dict)
    overrides: dict[date, DayOverride] = field(default_factory=dict)
    updated_at: dict[str, str | None] = field(default_factory=dict)  # schedule key -> ISO time


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _override(row: CalendarDay) -> DayOverride:
    return make_override(row.day, row.kind, parse_periods(row.periods or [], "periods"), row.note or "")


async def load_hours(store) -> HoursConfig:
    """Every schedule and override. A row that no longer passes the rules is skipped with a log
    line (never a crash at start-up)."""
    config = HoursConfig()
    async with store._db() as db:
        schedules = (await db.scalars(select(OpeningHours))).all()
        days = (await db.scalars(select(CalendarDay))).all()
    for row in schedules:
        try:
            schedule = validate_schedule({"time_zone": row.time_zone, "weekly": row.weekly})
        except HoursError as exc:
            log.warning("opening hours of %r skipped: %s", row.service_item_code or "the center", exc.message)
            continue
        if row.service_item_code == CENTER:
            config.center = schedule
        else:
            config.items[row.service_item_code] = schedule
        config.updated_at[row.service_item_code] = iso(row.updated_at)
    for row in days:
        try:
            config.overrides[row.day] = _override(row)
        except HoursError as exc:
            log.warning("calendar override of %s skipped: %s", row.day, exc.message)
    return config


async def save_schedule(store, schedule: WeeklySchedule, item: str = CENTER) -> None:
    """Set the center's schedule (item '') or a service item's own; UnknownServiceItem if none."""
    async with store._db() as db, db.begin():
        if item != CENTER and await db.get(ServiceItem, item) is None:
            raise UnknownServiceItem(item)
        row = await db.get(OpeningHours, item)
        if row is None:
            row = OpeningHours(service_item_code=item)
            db.add(row)
        row.time_zone = schedule.time_zone
        row.weekly = schedule.as_dict()["weekly"]
        row.updated_at = _now()


async def delete_schedule(store, item: str = CENTER) -> bool:
    """Remove a schedule (the center's: always open again); False if there was none."""
    async with store._db() as db, db.begin():
        result = await db.execute(delete(OpeningHours).where(OpeningHours.service_item_code == item))
        return result.rowcount > 0


def _year(stmt, year: int | None):
    if year is None:
        return stmt
    return stmt.where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))


async def list_overrides(store, year: int | None = None) -> list[dict]:
    async with store._db() as db:
        rows = (await db.scalars(_year(select(CalendarDay), year).order_by(CalendarDay.day))).all()
    return [{**_override(row).as_dict(), "updated_at": iso(row.updated_at)} for row in rows]


def _put(db, rows: dict[date, CalendarDay], override: DayOverride, now: datetime) -> None:
    row = rows.get(override.day)
    if row is None:
        row = rows[override.day] = CalendarDay(day=override.day)
        db.add(row)
    row.kind, row.periods, row.note, row.updated_at = override.kind, periods_json(override.periods), override.note, now


async def save_overrides(store, overrides: list[DayOverride], replace_year: int | None = None) -> int:
    """Write the overrides in one transaction; with `replace_year`, that year's other overrides
    are removed first (an imported year replaces what was there)."""
    now = _now()
    async with store._db() as db, db.begin():
        if replace_year is not None:
            await db.execute(_year(delete(CalendarDay), replace_year))
        days = [o.day for o in overrides]
        rows = {row.day: row for row in (await db.scalars(select(CalendarDay).where(CalendarDay.day.in_(days)))).all()}
        for override in overrides:
            _put(db, rows, override, now)
    return len(overrides)


async def delete_override(store, day: date) -> bool:
    async with store._db() as db, db.begin():
        result = await db.execute(delete(CalendarDay).where(CalendarDay.day == day))
        return result.rowcount > 0
