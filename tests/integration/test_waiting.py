"""Waiting when nobody can answer, and a call cut off by the specialist's console: the real
server driven by headless clients (signaling.client)."""

from __future__ import annotations

import pytest

from live_server import caller, specialist

ITEM = "SI-001"  # social insurance: zhang.wei, chen.jing and demo have the skill
OPTIONS = {"wait", "leave"}  # at least these; the center may offer more (extensible objects)


async def event_types(server, call_id: str) -> list[tuple[str, dict]]:
    return [(e["type"], e["data"]) for e in (await server.store.get_session(call_id))["events"]]


async def close(*parts) -> None:
    for p in parts:
        await p.close()


async def test_nobody_staffed_is_told_at_once_on_request_and_while_waiting(server):
    c1, c2 = await caller(server), await caller(server)
    away = await specialist(server, "zhang.wei", ready=False)  # signed in but away: not staffed
    s = None
    try:
        await c1.request(ITEM, "甲")
        queued = await c1.wait_for("call:queued")
        assert (queued["staffed"], queued["estimated_wait_s"], queued["offered"]) == (0, None, False)
        assert OPTIONS <= {option["id"] for option in queued["options"]}
        # The default maximum wait with nobody staffed (VW_MAX_WAIT_NO_AGENT_S, 120 s) ends it.
        assert queued["ends_reason"] == "no_specialist" and 110 <= queued["ends_in_s"] <= 120

        s = await specialist(server, "chen.jing")  # ready: c1 is offered, c2 waits behind it
        offered = await s.wait_for("call:offered")
        await c2.request(ITEM, "乙")
        behind = await c2.wait_for("call:queued")
        assert behind["position"] == 2 and behind["staffed"] == 1 and behind["estimated_wait_s"] > 0
        assert behind["ends_reason"] == "max_wait"  # the default maximum wait (15 min) still applies

        assert (await s.set_state("away"))["ok"]  # declines the offer: nobody is staffed any more
        for c in (c1, c2):
            notice = await c.wait_for("call:queued", predicate=lambda p: p["staffed"] == 0)
            assert notice["estimated_wait_s"] is None and notice["ends_reason"] == "no_specialist"
        assert offered["call_id"] == c1.call_id
    finally:
        await close(c1, c2, away, *([s] if s else []))


@pytest.mark.parametrize("server", [{"max_wait_no_agent_s": 1.0}], indirect=True)
async def test_default_wait_with_nobody_staffed_ends_missed(server):
    c = await caller(server)
    try:
        ack = await c.request(ITEM, "丙")
        ended = await c.wait_for("call:ended", timeout=10)
        assert ended == {"call_id": ack["call_id"], "reason": "no_specialist", "ended_by": "system"}
        row = await server.store.get_session(ack["call_id"])
        assert (row["outcome"], row["end_reason"]) == ("missed", "no_specialist")
    finally:
        await c.close()


@pytest.mark.parametrize("server", [{"max_wait_s": 2.0}], indirect=True)
async def test_default_maximum_wait_ends_missed_even_while_it_rings(server):
    s = await specialist(server, "zhang.wei")  # staffed, but lets the offer ring (15 s)
    c = await caller(server)
    try:
        ack = await c.request(ITEM, "丁")
        queued = await c.wait_for("call:queued")
        assert queued["ends_reason"] == "max_wait" and queued["ends_in_s"] <= 2
        await s.wait_for("call:offered")
        ended = await c.wait_for("call:ended", timeout=10)
        assert ended["reason"] == "max_wait"
        withdrawn = await s.wait_for("call:offer_ended")
        assert withdrawn["reason"] == "withdrawn"
        row = await server.store.get_session(ack["call_id"])
        assert (row["outcome"], row["end_reason"]) == ("missed", "max_wait")
    finally:
        await close(c, s)


@pytest.mark.parametrize("server", [{"reconnect_grace_s": 1.0}], indirect=True)
async def test_a_call_cut_off_by_the_console_is_queued_again_at_the_front(server):
    a = await specialist(server, "zhang.wei", auto_answer=True)
    c1, c2, c3 = await caller(server), await caller(server), await caller(server)
    b = None
    try:
        first = await c1.request(ITEM, "戊")
        await c1.wait_for("call:connected")
        await c2.request(ITEM, "己")  # waits behind the call in progress
        assert (await c2.wait_for("call:queued"))["position"] == 1
        # Not requeueable: a live session, and another caller's.
        refused = await c2.requeue()
        assert refused["ok"] is False and refused["error"]["code"] == "not_requeueable"

        await a.close()  # the console drops: the caller is told at once, then the grace runs out
        lost = await c1.wait_for("call:media", timeout=5)
        assert (lost["party"], lost["state"], lost["reason"]) == ("specialist", "lost", "specialist_disconnected")
        ended = await c1.wait_for("call:ended", timeout=10)
        assert ended["reason"] == "specialist_disconnected" and ended["requeue"]["within_s"] == 120

        refused = await c3.requeue(first["call_id"])  # only the caller of that session
        assert refused["ok"] is False and refused["error"]["code"] == "not_your_call"
        again = await c1.requeue()
        assert again["ok"] and again["call_id"] != first["call_id"] and again["call_token"] and again["reference"]
        queued = await c1.wait_for("call:queued")
        assert queued["call_id"] == again["call_id"] and queued["position"] == 1  # ahead of c2
        assert (await c2.wait_for("call:queued", predicate=lambda p: p["position"] == 2))["staffed"] == 0
        refused = await c1.requeue(first["call_id"])  # once
        assert refused["ok"] is False

        b = await specialist(server, "chen.jing")
        offered = await b.wait_for("call:offered")
        assert offered["call_id"] == again["call_id"]
        assert ("requeued", {"to_session": again["call_id"]}) in await event_types(server, first["call_id"])
        assert ("requeued_from", {"from_session": first["call_id"]}) in await event_types(server, again["call_id"])
        old = await server.store.get_session(first["call_id"])
        assert (old["end_reason"], old["ended_by"]) == ("specialist_disconnected", "specialist")
    finally:
        await close(c1, c2, c3, *([b] if b else []))


async def test_a_call_ended_otherwise_is_not_queued_again(server):
    a = await specialist(server, "zhang.wei", auto_answer=True)
    c = await caller(server)
    try:
        ack = await c.request(ITEM, "庚")
        await c.wait_for("call:connected")
        assert (await a.hangup(ack["call_id"]))["ok"]
        ended = await c.wait_for("call:ended")
        assert "requeue" not in ended
        refused = await c.requeue()
        assert refused["ok"] is False and refused["error"]["code"] == "not_requeueable"
        bad = await c.emit_raw("/caller", "call:requeue", {})
        assert bad["ok"] is False and bad["error"]["code"] == "missing_field"
    finally:
        await close(c, a)
