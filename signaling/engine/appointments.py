"""Appointments in the engine: a booked caller who comes at its time is routed first, and one who
does not come is a no-show after the grace.

The rules are routing/slots.py's (pure: slots, capacity, early / on time / late); the bookings are
in the store (store/appointments.py). This part
- checks an arrival (`call:request` with an appointment token) and hands the session to the
  router first in its queue, only to the booked specialist for a while if one was chosen;
- records the appointment `arrived` (with its session), then `kept` once answered;
- keeps the booked appointments of the coming day in memory (loaded at start-up, after each
  booking, cancelling or rebooking, and every minute) and, from the engine's tick, sends the
  reminder webhook before the slot and records a no-show once its grace has passed. The writes
  run in the background: the tick never waits for the database.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable

from ..routing.slots import SlotRules, arrival, find_slot, no_show_at, slot_capacity
from ..store import appointments as booked
from ..store.models import iso
from .errors import BadInput, Conflict, NotFound, Unavailable
from .live import LiveSession

if TYPE_CHECKING:
    from ..config import Settings
    from ..notify import Notifier

log = logging.getLogger(__name__)

HORIZON = timedelta(days=1)  # booked appointments held in memory: those starting within this
SWEEP_S = 1.0
LOOKUP_TIMEOUT_S = 10.0


def rules_of(settings: "Settings") -> SlotRules:
    return SlotRules(slot_s=settings.appointment_slot_s, capacity=settings.appointment_capacity,
                     days_ahead=settings.appointment_days, early_s=settings.appointment_early_s,
                     grace_s=settings.appointment_grace_s)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def manage_url(base_url: str, token: str) -> str:
    """The caller's link to view, cancel, rebook and, at its time, join its appointment."""
    return f"{base_url}/?appointment={token}"


def notice(appointment: dict, base_url: str) -> dict:
    """What the webhook carries about an appointment."""
    return {
        "reference": appointment["reference"], "service_item": appointment["service_item"],
        "caller": {"name": appointment["caller"]["name"], "phone": appointment["caller"]["phone"]},
        "slot_start": appointment["slot_start"], "slot_end": appointment["slot_end"],
        "specialist": appointment["specialist"]["display_name"] if appointment.get("specialist") else None,
        "manage_url": manage_url(base_url, appointment["token"]) if appointment.get("token") else None,
    }


class Appointments:
    def __init__(self, store: Any, settings: "Settings", notifier: "Notifier", spawn: Callable[[Any], None]):
        self.store = store
        self.enabled = settings.appointments
        self.rules = rules_of(settings)
        self.prefer_s = settings.appointment_prefer_s
        self.remind_s = settings.appointment_remind_s
        self.base_url = settings.base_url()
        self.notifier = notifier
        self.spawn = spawn
        self._pending: dict[str, dict] = {}  # id -> a booked appointment starting within HORIZON
        self._reminded: set[str] = set()
        self._swept_at = float("-inf")

    # -- what is booked ---------------------------------------------------------------------

    async def reload(self) -> None:
        if not self.enabled:
            return
        rows = await booked.pending(self.store, datetime.now(timezone.utc) + HORIZON)
        self._pending = {row["id"]: row for row in rows}

    async def book(self, hours: Any, item: dict, start: datetime, caller: dict, specialist_id: int | None,
                   now: datetime, prefix: str, local_day: str) -> dict:
        """Book the slot of `item` starting at `start` (SlotError when it cannot be had)."""
        slot, capacity = await self._slot(hours, item, start, now)
        appt = await booked.book(self.store, code=item["code"], slot=slot, caller=caller, specialist_id=specialist_id,
                                 capacity=capacity, prefix=prefix, local_day=local_day)
        await self.reload()
        self.notifier.send("appointment_booked", notice(appt, self.base_url))
        return appt

    async def rebook(self, hours: Any, token: str, item: dict, start: datetime, specialist_id: int | None,
                     now: datetime) -> dict:
        """Move the appointment of `token` to another slot of its item."""
        slot, capacity = await self._slot(hours, item, start, now)
        appt = await booked.rebook(self.store, token, slot=slot, specialist_id=specialist_id, capacity=capacity)
        await self.reload()
        return appt

    async def cancel(self, token: str) -> dict:
        appt = await booked.cancel(self.store, token)
        await self.reload()
        self.notifier.send("appointment_cancelled", notice({**appt, "token": None}, self.base_url))
        return appt

    async def _slot(self, hours: Any, item: dict, start: datetime, now: datetime):
        """The slot starting at `start`, and its capacity: one place per specialist with the skill."""
        slot = find_slot(hours, item["code"], start, now, self.rules)
        qualified = await booked.qualified_specialists(self.store, item["code"], item["category"])
        return slot, slot_capacity(len(qualified), self.rules.capacity)

    def sweep(self, now: datetime, mono: float) -> None:
        """From the engine's tick (at most every SWEEP_S): reminders due, no-shows whose grace ran out."""
        if not self._pending or mono - self._swept_at < SWEEP_S:
            return
        self._swept_at = mono
        for appt in list(self._pending.values()):
            start = _at(appt["slot_start"])
            if appt["id"] not in self._reminded and now >= start - timedelta(seconds=self.remind_s):
                self._reminded.add(appt["id"])
                self.notifier.send("appointment_reminder", notice(appt, self.base_url))
            if now >= no_show_at(start, _at(appt["created_at"]), self.rules.grace_s):
                del self._pending[appt["id"]]
                self.spawn(self._no_show(appt, now))

    async def _no_show(self, appt: dict, now: datetime) -> None:
        try:
            changed = await booked.set_status(self.store, appt["id"], "no_show", only_from=("booked",))
        except Exception as exc:  # the database is down: look again after the next reload
            log.warning("no-show of appointment %s not recorded yet: %s", appt["reference"], exc)
            return
        if changed:
            log.info("appointment %s (%s, %s) is a no-show", appt["reference"], appt["service_item"]["code"],
                     appt["slot_start"])
            self.notifier.send("appointment_no_show", notice(appt, self.base_url))

    # -- at the appointment -----------------------------------------------------------------

    async def arrival(self, token: str, service_item: str | None, now: datetime) -> dict:
        """The appointment a `call:request` carries, if the caller may join now; else the refusal."""
        if not self.enabled:
            raise Conflict("appointments_disabled", "this center does not take appointments")
        try:
            appt = await asyncio.wait_for(booked.get(self.store, token=token), LOOKUP_TIMEOUT_S)
        except booked.AppointmentNotFound:
            raise NotFound("unknown_appointment", "no appointment with this link") from None
        except asyncio.TimeoutError:
            raise Unavailable("service_unavailable", "the appointment cannot be looked up right now") from None
        if service_item is not None and service_item != appt["service_item"]["code"]:
            raise BadInput("service_item_mismatch", "this appointment is for another service item")
        if appt["status"] not in ("booked", "arrived"):
            raise Conflict(f"appointment_{appt['status']}", f"this appointment is {appt['status'].replace('_', ' ')}")
        when = arrival(_at(appt["slot_start"]), _at(appt["created_at"]), now, self.rules)
        if when == "early":
            opens = _at(appt["slot_start"]) - timedelta(seconds=self.rules.early_s)
            raise Conflict("too_early", f"you can join from {iso(opens)}, {round(self.rules.early_s / 60)} minutes before your slot")
        if when == "late" and appt["status"] == "booked":
            raise Conflict("appointment_no_show", "the time of this appointment has passed; please book again")
        return {"id": appt["id"], "reference": appt["reference"], "slot_start": appt["slot_start"],
                "specialist_id": appt["specialist"]["id"] if appt["specialist"] else None,
                "caller": appt["caller"], "service_item": appt["service_item"]["code"]}

    def arrived(self, session: LiveSession) -> None:
        appt = session.appointment
        self._pending.pop(appt["id"], None)
        self.spawn(self._set(appt, "arrived", ("booked", "arrived"), session_id=session.id,
                             arrived_at=session.created_at))

    def answered(self, session: LiveSession) -> None:
        if session.appointment is not None:
            self.spawn(self._set(session.appointment, "kept", ("booked", "arrived"), session_id=session.id,
                                 arrived_at=session.created_at))

    async def _set(self, appt: dict, status: str, only_from: tuple[str, ...], **fields: Any) -> None:
        try:
            await booked.set_status(self.store, appt["id"], status, only_from=only_from, **fields)
        except Exception as exc:
            log.warning("appointment %s not recorded %s: %s", appt["reference"], status, exc)
