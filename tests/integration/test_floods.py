"""One client cannot starve the others: per-connection rate limits, reserved event names, queries
that stop with their client."""

from __future__ import annotations

import asyncio
import time

import socketio

from signaling.client import Caller
from test_calls import SI, caller, specialist


async def test_a_flooding_console_is_answered_too_many_requests_and_others_are_served(server):
    spec = await specialist(server, leg=False, ready=False)
    c = await caller(server, leg=False)
    try:
        acks = await asyncio.gather(*(spec.emit_raw("/agent", "agent:day", {}) for _ in range(60)))
        codes = [a["error"]["code"] if not a["ok"] else "ok" for a in acks]
        assert "too_many_requests" in codes and codes.count("ok") <= 4
        flood = asyncio.gather(*(spec.emit_raw("/agent", "agent:day", {}) for _ in range(300)))
        started = time.monotonic()
        ack = await c.request(SI, "不受影响")  # another client's request is served during the flood
        assert ack["ok"], ack
        assert time.monotonic() - started < 5
        await flood
    finally:
        await spec.close()
        await c.close()


async def test_the_limit_is_per_connection(server):
    first, second = Caller(server.url), Caller(server.url)
    await first.connect()
    await second.connect()
    try:
        for _ in range(3):
            await first.emit_raw("/caller", "call:hangup", {"call_id": "x"})
        over = await first.emit_raw("/caller", "call:hangup", {"call_id": "x"})
        assert over["ok"] is False  # unknown call or too many; either way answered in shape
        burst = await asyncio.gather(*(first.emit_raw("/caller", "call:request", {"service_item": "NOPE", "name": "x"})
                                       for _ in range(10)))
        assert "too_many_requests" in [a["error"]["code"] for a in burst]
        fine = await second.emit_raw("/caller", "call:request", {"service_item": "NOPE", "name": "x"})
        assert fine["error"]["code"] == "unknown_service_item"  # the other connection is not limited
    finally:
        await first.close()
        await second.close()


async def test_clients_cannot_send_the_servers_own_events(server):
    c = Caller(server.url)
    await c.connect()
    try:
        for name in ("connect", "disconnect"):
            ack = await c.emit_raw("/caller", name, {})
            assert ack["ok"] is False and ack["error"]["code"] == "unknown_event"
        assert len(server.engine.presence.participants) == 1  # no participant was replaced or added
        assert (await c.request(SI, "仍然正常"))["ok"]
    finally:
        await c.close()


async def test_callers_are_capped_per_address(server):
    server.engine.settings.max_sockets_per_address = 3
    server.engine.settings.max_calls_per_address = 2
    callers = [Caller(server.url) for _ in range(4)]
    try:
        for c in callers[:3]:
            await c.connect()
        refusals = []
        callers[3].sio.on("connect_error", refusals.append, namespace="/caller")
        try:
            await callers[3].connect()
            raise AssertionError("a fourth socket from one address was let in")
        except socketio.exceptions.ConnectionError:
            pass
        assert refusals and "too_many_connections" in str(refusals[0])
        assert len(server.engine.presence.caller_addresses) == 3
        callers[3] = Caller(server.url)
        assert (await callers[0].request(SI, "一"))["ok"]
        assert (await callers[1].request(SI, "二"))["ok"]
        third = await callers[2].request(SI, "三")
        assert third["ok"] is False and third["error"]["code"] == "too_many_calls"
        await callers[0].close()  # a socket that leaves frees its place
        await callers[3].connect()
    finally:
        for c in callers:
            await c.close()
