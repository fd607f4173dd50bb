"""HTTP endpoints for appointments and the callbacks list.

| method and path | who | answer |
|---|---|---|
| `GET /api/appointments/slots?service_item=&date=` | anyone | the day's slots with their places |
| `POST /api/appointments` `{service_item, slot_start, name, company?, phone?, specialist?}` | anyone | 201 the booking with its `token` and `manage_url` |
| `GET` / `DELETE` / `PATCH /api/appointments/{token}` | the token's holder | view, cancel, rebook `{slot_start, specialist?}` |
| `GET /api/console/appointments?date=` | specialist | the day's appointments, the specialist's own first |
| `GET /api/admin/appointments?date=&service_item=&status=` | admin | the day's appointments (the calendar) |
| `GET /api/admin/callbacks?since=&until=&state=` | admin | callers who kept their place, with the callback's state |

The rules are routing/slots.py's; the bookings store/appointments.py's; docs/contract.md has the shapes.
"""

from __future__ import annotations

import math
import re
import time as clock
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from aiohttp import hdrs, web
from limits import parse_many
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from .. import keys
from .. import validate as v
from ..engine.appointments import _at, manage_url
from ..errors import ApiError, bad_input
from ..routing.hours import HoursError, parse_date
from ..routing.slots import SlotError, arrival, day_slots, slot_capacity
from ..store import appointments as booked
from ..store.models import Appointment, iso
from .params import identity, json_body, query_datetime, query_text
from .security import client_address

TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
BOOKING_KEYS = {"service_item", "slot_start", "name", "company", "phone", "specialist"}
REBOOK_KEYS = {"slot_start", "specialist"}
CALLBACK_STATES = ("held", "alerted", "reached", "missed")


class BookingLimits:
    """Bookings and rebookings made per client address, in moving windows (in memory, per process):
    over them, 429 with Retry-After before anything is written; refusals do not count."""

    def __init__(self, spec: str):
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._items = parse_many(spec)

    async def check(self, address: str) -> None:
        full = [item for item in self._items if not await self._limiter.test(item, "booking", address)]
        if full:
            reset = max([(await self._limiter.get_window_stats(item, "booking", address)).reset_time for item in full])
            retry = max(1, math.ceil(reset - clock.time()))
            raise ApiError("too_many_requests", f"too many bookings from this address; try again in {retry} s", 429,
                           {hdrs.RETRY_AFTER: str(retry)})

    async def made(self, address: str) -> None:
        for item in self._items:
            await self._limiter.hit(item, "booking", address)


BOOKING_LIMITS: web.AppKey[BookingLimits] = web.AppKey("booking_limits", BookingLimits)


def _engine(request: web.Request):
    return request.app[keys.ENGINE]


def _slot_error(exc: SlotError) -> ApiError:
    return bad_input(exc.message, exc.code) if exc.kind == "bad_input" else ApiError(exc.code, exc.message, 409)


def _enabled(request: web.Request) -> None:
    if not _engine(request).appointments.enabled:
        raise ApiError("appointments_disabled", "this center does not take appointments", 404)


async def _item(request: web.Request, code: Any) -> dict:
    if not isinstance(code, str) or not code.strip():
        raise bad_input("service_item is required", "missing_field")
    if len(code) > 64:
        raise bad_input("service_item is longer than 64 characters", "too_long")
    return await _engine(request).service_item(code)


def _day(request: web.Request, raw: str | None) -> date:
    if raw is None:
        return datetime.now(timezone.utc).date()
    try:
        return parse_date(raw)
    except HoursError as exc:
        raise bad_input(exc.message, "invalid_value") from None


def _day_range(hours, day: date, item: str | None) -> tuple[datetime, datetime]:
    tz = hours.tz(item)
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(timezone.utc)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(timezone.utc)


def _instant(body: dict, key: str) -> datetime:
    raw = v.text(body, key, max_len=40)
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise bad_input(f"{key} must be an ISO 8601 date-time, e.g. 2026-12-08T02:00:00Z", "invalid_value") from None
    if value.tzinfo is None:
        raise bad_input(f"{key} must say its time zone (…Z or …+08:00)", "invalid_value")
    return value.astimezone(timezone.utc)


async def _body(request: web.Request, allowed: set[str]) -> dict:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise bad_input("the body must be a JSON object")
    unknown = set(body) - allowed
    if unknown:
        raise bad_input(f"unknown keys: {', '.join(sorted(map(str, unknown)))}", "unknown_field")
    return body


async def _specialist(request: web.Request, item: dict, username: str | None) -> int | None:
    """The specialist a booking names (by username), who must hold the item's skill."""
    if username is None:
        return None
    qualified = await booked.qualified_specialists(request.app[keys.STORE], item["code"], item["category"])
    found = next((s for s in qualified if s["username"] == username), None)
    if found is None:
        raise ApiError("unknown_specialist", f"no specialist {username!r} takes appointments for {item['code']}", 404)
    return found["id"]


def _public(request: web.Request, appt: dict) -> dict:
    """An appointment as its caller sees it: the links and whether it may be joined now."""
    engine = _engine(request)
    rules = engine.appointments.rules
    start = _at(appt["slot_start"])
    joinable = appt["status"] in ("booked", "arrived") and arrival(start, _at(appt["created_at"]),
                                                                  datetime.now(timezone.utc), rules) == "on_time"
    out = {k: v for k, v in appt.items() if k not in ("id", "session_id", "token")}
    out["join"] = {"from": iso(start - timedelta(seconds=rules.early_s)), "open": joinable}
    if appt.get("token"):
        out["token"] = appt["token"]
        out["manage_url"] = manage_url(engine.settings.base_url(), appt["token"])
    return out


async def _by_token(request: web.Request) -> str:
    _enabled(request)
    token = request.match_info["token"]
    if not TOKEN.match(token):
        raise ApiError("not_found", "no appointment with this link", 404)
    return token


async def _found(coro):
    try:
        return await coro
    except booked.AppointmentNotFound:
        raise ApiError("not_found", "no appointment with this link", 404) from None
    except SlotError as exc:
        raise _slot_error(exc) from None


# ---- anyone ---------------------------------------------------------------------------------


async def get_slots(request: web.Request) -> web.Response:
    _enabled(request)
    item = await _item(request, request.query.get("service_item") or None)
    engine, store = _engine(request), request.app[keys.STORE]
    hours, rules = engine.opening.hours, engine.appointments.rules
    now = datetime.now(timezone.utc)
    raw = request.query.get("date") or None
    day = _day(request, raw) if raw is not None else hours.local_date(now, item["code"])
    if day > hours.local_date(now, item["code"]) + timedelta(days=rules.days_ahead):
        raise bad_input(f"slots can be booked at most {rules.days_ahead} days ahead", "too_far_ahead")
    decided = hours.day(day, item["code"])
    slots = day_slots(hours, day, item["code"], rules.slot_s)
    specialists = await booked.qualified_specialists(store, item["code"], item["category"])
    capacity = slot_capacity(len(specialists), rules.capacity)
    taken = await booked.slot_bookings(store, item["code"], *_day_range(hours, day, item["code"]))
    out = []
    for slot in slots:
        named = taken.get(slot.start, [])
        open_ = slot.end > now and len(named) < capacity
        out.append({
            "start": iso(slot.start), "end": iso(slot.end), "capacity": capacity, "booked": len(named),
            "available": open_,
            "specialists": [s["username"] for s in specialists if s["id"] not in named] if open_ else [],
        })
    schedule = hours.schedule_for(item["code"])
    return web.json_response({
        "service_item": item["code"], "date": day.isoformat(), "open": decided.open, "reason": decided.reason,
        "time_zone": schedule.time_zone if schedule else request.app[keys.SETTINGS].time_zone, "slot_s": rules.slot_s,
        "capacity": capacity,
        "specialists": [{"username": s["username"], "display_name": s["display_name"]} for s in specialists],
        "slots": out,
    })


async def post_appointment(request: web.Request) -> web.Response:
    _enabled(request)
    limits, address = request.app[BOOKING_LIMITS], client_address(request)
    await limits.check(address)
    body = await _body(request, BOOKING_KEYS)
    item = await _item(request, body.get("service_item"))
    start = _instant(body, "slot_start")
    caller = {"name": v.text(body, "name", max_len=100), "company": v.text(body, "company", required=False, max_len=200),
              "phone": v.text(body, "phone", required=False, max_len=40)}
    specialist_id = await _specialist(request, item, v.text(body, "specialist", required=False, max_len=64))
    engine, now = _engine(request), datetime.now(timezone.utc)
    appt = await _found(engine.appointments.book(
        engine.opening.hours, item, start, caller, specialist_id, now,
        prefix=engine.settings.reference_prefix, local_day=f"{engine.sessions.references.day_of(now):%Y%m%d}"))
    await limits.made(address)
    return web.json_response(_public(request, appt), status=201)


async def get_appointment(request: web.Request) -> web.Response:
    token = await _by_token(request)
    appt = await _found(booked.get(request.app[keys.STORE], token=token))
    return web.json_response(_public(request, {**appt, "token": token}))


async def delete_appointment(request: web.Request) -> web.Response:
    token = await _by_token(request)
    appt = await _found(_engine(request).appointments.cancel(token))
    return web.json_response(_public(request, {**appt, "token": token}))


async def patch_appointment(request: web.Request) -> web.Response:
    token = await _by_token(request)
    limits, address = request.app[BOOKING_LIMITS], client_address(request)
    await limits.check(address)
    body = await _body(request, REBOOK_KEYS)
    store, engine = request.app[keys.STORE], _engine(request)
    current = await _found(booked.get(store, token=token))
    item = await _item(request, current["service_item"]["code"])
    start = _instant(body, "slot_start")
    specialist_id = await _specialist(request, item, v.text(body, "specialist", required=False, max_len=64))
    appt = await _found(engine.appointments.rebook(engine.opening.hours, token, item, start, specialist_id,
                                                   datetime.now(timezone.utc)))
    await limits.made(address)
    return web.json_response(_public(request, {**appt, "token": token}))


# ---- staff ------------------------------------------------------------------------------------


def _list_params(request: web.Request) -> tuple[date, datetime, datetime]:
    hours = _engine(request).opening.hours
    raw = request.query.get("date") or None
    day = _day(request, raw) if raw is not None else hours.local_date(datetime.now(timezone.utc))
    return (day, *_day_range(hours, day, None))


async def console_appointments(request: web.Request) -> web.Response:
    """The day's appointments for the console: the specialist's own first, then the rest."""
    me = identity(request, "specialist")
    day, start, end = _list_params(request)
    items = await booked.list_between(request.app[keys.STORE], start, end)
    items = [a for a in items if a["status"] != "cancelled"]
    items.sort(key=lambda a: (not (a["specialist"] and a["specialist"]["id"] == me.account_id), a["slot_start"]))
    mine = [{**a, "mine": bool(a["specialist"] and a["specialist"]["id"] == me.account_id)} for a in items]
    return web.json_response({"date": day.isoformat(), "items": mine})


async def admin_appointments(request: web.Request) -> web.Response:
    identity(request, "admin")
    day, start, end = _list_params(request)
    status = request.query.get("status") or None
    if status is not None and status not in Appointment.STATUSES:
        raise bad_input(f"status must be one of: {', '.join(Appointment.STATUSES)}", "invalid_value")
    service_item = query_text(request, "service_item", 64)
    items = await booked.list_between(request.app[keys.STORE], start, end, service_item=service_item, status=status)
    counts = {s: sum(1 for a in items if a["status"] == s) for s in Appointment.STATUSES}
    return web.json_response({"date": day.isoformat(), "items": items, "counts": counts})


async def admin_callbacks(request: web.Request) -> web.Response:
    identity(request, "admin")
    await _engine(request).log_caught_up()
    state = request.query.get("state") or None
    if state is not None and state not in CALLBACK_STATES:
        raise bad_input(f"state must be one of: {', '.join(CALLBACK_STATES)}", "invalid_value")
    items = await booked.list_callbacks(request.app[keys.STORE], query_datetime(request, "since"),
                                        query_datetime(request, "until"), state)
    return web.json_response({"items": items})


def setup_appointment_routes(app: web.Application) -> None:
    app[BOOKING_LIMITS] = BookingLimits(app[keys.SETTINGS].appointment_address_limits)
    r = app.router
    r.add_get("/api/appointments/slots", get_slots)
    r.add_post("/api/appointments", post_appointment)
    r.add_get("/api/appointments/{token}", get_appointment)
    r.add_delete("/api/appointments/{token}", delete_appointment)
    r.add_patch("/api/appointments/{token}", patch_appointment)
    r.add_get("/api/console/appointments", console_appointments)
    r.add_get("/api/admin/appointments", admin_appointments)
    r.add_get("/api/admin/callbacks", admin_callbacks)
