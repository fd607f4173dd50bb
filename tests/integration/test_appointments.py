"""Appointments: booking at the edge (validation, capacity, cancel, rebook), routed first at their
time, and a no-show after the grace: the real server, headless callers (signaling.client)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import aiohttp
import pytest

from live_server import caller, specialist

ITEM = "SI-001"  # social insurance: zhang.wei, chen.jing and demo have the skill


async def api(server, method: str, path: str, **kwargs) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http:
        async with http.request(method, server.url + path, **kwargs) as response:
            return response.status, await response.json(content_type=None)


async def current_slot(server, item: str = ITEM) -> dict:
    status, day = await api(server, "GET", f"/api/appointments/slots?service_item={item}")
    assert status == 200, day
    now = datetime.now(timezone.utc)
    slot = next(s for s in day["slots"] if datetime.fromisoformat(s["end"].replace("Z", "+00:00")) > now)
    return {**slot, "date": day["date"]}  # the center's local date


async def book(server, slot_start: str, name: str = "预约者", **more) -> tuple[int, dict]:
    return await api(server, "POST", "/api/appointments",
                     json={"service_item": ITEM, "slot_start": slot_start, "name": name, **more})


async def test_booking_is_validated_at_the_edge(server):
    slot = await current_slot(server)
    assert slot["capacity"] >= 3 and slot["available"]  # one place per specialist with the skill
    bad = [
        ({"service_item": ITEM, "slot_start": slot["start"]}, 400, "missing_field"),
        ({"service_item": "NOPE", "slot_start": slot["start"], "name": "x"}, 404, "unknown_service_item"),
        ({"service_item": ITEM, "slot_start": "tomorrow", "name": "x"}, 400, "invalid_value"),
        ({"service_item": ITEM, "slot_start": "2026-01-01T00:00:00", "name": "x"}, 400, "invalid_value"),  # no zone
        ({"service_item": ITEM, "slot_start": "2020-01-01T00:00:00Z", "name": "x"}, 409, "slot_past"),
        ({"service_item": ITEM, "slot_start": "2099-01-01T00:00:00Z", "name": "x"}, 400, "too_far_ahead"),
        ({"service_item": ITEM, "slot_start": slot["start"].replace(":00.000Z", ":07.000Z"), "name": "x"}, 400, "not_a_slot"),
        ({"service_item": ITEM, "slot_start": slot["start"], "name": "x", "extra": 1}, 400, "unknown_field"),
        ({"service_item": ITEM, "slot_start": slot["start"], "name": "x", "specialist": "admin"}, 404, "unknown_specialist"),
    ]
    for body, status, code in bad:
        got, answer = await api(server, "POST", "/api/appointments", json=body)
        assert (got, answer["error"]["code"]) == (status, code), (body, answer)
    got, answer = await api(server, "POST", "/api/appointments", data=b"[1]", headers={"Content-Type": "application/json"})
    assert got == 400

    # The booked specialist's place in the slot is taken; the slot fills up at its capacity.
    ok, first = await book(server, slot["start"], specialist="zhang.wei")
    assert ok == 201 and first["status"] == "booked" and first["specialist"]["username"] == "zhang.wei"
    assert first["reference"].startswith("XHA-") and len(first["reference"]) <= 20
    assert first["manage_url"].endswith("/?appointment=" + first["token"])
    got, answer = await book(server, slot["start"], specialist="zhang.wei")
    assert (got, answer["error"]["code"]) == (409, "specialist_unavailable")
    tokens = [first["token"]]
    for i in range(slot["capacity"] - 1):
        got, more = await book(server, slot["start"], name=f"客{i}")
        assert got == 201
        tokens.append(more["token"])
    got, answer = await book(server, slot["start"])
    assert (got, answer["error"]["code"]) == (409, "slot_full")
    status, day = await api(server, "GET", f"/api/appointments/slots?service_item={ITEM}&date={slot['date']}")
    listed = next(s for s in day["slots"] if s["start"] == slot["start"])
    assert listed["booked"] == slot["capacity"] and not listed["available"]

    # View, rebook, cancel with the token; nothing without it.
    status, seen = await api(server, "GET", f"/api/appointments/{first['token']}")
    assert status == 200 and seen["reference"] == first["reference"] and "id" not in seen
    assert (await api(server, "GET", "/api/appointments/" + "x" * 30))[0] == 404
    assert (await api(server, "GET", "/api/appointments/bad%20token"))[0] == 404
    later = next(s for s in day["slots"] if s["start"] > slot["start"] and s["available"])
    status, moved = await api(server, "PATCH", f"/api/appointments/{first['token']}", json={"slot_start": later["start"]})
    assert status == 200 and moved["slot_start"] == later["start"] and moved["specialist"] is None
    status, full = await api(server, "PATCH", f"/api/appointments/{tokens[1]}", json={"slot_start": "nonsense"})
    assert status == 400
    for token in tokens:
        status, cancelled = await api(server, "DELETE", f"/api/appointments/{token}")
        assert status == 200 and cancelled["status"] == "cancelled"
    status, again = await api(server, "DELETE", f"/api/appointments/{first['token']}")
    assert (status, again["error"]["code"]) == (409, "appointment_cancelled")
    status, slots = await api(server, "GET", "/api/appointments/slots?service_item=SI-001&date=2026-13-01")
    assert status == 400
    status, slots = await api(server, "GET", "/api/appointments/slots")
    assert (status, slots["error"]["code"]) == (400, "missing_field")


@pytest.mark.parametrize("server", [{"appointment_slot_s": 60.0}], indirect=True)
async def test_an_appointment_is_routed_first_to_its_booked_specialist(server):
    slot = await current_slot(server)
    ok, appt = await book(server, slot["start"], name="王预约", specialist="chen.jing", phone="13800000000")
    assert ok == 201
    walkin, booked = await caller(server), await caller(server)
    zhang = await specialist(server, "zhang.wei", ready=False)
    chen = await specialist(server, "chen.jing", ready=False)
    try:
        early = await walkin.request(ITEM, "先来的")  # waits: nobody is ready
        assert (await walkin.wait_for("call:queued"))["position"] == 1
        bad = await booked.emit_raw("/caller", "call:request", {"appointment": "y" * 32})
        assert bad["ok"] is False and bad["error"]["code"] == "unknown_appointment"
        ack = await booked.emit_raw("/caller", "call:request", {"appointment": appt["token"]})
        assert ack["ok"], ack
        queued = await booked.wait_for("call:queued")
        assert queued["position"] == 1  # ahead of the walk-in who came first
        assert (await walkin.wait_for("call:queued", predicate=lambda p: p["position"] == 2))
        # The booked specialist is offered it first; the other one gets the walk-in.
        assert (await zhang.set_state("ready"))["ok"]
        offered = await zhang.wait_for("call:offered")
        assert offered["call_id"] == early["call_id"]
        assert (await chen.set_state("ready"))["ok"]
        offered = await chen.wait_for("call:offered")
        assert offered["call_id"] == ack["call_id"] and offered["caller"]["name"] == "王预约"
        assert (await chen.accept(ack["call_id"]))["ok"]
        await booked.wait_for("call:connected")
        for _ in range(50):
            status, seen = await api(server, "GET", f"/api/appointments/{appt['token']}")
            if seen["status"] == "kept":
                break
            await asyncio.sleep(0.1)
        assert seen["status"] == "kept" and seen["arrived_at"]
        session = await server.store.get_session(ack["call_id"])
        assert any(e["type"] == "appointment" and e["data"]["reference"] == appt["reference"] for e in session["events"])
        again = await (await caller(server)).emit_raw("/caller", "call:request", {"appointment": appt["token"]})
        assert again["ok"] is False and again["error"]["code"] == "appointment_kept"
    finally:
        for p in (walkin, booked, zhang, chen):
            await p.close()


@pytest.mark.parametrize("server", [{"appointment_slot_s": 60.0, "appointment_grace_s": 1.0}], indirect=True)
async def test_a_no_show_is_recorded_after_the_grace(server):
    slot = await current_slot(server)
    ok, appt = await book(server, slot["start"], name="没来的")
    assert ok == 201
    for _ in range(100):
        status, seen = await api(server, "GET", f"/api/appointments/{appt['token']}")
        if seen["status"] == "no_show":
            break
        await asyncio.sleep(0.1)
    assert seen["status"] == "no_show"
    c = await caller(server)
    try:
        late = await c.emit_raw("/caller", "call:request", {"appointment": appt["token"]})
        assert late["ok"] is False and late["error"]["code"] == "appointment_no_show"
    finally:
        await c.close()
    admin = await server.token("admin", "admin123")
    status, metrics = await api(server, "GET", "/api/metrics", headers={"Authorization": f"Bearer {admin}"})
    assert status == 200 and metrics["appointments"]["no_show"] == 1 and metrics["appointments"]["booked"] == 1
    status, calendar = await api(server, "GET", f"/api/admin/appointments?date={slot['date']}",
                                 headers={"Authorization": f"Bearer {admin}"})
    assert status == 200 and [a["reference"] for a in calendar["items"]] == [appt["reference"]]
    assert calendar["counts"]["no_show"] == 1


async def test_an_early_arrival_is_told_when_to_come(server):
    status, day = await api(server, "GET", f"/api/appointments/slots?service_item={ITEM}"
                                           f"&date={(datetime.now(timezone.utc) + timedelta(days=2)):%Y-%m-%d}")
    ok, appt = await book(server, day["slots"][20]["start"])
    assert ok == 201
    c = await caller(server)
    try:
        early = await c.emit_raw("/caller", "call:request", {"appointment": appt["token"]})
        assert early["ok"] is False and early["error"]["code"] == "too_early"
        wrong = await c.emit_raw("/caller", "call:request", {"appointment": appt["token"], "service_item": "TX-001"})
        assert wrong["ok"] is False and wrong["error"]["code"] == "service_item_mismatch"
    finally:
        await c.close()


@pytest.mark.parametrize("server", [{"appointment_address_limits": "2/minute"}], indirect=True)
async def test_bookings_per_address_are_limited(server):
    slot = await current_slot(server)
    made = [await book(server, slot["start"], name=f"限{i}") for i in range(2)]
    assert [status for status, _ in made] == [201, 201]
    status, refused = await book(server, slot["start"], name="第三")
    assert (status, refused["error"]["code"]) == (429, "too_many_requests")
    for _, appt in made:
        assert (await api(server, "DELETE", f"/api/appointments/{appt['token']}"))[0] == 200
