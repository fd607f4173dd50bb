"""Real calls through the real server: socket.io signaling, aiortc legs both ways."""

from __future__ import annotations

import asyncio

import pytest

from signaling.client import Caller, Specialist

SI = "SI-001"  # a demo service item that the demo specialist `demo` may take


async def specialist(server, username="demo", *, ready=True, auto_answer=False, leg=True) -> Specialist:
    spec = Specialist(server.url, username=username, password="demo123", media_addresses=["127.0.0.1"])
    await spec.login()
    await spec.connect()
    if leg:
        await spec.open_leg()
    if ready:
        ack = await spec.set_state("ready", auto_answer=auto_answer)
        assert ack["ok"], ack
    return spec


async def caller(server, *, leg=True) -> Caller:
    c = Caller(server.url, media_addresses=["127.0.0.1"])
    await c.connect()
    if leg:
        await c.open_leg()
    return c


async def session(server, call_id):
    return await server.store.get_session(call_id)


async def test_answered_call_media_both_ways_and_logged(server):
    spec = await specialist(server)
    c = await caller(server)
    try:
        ack = await c.request(SI, "李明", company="示例科技有限公司", phone="13800000000")
        assert ack["ok"] and ack["call_id"] and ack["call_token"]
        queued = await c.wait_for("call:queued")
        assert queued["position"] == 1 and queued["call_id"] == ack["call_id"]
        offered = await spec.wait_for("call:offered")
        assert offered["call_id"] == ack["call_id"]
        assert offered["service_item"]["code"] == SI and offered["caller"]["name"] == "李明"
        assert offered["timeout_s"] > 0 and offered["queued_ms"] >= 0
        assert (await spec.accept(ack["call_id"]))["ok"]
        connected = await c.wait_for("call:connected")
        assert connected["specialist"]["display_name"]
        await spec.wait_for("call:connected")
        await c.wait_media(min_video_frames=10, min_audio_frames=10)
        await spec.wait_media(min_video_frames=10, min_audio_frames=10)
        assert c.received["video"] >= 10 and spec.received["video"] >= 10

        for _ in range(50):  # media_at is committed when frames flow both ways
            row = await session(server, ack["call_id"])
            if row["media_at"]:
                break
            await asyncio.sleep(0.1)
        assert row["status"] == "connected" and row["media_at"]
        assert (await c.hangup())["ok"]
        ended = await spec.wait_for("call:ended")
        assert ended["ended_by"] == "caller"
        state = await spec.wait_for("agent:state", predicate=lambda p: p["state"] == "wrap_up")
        assert state["call_id"] == ack["call_id"]
        assert (await spec.wrapup(ack["call_id"], notes="已办结", disposition="resolved", difficulty=2))["ok"]
        await spec.wait_for("agent:state", predicate=lambda p: p["state"] == "ready")
        assert (await c.rate(5, "很好"))["ok"]
        again = await c.rate(4)
        assert again["ok"] is False and again["error"]["code"] == "already_rated"

        row = await session(server, ack["call_id"])
        assert row["outcome"] == "answered" and row["ended_by"] == "caller"
        for field in ("created_at", "offered_at", "answered_at", "media_at", "ended_at"):
            assert row[field] and row[field].endswith("Z"), field
        assert 0 <= row["wait_ms"] <= row["connect_ms"]
        assert row["notes"] == "已办结" and row["disposition"] == "resolved" and row["difficulty"] == 2
        assert row["satisfaction"] == 5
        assert row["specialist"]["username"] == "demo"
        types = [e["type"] for e in row["events"]]
        for t in ("queued", "offered", "answered", "media", "ended", "wrap_up"):
            assert t in types, t
    finally:
        await c.close()
        await spec.close()


async def test_auto_answer_connects_without_accept(server):
    spec = await specialist(server, auto_answer=True)
    c = await caller(server)
    try:
        ack = await c.request(SI, "王芳")
        await c.wait_for("call:connected")
        await c.wait_media(min_video_frames=5, min_audio_frames=5)
        assert (await spec.hangup(ack["call_id"]))["ok"]
        ended = await c.wait_for("call:ended")
        assert ended["ended_by"] == "specialist"
        row = await session(server, ack["call_id"])
        assert row["outcome"] == "answered" and row["ended_by"] == "specialist"
    finally:
        await c.close()
        await spec.close()


async def test_decline_reoffers_to_next_specialist(server):
    first = await specialist(server, "demo")
    second = await specialist(server, "zhang.wei", leg=False)
    c = await caller(server, leg=False)
    try:
        # zhang.wei must be qualified for the item; pick one both may take.
        item = (await server.store.get_account(second.user["id"]))["skills"]
        code = await _common_item(server, item)
        ack = await c.request(code, "赵强")
        offered = await first.wait_for("call:offered")
        assert (await first.decline(offered["call_id"]))["ok"]
        await first.wait_for("call:offer_ended")
        offered2 = await second.wait_for("call:offered")
        assert offered2["call_id"] == ack["call_id"]
        row = await session(server, ack["call_id"])
        assert [e["type"] for e in row["events"]].count("offered") == 2
        assert "declined" in [e["type"] for e in row["events"]]
    finally:
        await c.close()
        await first.close()
        await second.close()


async def _common_item(server, skills) -> str:
    items = await server.store.search_service_items()
    for item in items:
        if item["code"] in skills or f"category:{item['category']}" in skills:
            return item["code"]
    raise AssertionError("the demo specialist has no skill")


@pytest.mark.parametrize("server", [{"offer_timeout_s": 0.5}], indirect=True)
async def test_offer_timeout_reoffers(server):
    first = await specialist(server, "demo", leg=False)
    second = await specialist(server, "zhang.wei", leg=False)
    c = await caller(server, leg=False)
    try:
        code = await _common_item(server, (await server.store.get_account(second.user["id"]))["skills"])
        ack = await c.request(code, "孙丽")
        await first.wait_for("call:offered")
        ended = await first.wait_for("call:offer_ended", timeout=5)
        assert ended["reason"] == "timeout"
        offered2 = await second.wait_for("call:offered", timeout=5)
        assert offered2["call_id"] == ack["call_id"]
        row = await session(server, ack["call_id"])
        assert "offer_timeout" in [e["type"] for e in row["events"]]
    finally:
        await c.close()
        await first.close()
        await second.close()


async def test_caller_abandons_before_answer(server):
    spec = await specialist(server, ready=False, leg=False)  # nobody ready
    c = await caller(server, leg=False)
    try:
        ack = await c.request(SI, "周杰")
        await c.wait_for("call:queued")
        assert (await c.hangup())["ok"]
        row = await session(server, ack["call_id"])
        assert row["status"] == "ended" and row["outcome"] == "abandoned" and row["ended_by"] == "caller"
        assert row["answered_at"] is None and row["wait_ms"] is None
    finally:
        await c.close()
        await spec.close()


@pytest.mark.parametrize("server", [{"reconnect_grace_s": 0.5}], indirect=True)
async def test_caller_disconnect_while_queued_is_abandoned(server):
    # A queued caller who drops out keeps its place for the reconnect grace
    # (a reload resumes it); after that the session ends as abandoned.
    c = await caller(server, leg=False)
    ack = await c.request(SI, "吴敏")
    await c.wait_for("call:queued")
    await c.close()
    for _ in range(50):
        row = await session(server, ack["call_id"])
        if row["status"] == "ended":
            break
        await asyncio.sleep(0.05)
    assert row["outcome"] == "abandoned" and row["end_reason"] == "caller_left"


async def test_queue_positions_update(server):
    callers = [await caller(server, leg=False) for _ in range(3)]
    try:
        acks = [await c.request(SI, f"caller {i}") for i, c in enumerate(callers)]
        assert [(await c.wait_for("call:queued"))["position"] for c in callers] == [1, 2, 3]
        await callers[0].hangup()
        assert (await callers[1].wait_for("call:queued"))["position"] == 1
        assert (await callers[2].wait_for("call:queued"))["position"] == 2
        assert acks[2]["ok"]
    finally:
        for c in callers:
            await c.close()


@pytest.mark.parametrize("server", [{"reconnect_grace_s": 0.5}], indirect=True)
async def test_specialist_disconnect_ends_call_after_grace(server):
    spec = await specialist(server, auto_answer=True, leg=False)
    c = await caller(server, leg=False)
    try:
        ack = await c.request(SI, "郑洁")
        await c.wait_for("call:connected")
        await spec.close()
        ended = await c.wait_for("call:ended", timeout=5)
        assert ended["ended_by"] == "specialist" and ended["reason"] == "specialist_disconnected"
        row = await session(server, ack["call_id"])
        assert row["outcome"] == "failed"  # answered, but media never flowed
        assert [e["type"] for e in row["events"]].count("specialist_disconnected") == 1
        assert server.engine.router.specialist_state(spec.user["id"]) == "offline"
    finally:
        await c.close()


async def test_specialist_reconnects_within_grace_and_media_resumes(server):
    spec = await specialist(server, auto_answer=True)
    c = await caller(server)
    try:
        ack = await c.request(SI, "钱程")
        await c.wait_for("call:connected")
        await c.wait_media(min_video_frames=5, min_audio_frames=5)
        await spec.close()  # the console reloads

        again = Specialist(server.url, username="demo", password="demo123", media_addresses=["127.0.0.1"])
        await again.connect()
        connected = await again.wait_for("call:connected")
        assert connected["call_id"] == ack["call_id"]
        await again.open_leg()  # the new leg is bridged to the caller's
        await again.wait_media(min_video_frames=5, min_audio_frames=5)
        before = c.received["video"]
        await asyncio.sleep(1)
        assert c.received["video"] > before  # the caller receives the specialist again
        assert (await again.hangup(ack["call_id"]))["ok"]
        row = await session(server, ack["call_id"])
        assert row["outcome"] == "answered" and row["end_reason"] == "hangup"
        types = [e["type"] for e in row["events"]]
        assert "specialist_disconnected" in types and "specialist_reconnected" in types
        await again.close()
    finally:
        await c.close()
