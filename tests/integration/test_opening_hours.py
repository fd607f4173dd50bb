"""Opening hours on the real server: the `closed` refusal, GET /api/hours, the admin API, CSV.

Each test runs its own server; a test that sets a schedule removes it again at the end, since
everything else assumes the center is always open."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from signaling.client import Caller

SHANGHAI = ZoneInfo("Asia/Shanghai")
NINE_TO_FIVE = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


async def _req(http, method, url, token=None, body=None, content_type=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if content_type:
        headers["Content-Type"] = content_type
    kwargs = {"json": body} if isinstance(body, (dict, list)) else {"data": body} if body is not None else {}
    async with http.request(method, url, headers=headers, **kwargs) as r:
        return r.status, await r.json()


def _iso(dt: datetime) -> str:
    return dt.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def test_a_request_outside_hours_is_refused_with_the_next_opening(server):
    """A week with no hours and one open hour tomorrow: closed now, whatever the date."""
    admin = await server.token("admin", "admin123")
    tomorrow = datetime.now(SHANGHAI).date() + timedelta(days=1)
    nine = datetime.combine(tomorrow, time(9), tzinfo=SHANGHAI)
    caller = Caller(server.url, media_addresses=["127.0.0.1"])
    async with aiohttp.ClientSession() as http:
        status, body = await _req(http, "PUT", server.url + "/api/admin/hours", admin,
                                  {"time_zone": "Asia/Shanghai", "weekly": {}})
        assert status == 200 and body["configured"] and body["weekly"]["mon"] == []
        status, _ = await _req(http, "PUT", f"{server.url}/api/admin/hours/overrides/{tomorrow}", admin,
                               {"kind": "open", "periods": [["09:00", "10:00"]], "note": "open for one hour"})
        assert status == 200
        try:
            await caller.connect()
            ack = await caller.request("SI-001", "Wang Fang")
            assert ack["ok"] is False and ack["error"]["code"] == "closed"
            assert ack["next_open_at"] == _iso(nine)  # beside `error`, as the contract puts it
            assert f"{tomorrow} 09:00" in ack["error"]["message"]
            status, now = await _req(http, "GET", server.url + "/api/hours/next?service_item=SI-001&days=2")
            assert status == 200 and now["open"] is False and now["next_open_at"] == _iso(nine)
            assert [d["open"] for d in now["days"]] == [False, True] and now["days"][1]["name"] == "open for one hour"
        finally:
            assert (await _req(http, "DELETE", server.url + "/api/admin/hours", admin))[0] == 200
            assert (await _req(http, "DELETE", f"{server.url}/api/admin/hours/overrides/{tomorrow}", admin))[0] == 200
        ack = await caller.request("SI-001", "Wang Fang")  # no schedule: always open again, at once
        assert ack["ok"] is True, ack
        await caller.close()


async def test_hours_shapes_and_the_calendar(server):
    admin = await server.token("admin", "admin123")
    async with aiohttp.ClientSession() as http:
        # No schedule: always open, the calendar not applied (the first day of the Spring Festival).
        status, body = await _req(http, "GET", server.url + "/api/hours?date=2026-02-17")
        assert status == 200
        assert body == {"date": "2026-02-17", "open": True, "periods": [["00:00", "24:00"]], "reason": "workday",
                        "name": None, "time_zone": "Asia/Shanghai", "scheduled": False}
        status, body = await _req(http, "PUT", server.url + "/api/admin/hours", admin, {"weekly": NINE_TO_FIVE})
        assert status == 200 and body["time_zone"] == "Asia/Shanghai"
        try:
            expect = {
                "2026-02-16": (False, [], "holiday"),  # a Monday of the Spring Festival
                "2026-02-14": (True, [["09:00", "17:00"]], "makeup_workday"),  # a Saturday worked
                "2026-02-24": (True, [["09:00", "17:00"]], "workday"),
                "2026-03-01": (False, [], "weekend"),
                "2026-10-01": (False, [], "holiday"),  # National Day
            }
            for day, (is_open, periods, reason) in expect.items():
                status, body = await _req(http, "GET", f"{server.url}/api/hours?date={day}&service_item=SI-001")
                assert status == 200 and (body["open"], body["periods"], body["reason"]) == (is_open, periods, reason), day
            assert (await _req(http, "GET", server.url + "/api/hours?date=2026-02-16"))[1]["name"] == "Spring Festival"
            for bad in ("2026-02-30", "tomorrow", "2026-2-1"):
                status, body = await _req(http, "GET", f"{server.url}/api/hours?date={bad}")
                assert status == 400 and body["error"]["code"] == "invalid_value", bad
            status, body = await _req(http, "GET", server.url + "/api/hours?service_item=NOPE")
            assert status == 404 and body["error"]["code"] == "unknown_service_item"
            status, cal = await _req(http, "GET", server.url + "/api/admin/hours/calendar?year=2026", admin)
            assert status == 200 and cal["known"] and cal["applied"]
            days = {d["date"]: d for d in cal["days"]}
            assert days["2026-02-15"]["official"] == "holiday" and days["2026-02-28"]["reason"] == "makeup_workday"
            status, cal = await _req(http, "GET", server.url + "/api/admin/hours/calendar?year=2027", admin)
            assert status == 200 and cal["known"] is False and cal["days"] == []  # to be imported as CSV
        finally:
            await _req(http, "DELETE", server.url + "/api/admin/hours", admin)


@pytest.mark.parametrize("body, code", [
    ({"time_zone": "Mars/Olympus", "weekly": NINE_TO_FIVE}, "invalid_time_zone"),
    ({"time_zone": "Asia/Shanghai", "weekly": {"mon": [["17:00", "09:00"]]}}, "invalid_hours"),
    ({"weekly": {"mon": [["09:00", "12:00"], ["11:30", "17:00"]]}}, "invalid_hours"),
    ({"weekly": {"funday": []}}, "invalid_hours"),
    ({"weekly": {"mon": [["09:00", "25:00"]]}}, "invalid_hours"),
    ({"time_zone": "Asia/Shanghai"}, "invalid_hours"),
    ([], "invalid_hours"),
])
async def test_bad_schedules_are_refused_in_the_contract_shape(server, body, code):
    admin = await server.token("admin", "admin123")
    async with aiohttp.ClientSession() as http:
        status, answer = await _req(http, "PUT", server.url + "/api/admin/hours", admin, body)
        assert status == 400 and answer["error"]["code"] == code and answer["error"]["message"]
        status, answer = await _req(http, "PUT", server.url + "/api/admin/hours/items/SI-001", admin, body)
        assert status == 400 and answer["error"]["code"] == code
        assert (await _req(http, "GET", server.url + "/api/admin/hours", admin))[1]["configured"] is False


async def test_a_service_item_schedule_falls_back_to_the_centers(server):
    admin = await server.token("admin", "admin123")
    saturday = date(2026, 3, 7)
    async with aiohttp.ClientSession() as http:
        await _req(http, "PUT", server.url + "/api/admin/hours", admin, {"weekly": NINE_TO_FIVE})
        status, body = await _req(http, "PUT", server.url + "/api/admin/hours/items/SI-002", admin,
                                  {"weekly": {"sat": [["10:00", "12:00"]]}})
        assert status == 200 and [i["service_item"] for i in body["items"]] == ["SI-002"]
        try:
            own = (await _req(http, "GET", f"{server.url}/api/hours?date={saturday}&service_item=SI-002"))[1]
            center = (await _req(http, "GET", f"{server.url}/api/hours?date={saturday}&service_item=SI-001"))[1]
            assert own["open"] and own["periods"] == [["10:00", "12:00"]] and not center["open"]
            status, _ = await _req(http, "PUT", server.url + "/api/admin/hours/items/NOPE", admin, {"weekly": {}})
            assert status == 404
            body = (await _req(http, "DELETE", server.url + "/api/admin/hours/items/SI-002", admin))[1]
            assert body["items"] == []
        finally:
            await _req(http, "DELETE", server.url + "/api/admin/hours", admin)


async def test_a_year_imported_as_csv_all_or_nothing(server):
    admin = await server.token("admin", "admin123")
    url = server.url + "/api/admin/hours/overrides"
    good = ("date,kind,periods\n# the center's own 2027 list\n2027-02-05,closed\n2027-02-06,closed\n"
            "2027-02-20,makeup\n2027-02-21,open,09:00-12:00;13:00-16:00\n")
    async with aiohttp.ClientSession() as http:
        status, body = await _req(http, "POST", url + "/import?year=2027", admin, good, "text/csv")
        assert (status, body) == (200, {"imported": 4, "year": 2027})
        bad = "2027-03-01,closed\n2027-03-02,closed\n2027-03-03,shut\n"
        status, body = await _req(http, "POST", url + "/import?year=2027", admin, bad, "text/csv")
        assert status == 400 and body["error"]["code"] == "invalid_calendar" and body["error"]["message"].startswith("line 3:")
        items = (await _req(http, "GET", url + "?year=2027", admin))[1]["items"]
        assert [i["date"] for i in items] == ["2027-02-05", "2027-02-06", "2027-02-20", "2027-02-21"]  # nothing half-imported
        assert items[3]["periods"] == [["09:00", "12:00"], ["13:00", "16:00"]]
        # The year again: it replaces what was there.
        status, _ = await _req(http, "POST", url + "/import?year=2027", admin, "2027-10-01,closed\n", "text/csv")
        assert status == 200 and [i["date"] for i in (await _req(http, "GET", url, admin))[1]["items"]] == ["2027-10-01"]
        status, body = await _req(http, "POST", url + "/import?year=2027", admin, "2026-10-01,closed\n", "text/csv")
        assert status == 400 and "line 1" in body["error"]["message"]
        # Single days.
        status, body = await _req(http, "PUT", url + "/2027-10-02", admin, {"kind": "open"})
        assert status == 400 and body["error"]["code"] == "invalid_override"
        status, body = await _req(http, "PUT", url + "/2027-13-02", admin, {"kind": "closed"})
        assert status == 400 and body["error"]["code"] == "invalid_value"
        status, body = await _req(http, "PUT", url + "/2027-10-02", admin, {"kind": "makeup", "note": "国庆调休"})
        assert status == 200 and body == {"date": "2027-10-02", "kind": "makeup", "periods": [], "note": "国庆调休"}
        assert (await _req(http, "DELETE", url + "/2027-10-02", admin))[0] == 200
        assert (await _req(http, "DELETE", url + "/2027-10-02", admin))[0] == 404
        # Only a center schedule applies them: with none, 1 October 2027 is open.
        assert (await _req(http, "GET", server.url + "/api/hours?date=2027-10-01"))[1]["open"] is True
        await _req(http, "PUT", server.url + "/api/admin/hours", admin, {"weekly": NINE_TO_FIVE})
        try:
            day = (await _req(http, "GET", server.url + "/api/hours?date=2027-10-01"))[1]
            assert (day["open"], day["reason"]) == (False, "holiday")
        finally:
            await _req(http, "DELETE", server.url + "/api/admin/hours", admin)


async def test_the_hours_admin_api_needs_an_administrator(server):
    specialist = await server.token("zhang.wei", "demo123")
    async with aiohttp.ClientSession() as http:
        for method, path in (("GET", "/api/admin/hours"), ("PUT", "/api/admin/hours"), ("DELETE", "/api/admin/hours"),
                             ("GET", "/api/admin/hours/calendar"), ("PUT", "/api/admin/hours/overrides/2027-01-01"),
                             ("POST", "/api/admin/hours/overrides/import")):
            assert (await _req(http, method, server.url + path, None, {"weekly": {}}))[0] == 401, path
            assert (await _req(http, method, server.url + path, specialist, {"weekly": {}}))[0] == 403, path
