"""Appointments in the database (migration 0014): booking, cancelling, rebooking, arrival, kept and
no-show, the day's lists, and their figures for Metrics; the callbacks list from the session log.

The rules of slots (which exist, their capacity, arrival) live in `signaling.routing.slots`
(pure); this module counts what is booked and writes. A booking and a rebooking are one
transaction each that first locks the service item's row, so that two callers cannot both take
the last place of a slot (PostgreSQL; SQLite serializes writers anyway).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ..routing.slots import Slot, SlotError, check_room
from .models import Account, Appointment, CallSession, ServiceItem, SessionEvent, Skill, iso, utc_naive

# Statuses that hold a place in their slot.
HOLDING = ("booked", "arrived", "kept")
CALLBACK_EVENTS = ("callback_requested", "callback_due", "callback_reached", "callback_missed")
CALLBACK_STATES = {"callback_requested": "held", "callback_due": "alerted",
                   "callback_reached": "reached", "callback_missed": "missed"}


class AppointmentNotFound(LookupError):
    pass


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _dict(row: Appointment, item: ServiceItem | None, spec: Account | None) -> dict:
    return {
        "id": row.id,
        "reference": row.reference,
        "status": row.status,
        "service_item": {"code": row.service_item_code, "name": item.name if item else None,
                         "name_en": item.name_en if item else None},
        "slot_start": iso(row.slot_start),
        "slot_end": iso(row.slot_end),
        "caller": {"name": row.caller_name, "company": row.caller_company, "phone": row.caller_phone},
        "specialist": ({"id": spec.id, "username": spec.username, "display_name": spec.display_name}
                       if spec is not None else None),
        "session_id": row.session_id,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
        "arrived_at": iso(row.arrived_at),
    }


def _joined():
    return (select(Appointment, ServiceItem, Account)
            .join(ServiceItem, ServiceItem.code == Appointment.service_item_code)
            .outerjoin(Account, Account.id == Appointment.specialist_id))


# ---- who may take appointments ---------------------------------------------------------------


async def qualified_specialists(store, code: str, category: str) -> list[dict]:
    """The enabled specialists who hold the item's skill or its category's."""
    async with store._db() as db:
        rows = await db.execute(
            select(Account.id, Account.username, Account.display_name)
            .join(Skill, Skill.account_id == Account.id)
            .where(Account.role == "specialist", Account.disabled.is_(False),
                   Skill.target.in_((code, f"category:{category}")))
            .distinct().order_by(Account.display_name, Account.id)
        )
        return [{"id": i, "username": u, "display_name": d} for i, u, d in rows]


async def slot_bookings(store, code: str, start: datetime, end: datetime) -> dict[datetime, list[int | None]]:
    """Slot start (aware UTC) -> the specialists named by its bookings (None: no one named)."""
    async with store._db() as db:
        rows = await db.execute(
            select(Appointment.slot_start, Appointment.specialist_id)
            .where(Appointment.service_item_code == code, Appointment.status.in_(HOLDING),
                   Appointment.slot_start >= utc_naive(start), Appointment.slot_start < utc_naive(end))
        )
        out: dict[datetime, list[int | None]] = {}
        for slot_start, spec in rows:
            out.setdefault(slot_start.replace(tzinfo=timezone.utc), []).append(spec)
        return out


# ---- booking -------------------------------------------------------------------------------


async def _check_room(db, code: str, slot: Slot, capacity: int, specialist_id: int | None,
                      exclude: str | None = None) -> None:
    # Lock the item's row: bookings of one item are made one at a time (no overbooking).
    await db.execute(select(ServiceItem.code).where(ServiceItem.code == code).with_for_update())
    where = [Appointment.service_item_code == code, Appointment.slot_start == utc_naive(slot.start),
             Appointment.status.in_(HOLDING)]
    if exclude is not None:
        where.append(Appointment.id != exclude)
    specs = [s for (s,) in await db.execute(select(Appointment.specialist_id).where(*where))]
    check_room(len(specs), capacity, specialist_id is not None and specialist_id in specs)


async def _next_reference(db, prefix: str, day: str) -> str:
    pattern = f"{prefix}A-{day}-"
    count = await db.scalar(select(func.count()).select_from(Appointment).where(Appointment.reference.like(pattern + "%")))
    return f"{pattern}{count + 1:04d}"


async def book(store, *, code: str, slot: Slot, caller: dict, specialist_id: int | None, capacity: int,
               prefix: str, local_day: str) -> dict:
    """A new booking (SlotError when there is no room); its `token` is the caller's."""
    for _attempt in range(3):  # a reference taken meanwhile by another booking: count again
        now = _now()
        try:
            async with store._db() as db, db.begin():
                await _check_room(db, code, slot, capacity, specialist_id)
                row = Appointment(
                    id=uuid.uuid4().hex, reference=await _next_reference(db, prefix, local_day),
                    token=secrets.token_urlsafe(24), service_item_code=code,
                    slot_start=utc_naive(slot.start), slot_end=utc_naive(slot.end), status="booked",
                    caller_name=caller.get("name") or "", caller_company=caller.get("company") or None,
                    caller_phone=caller.get("phone") or None, specialist_id=specialist_id,
                    created_at=now, updated_at=now,
                )
                db.add(row)
            return {**await get(store, token=row.token), "token": row.token}
        except IntegrityError:
            continue
    raise SlotError("busy", "the booking could not be made; please try again")


async def get(store, *, token: str | None = None, id: str | None = None) -> dict:
    async with store._db() as db:
        where = Appointment.token == token if token is not None else Appointment.id == id
        found = (await db.execute(_joined().where(where))).first()
    if found is None:
        raise AppointmentNotFound(token or id)
    return _dict(*found)


async def _row(db, token: str) -> Appointment:
    row = (await db.scalars(select(Appointment).where(Appointment.token == token).with_for_update())).first()
    if row is None:
        raise AppointmentNotFound(token)
    return row


def _changeable(row: Appointment) -> None:
    if row.status != "booked":
        raise SlotError(f"appointment_{row.status}", f"this appointment is {row.status.replace('_', ' ')} and cannot be changed")


async def cancel(store, token: str) -> dict:
    async with store._db() as db, db.begin():
        row = await _row(db, token)
        _changeable(row)
        row.status, row.updated_at = "cancelled", _now()
    return await get(store, token=token)


async def rebook(store, token: str, *, slot: Slot, specialist_id: int | None, capacity: int) -> dict:
    async with store._db() as db, db.begin():
        row = await _row(db, token)
        _changeable(row)
        await _check_room(db, row.service_item_code, slot, capacity, specialist_id, exclude=row.id)
        row.slot_start, row.slot_end = utc_naive(slot.start), utc_naive(slot.end)
        row.specialist_id, row.updated_at = specialist_id, _now()
    return await get(store, token=token)


# ---- at the appointment -----------------------------------------------------------------------


async def set_status(store, id: str, status: str, *, only_from: tuple[str, ...], **fields: Any) -> bool:
    """Move an appointment on (`arrived`, `kept`, `no_show`) if it is in one of `only_from`."""
    values = {"status": status, "updated_at": _now(), **{k: utc_naive(v) if isinstance(v, datetime) else v
                                                          for k, v in fields.items()}}
    async with store._db() as db, db.begin():
        result = await db.execute(update(Appointment).where(Appointment.id == id, Appointment.status.in_(only_from))
                                  .values(**values))
        return result.rowcount > 0


async def pending(store, until: datetime) -> list[dict]:
    """Booked appointments whose slot starts before `until` (the engine's reminders and no-shows)."""
    async with store._db() as db:
        rows = (await db.execute(_joined().where(Appointment.status == "booked",
                                                 Appointment.slot_start < utc_naive(until)))).all()
    return [{**_dict(*r), "token": r[0].token} for r in rows]


# ---- lists ---------------------------------------------------------------------------------------


async def list_between(store, start: datetime, end: datetime, *, service_item: str | None = None,
                       status: str | None = None, specialist_id: int | None = None) -> list[dict]:
    where = [Appointment.slot_start >= utc_naive(start), Appointment.slot_start < utc_naive(end)]
    if service_item:
        where.append(Appointment.service_item_code == service_item)
    if status:
        where.append(Appointment.status == status)
    if specialist_id is not None:
        where.append(Appointment.specialist_id == specialist_id)
    async with store._report() as db:
        rows = (await db.execute(_joined().where(*where).order_by(Appointment.slot_start, Appointment.reference))).all()
    return [_dict(*r) for r in rows]


async def list_callbacks(store, since: datetime | None, until: datetime | None, state: str | None = None,
                         limit: int = 200) -> list[dict]:
    """Sessions whose caller chose to keep their place, newest first, each with its callback state
    (`held`, `alerted`, `reached`, `missed`: the latest callback event) and when it changed."""
    where = [SessionEvent.type.in_(CALLBACK_EVENTS)]
    if since is not None:
        where.append(SessionEvent.at >= utc_naive(since))
    if until is not None:
        where.append(SessionEvent.at < utc_naive(until))
    async with store._report() as db:
        events = (await db.execute(select(SessionEvent.session_id, SessionEvent.type, SessionEvent.at)
                                   .where(*where).order_by(SessionEvent.at, SessionEvent.id))).all()
        per: dict[str, dict] = {}
        for session_id, type_, at in events:
            entry = per.setdefault(session_id, {"requested_at": None})
            if type_ == "callback_requested" and entry["requested_at"] is None:
                entry["requested_at"] = at
            entry["state"], entry["changed_at"] = CALLBACK_STATES[type_], at
        ids = list(per)[-limit * 4:]
        rows = (await db.execute(
            select(CallSession, ServiceItem.name).join(ServiceItem, ServiceItem.code == CallSession.service_item_code)
            .where(CallSession.id.in_(ids)))).all() if ids else []
    out = []
    for session, name in rows:
        entry = per[session.id]
        if state and entry["state"] != state:
            continue
        out.append({
            "session_id": session.id, "reference": session.reference, "state": entry["state"],
            "service_item": {"code": session.service_item_code, "name": name},
            "caller": {"name": session.caller_name, "company": session.caller_company, "phone": session.caller_phone},
            "requested_at": iso(entry["requested_at"]), "changed_at": iso(entry["changed_at"]),
            "status": session.status, "outcome": session.outcome, "end_reason": session.end_reason,
        })
    out.sort(key=lambda c: c["changed_at"] or "", reverse=True)
    return out[:limit]


# ---- figures for Metrics -------------------------------------------------------------------------


def _range(column, since: datetime | None, until: datetime | None) -> list:
    out = []
    if since is not None:
        out.append(column >= utc_naive(since))
    if until is not None:
        out.append(column < utc_naive(until))
    return out


async def figures(store, since: datetime | None, until: datetime | None, threshold_s: float) -> dict:
    """`callbacks: {requested, reached, missed}` (sessions by their callback events in the range) and
    `appointments: {booked, kept, no_show, cancelled, answered, service_level}` (by slot start in the
    range; `service_level`: the sessions of appointments answered with connect_ms within the
    threshold, over those answered)."""
    threshold_ms = threshold_s * 1000
    async with store._report() as db:
        counts = dict((await db.execute(
            select(SessionEvent.type, func.count(func.distinct(SessionEvent.session_id)))
            .where(SessionEvent.type.in_(("callback_requested", "callback_reached", "callback_missed")),
                   *_range(SessionEvent.at, since, until))
            .group_by(SessionEvent.type))).all())
        by_status = dict((await db.execute(
            select(Appointment.status, func.count()).where(*_range(Appointment.slot_start, since, until))
            .group_by(Appointment.status))).all())
        answered, within = (await db.execute(
            select(func.count(CallSession.id),
                   func.count(CallSession.id).filter(CallSession.connect_ms <= threshold_ms))
            .join(Appointment, Appointment.session_id == CallSession.id)
            .where(*_range(Appointment.slot_start, since, until), CallSession.answered_at.is_not(None)))).one()
    booked = sum(n for status, n in by_status.items() if status != "cancelled")
    return {
        "callbacks": {"requested": counts.get("callback_requested", 0), "reached": counts.get("callback_reached", 0),
                      "missed": counts.get("callback_missed", 0)},
        "appointments": {
            "booked": booked, "kept": by_status.get("kept", 0), "no_show": by_status.get("no_show", 0),
            "cancelled": by_status.get("cancelled", 0), "answered": answered,
            "service_level": round(within / answered, 4) if answered else None,
        },
    }


__all__ = [
    "AppointmentNotFound", "book", "cancel", "figures", "get", "list_between", "list_callbacks", "pending",
    "qualified_specialists", "rebook", "set_status", "slot_bookings",
]

