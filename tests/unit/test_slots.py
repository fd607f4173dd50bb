"""Appointment slots (routing/slots.py) against known dates, and the webhook's signature (notify.py)."""

from datetime import date, datetime, timedelta, timezone

import pytest

from signaling.notify import signature, verify
from signaling.routing.calendar import OfficialCalendar
from signaling.routing.hours import Hours, validate_schedule
from signaling.routing.slots import SlotError, SlotRules, arrival, check_room, day_slots, find_slot, no_show_at, slot_capacity

UTC = timezone.utc
WEEKDAYS = {d: [["09:00", "12:00"], ["13:30", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


@pytest.fixture
def hours():
    return Hours(center=validate_schedule({"weekly": WEEKDAYS}), calendar=OfficialCalendar())


def test_slots_cut_the_periods_of_a_day_in_the_center_s_zone(hours):
    slots = day_slots(hours, date(2026, 12, 8), "SI-001", 1800)  # a Tuesday
    assert len(slots) == 6 + 7  # 09:00-12:00 and 13:30-17:00 in half hours
    assert slots[0].start == datetime(2026, 12, 8, 1, 0, tzinfo=UTC)  # 09:00 Beijing
    assert slots[6].start == datetime(2026, 12, 8, 5, 30, tzinfo=UTC)  # 13:30 Beijing
    assert day_slots(hours, date(2026, 12, 8), "SI-001", 3600)[-1].end == datetime(2026, 12, 8, 8, 30, tzinfo=UTC)


def test_holidays_have_no_slots_and_make_up_days_have_the_weekday_ones(hours):
    assert day_slots(hours, date(2026, 2, 17), "SI-001", 1800) == []  # Spring Festival 2026
    assert len(day_slots(hours, date(2026, 2, 28), "SI-001", 1800)) == 13  # Saturday, a make-up working day
    with pytest.raises(SlotError) as err:
        find_slot(hours, "SI-001", datetime(2026, 2, 17, 1, 0, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC), SlotRules())
    assert err.value.code == "closed"


def test_find_slot_refuses_what_cannot_be_booked(hours):
    rules = SlotRules(days_ahead=30)
    now = datetime(2026, 12, 8, 2, 10, tzinfo=UTC)  # 10:10 Beijing
    assert find_slot(hours, "X", datetime(2026, 12, 8, 2, 0, tzinfo=UTC), now, rules).end == datetime(2026, 12, 8, 2, 30, tzinfo=UTC)
    for start, code in ((datetime(2026, 12, 8, 1, 30, tzinfo=UTC), "slot_past"),
                        (datetime(2026, 12, 8, 2, 5, tzinfo=UTC), "not_a_slot"),
                        (datetime(2027, 2, 1, 1, 0, tzinfo=UTC), "too_far_ahead")):
        with pytest.raises(SlotError) as err:
            find_slot(hours, "X", start, now, rules)
        assert err.value.code == code


def test_capacity_and_room():
    assert slot_capacity(3, 0) == 3 and slot_capacity(3, 2) == 2 and slot_capacity(0, 5) == 0
    check_room(1, 2)
    for args, code in (((2, 2), "slot_full"), ((0, 0), "no_specialist"), ((0, 2, True), "specialist_unavailable")):
        with pytest.raises(SlotError) as err:
            check_room(*args)
        assert err.value.code == code


def test_arrival_early_on_time_and_late():
    rules = SlotRules(early_s=600, grace_s=600)
    start = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)
    booked = start - timedelta(days=1)
    assert arrival(start, booked, start - timedelta(minutes=11), rules) == "early"
    assert arrival(start, booked, start - timedelta(minutes=9), rules) == "on_time"
    assert arrival(start, booked, start + timedelta(minutes=9), rules) == "on_time"
    assert arrival(start, booked, start + timedelta(minutes=10), rules) == "late"
    late_booking = start + timedelta(minutes=20)  # booked during its own slot: the grace runs from the booking
    assert no_show_at(start, late_booking, 600) == late_booking + timedelta(minutes=10)


def test_the_webhook_signature():
    body = b'{"event":"callback_due"}'
    header = signature("secret", "1764662400", body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert verify("secret", "1764662400", body, header, now=1764662400 + 10)
    assert not verify("secret", "1764662400", body + b" ", header, now=1764662400)
    assert not verify("secret", "1764662400", body, header, now=1764662400 + 3600)  # a replay
    assert not verify("secret", "not-a-time", body, header)
