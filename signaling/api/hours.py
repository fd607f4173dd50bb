"""HTTP endpoints for opening hours and the holiday calendar.

| method and path | who | answer |
|---|---|---|
| `GET /api/hours?date=&service_item=` | anyone | one date: `{date, open, periods, reason, name, time_zone, scheduled}` |
| `GET /api/hours/next?service_item=&days=` | anyone | now and the coming days: `{now, open, next_open_at, closes_at, days, ...}` |
| `GET /api/admin/hours` | admin | the center's schedule and the service items' own |
| `PUT /api/admin/hours` `{time_zone, weekly}` | admin | sets the center's schedule |
| `DELETE /api/admin/hours` | admin | no center schedule: always open again |
| `PUT` / `DELETE /api/admin/hours/items/{service_item}` | admin | a service item's own schedule |
| `GET /api/admin/hours/calendar?year=` | admin | the year's holidays and make-up days (package and overrides) |
| `GET /api/admin/hours/overrides?year=` | admin | `{items: [override]}` |
| `PUT` / `DELETE /api/admin/hours/overrides/{date}` | admin | one day's override `{kind, periods?, note?}` |
| `POST /api/admin/hours/overrides/import?year=` | admin | a CSV of days (`date,kind[,periods]`), all or nothing |

Every change reaches the running engine at once (`SessionEngine.reload_hours`). The rules are
routing/hours.py's; docs/administration.md explains them.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from aiohttp import web

from .. import keys
from ..errors import ApiError, bad_input
from ..routing.calendar import CalendarCsvError, parse_calendar_csv
from ..routing.hours import DayHours, Hours, HoursError, parse_date, validate_override, validate_schedule
from ..store.hours import CENTER, UnknownServiceItem, delete_override, delete_schedule, list_overrides, save_overrides, save_schedule
from ..store.models import iso
from .params import identity, json_body, query_int, text_body

MAX_CSV_BYTES = 256 * 1024
MAX_DAYS = 31


def _hours(request: web.Request) -> Hours:
    return request.app[keys.ENGINE].opening.hours


async def _service_item(request: web.Request, code: str | None) -> str | None:
    """The `service_item` asked about, if any: 404 when there is no such item."""
    if code is None:
        return None
    if len(code) > 64:
        raise bad_input("service_item is longer than 64 characters", "too_long")
    if code not in request.app[keys.ENGINE].catalog and await request.app[keys.STORE].get_service_item(code) is None:
        raise ApiError("unknown_service_item", f"no service item with code {code!r}", 404)
    return code


def _day_json(day: DayHours) -> dict:
    return {**day.as_dict(), "name": day.name}


def _center_zone(request: web.Request) -> str:
    """The center's time zone until a schedule names one: `VW_TIME_ZONE`, as for session references."""
    return request.app[keys.SETTINGS].time_zone


def _where(request: web.Request, hours: Hours, item: str | None) -> dict:
    schedule = hours.schedule_for(item)
    return {"time_zone": schedule.time_zone if schedule else _center_zone(request), "scheduled": schedule is not None}


def _hours_error(exc: HoursError, code: str = "invalid_hours") -> ApiError:
    return bad_input(exc.message, "invalid_time_zone" if exc.field == "time_zone" else code)


# ---- anyone ---------------------------------------------------------------------------------


async def get_hours(request: web.Request) -> web.Response:
    """The contract's `GET /api/hours`: one date (today in the schedule's zone by default)."""
    item = await _service_item(request, request.query.get("service_item") or None)
    hours = _hours(request)
    raw = request.query.get("date") or None
    try:
        day = parse_date(raw) if raw is not None else hours.local_date(datetime.now(timezone.utc), item)
    except HoursError as exc:
        raise bad_input(exc.message, "invalid_value") from None
    return web.json_response({**_day_json(hours.day(day, item)), **_where(request, hours, item)})


async def get_next(request: web.Request) -> web.Response:
    """Is it open now, when does it open next, and the coming days: what the caller page shows."""
    item = await _service_item(request, request.query.get("service_item") or None)
    count = query_int(request, "days", 7, 1, MAX_DAYS)
    hours, now = _hours(request), datetime.now(timezone.utc)
    today = hours.local_date(now, item)
    opens = hours.next_open(now, item)
    return web.json_response({
        "now": iso(now), "open": opens == now, "next_open_at": iso(opens), "closes_at": iso(hours.closes_at(now, item)),
        **_where(request, hours, item),
        "days": [_day_json(hours.day(today + timedelta(days=i), item)) for i in range(count)],
    })


# ---- administrators: schedules ----------------------------------------------------------------


async def _schedules(request: web.Request) -> dict:
    config = await request.app[keys.STORE].opening_hours()
    center = config.center
    return {
        "configured": center is not None,
        "time_zone": center.time_zone if center else _center_zone(request),
        "weekly": center.as_dict()["weekly"] if center else None,
        "updated_at": config.updated_at.get(CENTER),
        "items": [{"service_item": code, **s.as_dict(), "updated_at": config.updated_at.get(code)}
                  for code, s in sorted(config.items.items())],
    }


async def _changed(request: web.Request) -> web.Response:
    await request.app[keys.ENGINE].reload_hours()
    return web.json_response(await _schedules(request))


async def _schedule_body(request: web.Request, default_zone: str) -> object:
    body = await json_body(request)
    try:
        return validate_schedule(body, default_zone)
    except HoursError as exc:
        raise _hours_error(exc) from None


async def get_admin_hours(request: web.Request) -> web.Response:
    identity(request, "admin")
    return web.json_response(await _schedules(request))


async def put_admin_hours(request: web.Request) -> web.Response:
    identity(request, "admin")
    await save_schedule(request.app[keys.STORE], await _schedule_body(request, _center_zone(request)))
    return await _changed(request)


async def delete_admin_hours(request: web.Request) -> web.Response:
    identity(request, "admin")
    await delete_schedule(request.app[keys.STORE])
    return await _changed(request)


async def put_item_hours(request: web.Request) -> web.Response:
    identity(request, "admin")
    code = await _service_item(request, request.match_info["service_item"])
    center = _hours(request).center
    schedule = await _schedule_body(request, center.time_zone if center else _center_zone(request))
    try:
        await save_schedule(request.app[keys.STORE], schedule, code)
    except UnknownServiceItem:
        raise ApiError("unknown_service_item", f"no service item with code {code!r}", 404) from None
    return await _changed(request)


async def delete_item_hours(request: web.Request) -> web.Response:
    identity(request, "admin")
    code = await _service_item(request, request.match_info["service_item"])
    await delete_schedule(request.app[keys.STORE], code)
    return await _changed(request)


# ---- administrators: the calendar -------------------------------------------------------------


def _year(request: web.Request, required: bool = False) -> int | None:
    if not request.query.get("year"):
        return datetime.now(timezone.utc).year if required else None
    return query_int(request, "year", 0, 2000, 2100)


async def get_calendar(request: web.Request) -> web.Response:
    """The year's special days: the official calendar's and the overrides, each as the center's
    schedule decides it (`applied` false: no center schedule, so none of it is applied)."""
    identity(request, "admin")
    year = _year(request, required=True)
    engine = request.app[keys.ENGINE]
    hours, calendar = engine.opening.hours, engine.opening.calendar
    official = {d: (kind, name) for d, kind, name in calendar.year(year)}
    overrides = {o.day: o for o in hours.overrides.values() if o.day.year == year}
    days = []
    for day in sorted(set(official) | set(overrides)):
        decided = hours.day(day)
        kind, name = official.get(day, (None, None))
        override = overrides.get(day)
        days.append({
            **decided.as_dict(), "name": (override.note if override else None) or name,
            "official": kind, "official_name": name, "override": override.as_dict() if override else None,
        })
    return web.json_response({"year": year, "known": calendar.known(year), "applied": hours.center is not None,
                              "time_zone": _where(request, hours, None)["time_zone"], "days": days})


async def get_overrides(request: web.Request) -> web.Response:
    identity(request, "admin")
    return web.json_response({"items": await list_overrides(request.app[keys.STORE], _year(request))})


def _path_date(request: web.Request) -> date:
    try:
        return parse_date(request.match_info["date"])
    except HoursError as exc:
        raise bad_input(exc.message, "invalid_value") from None


async def put_override(request: web.Request) -> web.Response:
    identity(request, "admin")
    day = _path_date(request)
    try:
        override = validate_override(day, await json_body(request))
    except HoursError as exc:
        raise _hours_error(exc, "invalid_override") from None
    await save_overrides(request.app[keys.STORE], [override])
    await request.app[keys.ENGINE].reload_hours()
    return web.json_response(override.as_dict())


async def delete_override_day(request: web.Request) -> web.Response:
    identity(request, "admin")
    day = _path_date(request)
    if not await delete_override(request.app[keys.STORE], day):
        raise ApiError("not_found", f"no override for {day}", 404)
    await request.app[keys.ENGINE].reload_hours()
    return web.json_response({"date": day.isoformat(), "deleted": True})


async def import_overrides(request: web.Request) -> web.Response:
    """A CSV of days; with `year`, it replaces that year's overrides (and every row must be in it)."""
    identity(request, "admin")
    year = _year(request)
    text = await text_body(request, MAX_CSV_BYTES, "calendar file", "invalid_calendar")
    try:
        days = parse_calendar_csv(text, year)
    except CalendarCsvError as exc:
        raise bad_input(str(exc), "invalid_calendar") from None
    count = await save_overrides(request.app[keys.STORE], days, replace_year=year)
    await request.app[keys.ENGINE].reload_hours()
    return web.json_response({"imported": count, "year": year})


def setup_hours_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/hours", get_hours)
    r.add_get("/api/hours/next", get_next)
    r.add_get("/api/admin/hours", get_admin_hours)
    r.add_put("/api/admin/hours", put_admin_hours)
    r.add_delete("/api/admin/hours", delete_admin_hours)
    r.add_put("/api/admin/hours/items/{service_item}", put_item_hours)
    r.add_delete("/api/admin/hours/items/{service_item}", delete_item_hours)
    r.add_get("/api/admin/hours/calendar", get_calendar)
    r.add_get("/api/admin/hours/overrides", get_overrides)
    r.add_post("/api/admin/hours/overrides/import", import_overrides)
    r.add_put("/api/admin/hours/overrides/{date}", put_override)
    r.add_delete("/api/admin/hours/overrides/{date}", delete_override_day)
