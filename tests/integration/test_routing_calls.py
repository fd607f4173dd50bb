"""Routing through the wire contract: queue settings via the admin API, calls via signaling.client."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from live_server import caller, specialist as spec


async def admin_req(server, method, path, body=None, token="admin"):
    headers = {}
    if token == "admin":
        headers["Authorization"] = "Bearer " + await server.token("admin", "admin123")
    elif token:
        headers["Authorization"] = "Bearer " + token
    async with aiohttp.ClientSession() as http:
        async with http.request(method, server.url + path, json=body, headers=headers) as r:
            return r.status, await r.json(content_type=None)


async def configure(server, item, **settings):
    status, body = await admin_req(server, "PUT", f"/api/queues/{item}", settings)
    assert status == 200, body
    return body


async def events(server, call_id):
    return [e["type"] for e in (await server.store.get_session(call_id))["events"]]


async def close(*parts):
    for p in parts:
        await p.close()


async def test_queue_api_reads_validates_and_resets(server):
    status, body = await admin_req(server, "GET", "/api/queues")
    assert status == 200 and len(body["items"]) == 40
    first = body["items"][0]
    assert first["strategy"] == "longest_idle" and first["configured"] is False
    status, body = await admin_req(server, "GET", "/api/queues", token=None)
    assert status == 401 and body["error"]["code"] == "unauthorized"
    status, body = await admin_req(server, "GET", "/api/queues", token=await server.token("demo", "demo123"))
    assert status == 403
    status, body = await admin_req(server, "GET", "/api/queues/NOPE")
    assert status == 404 and body["error"]["code"] == "not_found"
    for bad in ({"strategy": "random"}, {"priority": -1}, {"offer_timeout_s": "x"}, {"overflow_to": "NOPE"},
                {"escalation": [{"after_s": 5}]}, {"overflow_to": "SI-001"}, {"colour": "red"}):
        status, body = await admin_req(server, "PUT", "/api/queues/SI-001", bad)
        assert status == 400 and set(body["error"]) == {"code", "message"}, (bad, body)
    body = await configure(server, "SI-001", strategy="ring-all", priority=2, max_wait_s=300, overflow_to="SI-004",
                           escalation=[{"after_s": 20, "min_proficiency": 1}, {"after_s": 40, "scope": "category"},
                                       {"after_s": 60, "overflow_to": "SI-005"}])
    assert body["strategy"] == "ring_all" and body["configured"] and len(body["escalation"]) == 3
    assert body["live"]["waiting"] == 0
    # All or nothing: the second entry is bad, so the first is not saved either.
    status, body = await admin_req(server, "PUT", "/api/queues", {"items": [
        {"service_item": "SI-002", "priority": 7}, {"service_item": "SI-003", "strategy": "nope"}]})
    assert status == 400 and "entry 2" in body["error"]["message"]
    status, body = await admin_req(server, "GET", "/api/queues/SI-002")
    assert body["priority"] == 0 and body["configured"] is False
    status, body = await admin_req(server, "DELETE", "/api/queues/SI-001")
    assert status == 200 and body["configured"] is False and body["strategy"] == "longest_idle"


@pytest.mark.parametrize("strategy", ["longest_idle", "fewest_calls", "least_talk_time", "round_robin"])
async def test_single_offer_strategies(server, strategy):
    await configure(server, "SI-001", strategy=strategy)
    first = await spec(server, "zhang.wei")
    await asyncio.sleep(0.05)
    second = await spec(server, "chen.jing")
    c1, c2 = await caller(server), await caller(server)
    try:
        ack = await c1.request("SI-001", "甲")
        # Both are idle with no calls today: longest idle, fewest calls, least talk and
        # round robin (lowest id first) all pick zhang.wei, who was ready first.
        offered = await first.wait_for("call:offered")
        assert offered["call_id"] == ack["call_id"]
        assert (await first.accept(ack["call_id"]))["ok"]
        ack2 = await c2.request("SI-001", "乙")
        offered2 = await second.wait_for("call:offered")
        assert offered2["call_id"] == ack2["call_id"]
        assert (await second.accept(ack2["call_id"]))["ok"]
        await c1.hangup()
        await first.wait_for("agent:state", predicate=lambda p: p["state"] == "wrap_up")
        assert (await first.wrapup(ack["call_id"]))["ok"]
        await c2.hangup()
        assert (await second.wrapup(ack2["call_id"]))["ok"] or True
        # Third call: who gets it now depends on the strategy.
        c3 = await caller(server)
        ack3 = await c3.request("SI-001", "丙")
        expected = {"longest_idle": first, "fewest_calls": first, "least_talk_time": None, "round_robin": first}[strategy]
        got = await asyncio.wait_for(_first_offer([first, second]), 5)
        assert got[1]["call_id"] == ack3["call_id"]
        if expected is not None:
            assert got[0] is expected, strategy
        await c3.close()
    finally:
        await close(c1, c2, first, second)


async def _first_offer(specs):
    while True:
        for s in specs:
            queue = s._events.get("call:offered")
            if queue:
                return s, queue.pop(0)
        await asyncio.sleep(0.02)


async def test_ring_all_first_accept_wins_and_others_are_withdrawn(server):
    await configure(server, "SI-001", strategy="ring_all")
    a, b = await spec(server, "zhang.wei"), await spec(server, "chen.jing")
    c = await caller(server)
    try:
        ack = await c.request("SI-001", "丁")
        oa, ob = await a.wait_for("call:offered"), await b.wait_for("call:offered")
        assert oa["call_id"] == ob["call_id"] == ack["call_id"]
        assert (await b.accept(ack["call_id"]))["ok"]
        ended = await a.wait_for("call:offer_ended")
        assert ended == {"call_id": ack["call_id"], "reason": "withdrawn"}
        await a.wait_for("agent:state", predicate=lambda p: p["state"] == "ready")
        assert (await a.accept(ack["call_id"]))["ok"] is False
        await c.wait_for("call:connected")
        row = await server.store.get_session(ack["call_id"])
        assert row["specialist"]["username"] == "chen.jing"
    finally:
        await close(c, a, b)


async def test_priority_higher_first_then_fifo(server):
    await configure(server, "SI-002", priority=5)
    s = await spec(server, "zhang.wei", ready=False)
    callers = [await caller(server) for _ in range(3)]
    try:
        low1 = await callers[0].request("SI-001", "low 1")
        low2 = await callers[1].request("SI-001", "low 2")
        high = await callers[2].request("SI-002", "high")
        assert (await s.set_state("ready"))["ok"]
        order = []
        for _ in range(3):
            offered = await s.wait_for("call:offered")
            order.append(offered["call_id"])
            assert (await s.accept(offered["call_id"]))["ok"]
            assert (await s.hangup(offered["call_id"]))["ok"]
            await s.wait_for("agent:state", predicate=lambda p: p["state"] == "wrap_up")
            assert (await s.wrapup(offered["call_id"]))["ok"]
        assert order == [high["call_id"], low1["call_id"], low2["call_id"]]
    finally:
        await close(*callers, s)


async def test_escalation_widens_to_category_and_lower_proficiency(server):
    await server.store.upsert_account("novice", "specialist", "demo123", skills=["SI-001@1"], check_password=False)
    await configure(server, "SI-001", scope="item", min_proficiency=3,
                    escalation=[{"after_s": 1, "min_proficiency": 1}, {"after_s": 2, "scope": "category"}])
    novice, z = await spec(server, "novice"), await spec(server, "zhang.wei")
    c = await caller(server)
    try:
        ack = await c.request("SI-001", "戊")
        await asyncio.sleep(0.5)
        assert not novice._events.get("call:offered") and not z._events.get("call:offered")
        offered = await novice.wait_for("call:offered", timeout=5)  # proficiency 1 is enough after 1 s
        assert offered["call_id"] == ack["call_id"]
        assert (await novice.decline(ack["call_id"]))["ok"]
        offered = await z.wait_for("call:offered", timeout=5)  # category skill counts after 2 s
        assert offered["call_id"] == ack["call_id"]
        assert (await events(server, ack["call_id"])).count("escalated") == 2
    finally:
        await close(c, novice, z)


async def test_overflow_after_max_wait_and_missed_without_overflow(server):
    await configure(server, "SI-001", max_wait_s=1, overflow_to="TX-001")
    await configure(server, "SI-002", max_wait_s=1)
    li = await spec(server, "li.na")  # tax and business registration only
    c1, c2 = await caller(server), await caller(server)
    try:
        ack = await c1.request("SI-001", "己")
        offered = await li.wait_for("call:offered", timeout=5)
        assert offered["call_id"] == ack["call_id"]
        assert "overflowed" in await events(server, ack["call_id"])
        ack2 = await c2.request("SI-002", "庚")
        ended = await c2.wait_for("call:ended", timeout=5)
        assert ended == {"call_id": ack2["call_id"], "reason": "max_wait", "ended_by": "system"}
        row = await server.store.get_session(ack2["call_id"])
        assert row["outcome"] == "missed"
    finally:
        await close(c1, c2, li)


async def test_max_wait_with_nobody_staffed(server):
    await configure(server, "SI-003", max_wait_no_agent_s=1)
    away = await spec(server, "zhang.wei", ready=False)  # logged in but away: not staffed
    c = await caller(server)
    try:
        ack = await c.request("SI-003", "辛")
        ended = await c.wait_for("call:ended", timeout=5)
        assert ended["reason"] == "no_specialist"
        assert (await server.store.get_session(ack["call_id"]))["outcome"] == "missed"
    finally:
        await close(c, away)


async def test_rona_sets_away_and_is_logged(server):
    await configure(server, "SI-001", offer_timeout_s=1, rona_offers=1)
    s = await spec(server, "zhang.wei")
    c = await caller(server)
    try:
        ack = await c.request("SI-001", "壬")
        await s.wait_for("call:offered")
        ended = await s.wait_for("call:offer_ended", timeout=5)
        assert ended["reason"] == "timeout"
        state = await s.wait_for("agent:state", predicate=lambda p: p.get("reason") == "rona", timeout=5)
        assert state["state"] == "away"
        await asyncio.sleep(0.2)
        types = await events(server, ack["call_id"])
        assert "rona" in types and "offer_timeout" in types
    finally:
        await close(c, s)


async def test_wrap_up_time_returns_specialist_to_ready(server):
    await configure(server, "SI-001", wrap_up_s=1)
    s = await spec(server, "zhang.wei")
    c = await caller(server)
    try:
        ack = await c.request("SI-001", "癸")
        await s.wait_for("call:offered")
        assert (await s.accept(ack["call_id"]))["ok"]
        assert (await c.hangup())["ok"]
        ended = await s.wait_for("call:ended")
        assert ended["wrap_up_s"] == 1
        ready = await s.wait_for("agent:state", predicate=lambda p: p.get("reason") == "wrap_up_expired", timeout=5)
        assert ready["state"] == "ready"
        await asyncio.sleep(0.2)
        assert "wrap_up_expired" in await events(server, ack["call_id"])
    finally:
        await close(c, s)


async def test_position_and_estimate_pushed_on_change(server):
    callers = [await caller(server) for _ in range(2)]
    try:
        for i, c in enumerate(callers):
            await c.request("SI-001", f"c{i}")
        q0, q1 = await callers[0].wait_for("call:queued"), await callers[1].wait_for("call:queued")
        assert (q0["position"], q1["position"]) == (1, 2)
        # Nobody is staffed: no estimate is made up, and the callers are told so at once.
        assert (q0["estimated_wait_s"], q0["staffed"], q1["estimated_wait_s"]) == (None, 0, None)
        s = await spec(server, "zhang.wei", ready=False)  # staffing changes: estimates are pushed again
        assert (await s.set_state("ready"))["ok"]
        offered = await s.wait_for("call:offered")
        assert offered["call_id"] == callers[0].call_id
        update = await callers[0].wait_for("call:queued", predicate=lambda p: p["offered"])
        assert update["position"] == 1 and 1 <= update["estimated_wait_s"] <= offered["timeout_s"]  # never "now"
        behind = await callers[1].wait_for("call:queued", predicate=lambda p: p["staffed"] == 1)
        assert behind["position"] == 2 and behind["estimated_wait_s"] > offered["timeout_s"]  # after that call
        await s.close()
    finally:
        await close(*callers)


async def test_shared_queue_serves_several_service_items(server):
    # A district item answered in the municipal department's queue: one queue, one order.
    await configure(server, "SI-001", shared_queue="TX-001")
    status, body = await admin_req(server, "PUT", "/api/queues/SI-002", {"shared_queue": "SI-002"})
    assert status == 400 and body["error"]["code"] == "invalid_queue"
    status, body = await admin_req(server, "PUT", "/api/queues/SI-002", {"shared_queue": "NOPE-1"})
    assert status == 400 and body["error"]["code"] == "unknown_service_item"
    li = await spec(server, "li.na", ready=False)  # tax and business registration only
    c1, c2 = await caller(server), await caller(server)
    try:
        tax = await c1.request("TX-001", "壬")
        si = await c2.request("SI-001", "癸")
        assert (await c1.wait_for("call:queued"))["position"] == 1
        assert (await c2.wait_for("call:queued"))["position"] == 2  # behind the tax caller: same queue
        assert (await li.set_state("ready"))["ok"]
        first = await li.wait_for("call:offered", timeout=5)
        assert first["call_id"] == tax["call_id"]
        assert (await li.accept(tax["call_id"]))["ok"]
        assert (await c2.wait_for("call:queued", predicate=lambda p: p["position"] == 1))["staffed"] == 1
        await c1.hangup()
        await li.wait_for("agent:state", predicate=lambda p: p["state"] == "wrap_up")
        assert (await li.wrapup(tax["call_id"]))["ok"]
        second = await li.wait_for("call:offered", timeout=5)
        assert second["call_id"] == si["call_id"] and second["service_item"]["code"] == "SI-001"
        row = await server.store.get_session(si["call_id"])
        assert row["service_item"]["code"] == "SI-001"  # logged against its own service item
    finally:
        await close(c1, c2, li)
