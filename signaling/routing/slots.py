"""Appointment slots: what may be booked, and when a booked caller is early, on time or a no-show.
Pure: no I/O, no clock (times are given).

- **Slots** cut the opening periods of a date (routing/hours.py `Hours.windows`, per service item,
  with the holiday calendar and overrides) into pieces of `slot_s` seconds from each period's
  start; a piece that would run past the period's end is not a slot. With no schedule set the
  center is always open, so every piece of the day is a slot.
- **Capacity** of a slot: one appointment per specialist who holds the item's skill (the item or
  its category), capped by the center's setting (`VW_APPOINTMENT_SLOT_CAPACITY`, 0 = no cap).
  A booking that names a specialist also needs that specialist free in the slot.
- **Arrival**: a caller may join from `early_s` before the slot's start; after the grace
  (`grace_s` from the slot's start, or from the booking when it was made later) a caller who has
  not come is a no-show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from .hours import Hours


class SlotError(ValueError):
    """A booking the rules refuse; `code` is the contract's error code, `kind` its class
    (`bad_input` 400, `conflict` 409)."""

    def __init__(self, code: str, message: str, kind: str = "conflict"):
        super().__init__(message)
        self.code = code
        self.message = message
        self.kind = kind


@dataclass(frozen=True)
class SlotRules:
    slot_s: float = 1800.0  # VW_APPOINTMENT_SLOT_S
    capacity: int = 0  # VW_APPOINTMENT_SLOT_CAPACITY; 0: as many as the specialists with the skill
    days_ahead: int = 30  # VW_APPOINTMENT_DAYS: how far ahead a slot may be booked
    early_s: float = 600.0  # VW_APPOINTMENT_EARLY_S: joining this long before the start is allowed
    grace_s: float = 600.0  # VW_APPOINTMENT_GRACE_S: not arrived by then: a no-show


@dataclass(frozen=True)
class Slot:
    start: datetime  # aware UTC
    end: datetime


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)


def day_slots(hours: Hours, day: date, item: str, slot_s: float) -> list[Slot]:
    """The slots of local date `day` for `item`, in order."""
    step = timedelta(seconds=slot_s)
    out: list[Slot] = []
    if slot_s <= 0:
        return out
    for start, end in hours.windows(day, item):
        t = start
        while t + step <= end:
            out.append(Slot(t, t + step))
            t += step
    return out


def slot_capacity(specialists_with_skill: int, cap: int) -> int:
    return min(specialists_with_skill, cap) if cap > 0 else specialists_with_skill


def find_slot(hours: Hours, item: str, start: datetime, now: datetime, rules: SlotRules) -> Slot:
    """The slot starting at `start`, if it may still be booked at `now`; else SlotError."""
    start = _utc(start)
    now = _utc(now)
    day = hours.local_date(start, item)
    if not hours.day(day, item).open:
        raise SlotError("closed", f"the center is closed on {day.isoformat()}")
    slot = next((s for s in day_slots(hours, day, item, rules.slot_s) if s.start == start), None)
    if slot is None:
        raise SlotError("not_a_slot", "slot_start is not the start of a slot of this service item", "bad_input")
    if slot.end <= now:
        raise SlotError("slot_past", "this slot is over; please choose a later one")
    if start - now > timedelta(days=rules.days_ahead):
        raise SlotError("too_far_ahead", f"slots can be booked at most {rules.days_ahead} days ahead", "bad_input")
    return slot


def check_room(booked: int, capacity: int, specialist_booked: bool = False) -> None:
    """Room in the slot for one more booking (and, when one was named, its specialist)."""
    if capacity <= 0:
        raise SlotError("no_specialist", "nobody takes appointments for this service item")
    if booked >= capacity:
        raise SlotError("slot_full", "this slot is fully booked; please choose another")
    if specialist_booked:
        raise SlotError("specialist_unavailable", "this specialist is already booked in this slot")


def no_show_at(slot_start: datetime, booked_at: datetime, grace_s: float) -> datetime:
    """When a caller who has not come is a no-show: the grace after the start, or after the
    booking when it was made after the start (a slot booked late still gets its grace)."""
    return max(_utc(slot_start), _utc(booked_at)) + timedelta(seconds=grace_s)


def arrival(slot_start: datetime, booked_at: datetime, now: datetime, rules: SlotRules) -> str:
    """`early` (too early to join), `on_time` (may join: routed first) or `late` (a no-show)."""
    now = _utc(now)
    if now < _utc(slot_start) - timedelta(seconds=rules.early_s):
        return "early"
    if now >= no_show_at(slot_start, booked_at, rules.grace_s):
        return "late"
    return "on_time"
