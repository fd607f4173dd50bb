"""The supervisor monitor through the real server, with real aiortc peers.

An administrator's receive-only leg gets both parties' audio and video while
the parties keep receiving each other and nothing from the administrator;
the monitor stops on request, when the call ends and when the administrator
leaves; only administrators get in, and bad payloads get the contract's error.
"""

from __future__ import annotations

import asyncio

import pytest
import socketio

from signaling.client import Administrator, Caller, EncodedClip, Specialist
from signaling.media import aiortc_hooks

SI = "SI-001"
ADDR = ["127.0.0.1"]

# Each side sends video of its own size, so every received keyframe says whose it is.
CALLER_SIZE, SPECIALIST_SIZE, ADMIN_SIZE = (160, 120), (320, 240), (176, 144)


@pytest.fixture(scope="module")
def clips() -> dict[str, EncodedClip]:
    return {
        name: EncodedClip(width=w, height=h, bitrate=150_000, seconds=2, gop=30)
        for name, (w, h) in (("caller", CALLER_SIZE), ("specialist", SPECIALIST_SIZE), ("admin", ADMIN_SIZE))
    }


async def until(predicate, timeout=10.0, step=0.05):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(step)


def watch_sizes(party) -> set[tuple[int, int]]:
    """Every VP8 keyframe size `party` receives (wrapping the client's own frame counter)."""
    sizes: set[tuple[int, int]] = set()
    for t in party.pc.getTransceivers():
        splitter = aiortc_hooks.splitter_of(t.receiver)
        if splitter is None or t.kind != "video":
            continue
        counted = splitter.on_packet

        def on_packet(mime, packet, counted=counted):
            size = aiortc_hooks.vp8_dimensions(bytes(packet))
            if size is not None:
                sizes.add(size)
            counted(mime, packet)

        splitter.on_packet = on_packet
    return sizes


async def live_call(server, clips):
    spec = Specialist(server.url, username="demo", password="demo123", media_addresses=ADDR, clip=clips["specialist"])
    await spec.connect()
    await spec.open_leg()
    assert (await spec.set_state("ready", auto_answer=True))["ok"]
    caller = Caller(server.url, media_addresses=ADDR, clip=clips["caller"])
    await caller.connect()
    await caller.open_leg()
    assert (await caller.request(SI, "监听测试", company="测试公司"))["ok"]
    await caller.wait_for("call:connected")
    await caller.wait_media(3, 3)
    await spec.wait_media(3, 3)
    return caller, spec


async def admin(server, **kwargs) -> Administrator:
    a = Administrator(server.url, username="admin", password="admin123", media_addresses=ADDR, **kwargs)
    await a.connect()
    return a


async def events(server, call_id) -> list[dict]:
    return (await server.store.get_session(call_id))["events"]


async def test_admin_hears_and_sees_both_parties_silently(server, clips):
    caller, spec = await live_call(server, clips)
    sup = await admin(server)
    try:
        caller_sizes, spec_sizes = watch_sizes(caller), watch_sizes(spec)
        # The administrator offers sendrecv and plays its own clip: none of it may reach a party.
        await sup.open_monitor_leg(send=clips["admin"])
        ack = await sup.monitor_start(caller.call_id)
        assert ack["ok"], ack
        assert ack["call_id"] == caller.call_id and ack["caller"]["name"] == "监听测试"

        await until(lambda: all(s["frames"] >= (20 if s["kind"] == "audio" else 10) for s in sup.slots), timeout=15)
        # m-lines 1-2 carry the caller, 3-4 the specialist (told apart by their picture size).
        assert sup.slots[1]["size"] == CALLER_SIZE
        assert sup.slots[3]["size"] == SPECIALIST_SIZE

        # The parties keep receiving each other, and only each other.
        before = (caller.received["video"], spec.received["video"], caller.received["audio"], spec.received["audio"])
        await asyncio.sleep(1.0)
        after = (caller.received["video"], spec.received["video"], caller.received["audio"], spec.received["audio"])
        assert all(b > a for a, b in zip(before, after)), (before, after)
        assert caller_sizes <= {SPECIALIST_SIZE} and spec_sizes <= {CALLER_SIZE}

        # Server side: the administrator's received media is linked nowhere.
        engine = server.engine
        admin_part = next(p for p in engine.presence.participants.values() if p.role == "admin")
        assert all(not tap.packet_sinks and tap.frame_sink is None for tap in admin_part.leg.inputs().values())
        [monitor] = engine.media.monitors
        assert monitor.links() == {"audio0": "caller audio0", "video0": "caller video0",
                                   "audio1": "specialist audio0", "video1": "specialist video0"}
        assert engine.read.live_calls()[0]["monitored_by"] == ["admin"]

        started = [e for e in await events(server, caller.call_id) if e["type"] == "monitor_started"]
        assert len(started) == 1 and started[0]["data"]["admin"] == "admin"

        # Stop: the administrator's leg falls silent, the call goes on.
        assert (await sup.monitor_stop(caller.call_id))["ok"]
        await asyncio.sleep(0.3)
        frozen = sup.frames()
        parties = (caller.received["video"], spec.received["video"])
        await asyncio.sleep(0.7)
        assert sup.frames() == frozen
        assert caller.received["video"] > parties[0] and spec.received["video"] > parties[1]
        assert engine.media.monitors == []
        stopped = [e for e in await events(server, caller.call_id) if e["type"] == "monitor_stopped"]
        assert stopped[-1]["data"] == {"admin": "admin", "admin_id": stopped[-1]["data"]["admin_id"], "reason": "stopped"}

        # Again, then the call ends: the monitor ends with it.
        assert (await sup.monitor_start(caller.call_id))["ok"]
        await until(lambda: sup.frames()["specialist video"] > frozen["specialist video"] + 5)
        await caller.hangup()
        ended = await sup.wait_for("monitor:ended")
        assert ended == {"call_id": caller.call_id, "reason": "call_ended"}
        assert engine.media.monitors == []
        types = [e["type"] for e in await events(server, caller.call_id)]
        assert types.count("monitor_started") == 2 and types.count("monitor_stopped") == 2
        assert types.index("monitor_stopped", types.index("monitor_started", types.index("monitor_stopped") + 1)) < types.index("ended")
        session = await server.store.get_session(caller.call_id, with_events=False)
        assert session["outcome"] == "answered"
    finally:
        await sup.close()
        await caller.close()
        await spec.close()


async def test_monitor_refusals(server, clips):
    spec_token = await server.token("zhang.wei", "demo123")
    for auth in ({"token": spec_token}, {}, {"token": "forged"}):
        sio = socketio.AsyncClient(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await sio.connect(server.url, namespaces=["/admin"], auth=auth, transports=["websocket"])
        await sio.disconnect()

    sup = await admin(server)
    caller = Caller(server.url, media_addresses=ADDR)
    try:
        def refused(ack, code):
            assert ack["ok"] is False and ack["error"]["code"] == code, ack
            assert isinstance(ack["error"]["message"], str) and ack["error"]["message"]

        for payload, code in ((None, "bad_request"), ("call", "bad_request"), ([], "bad_request"), ({}, "missing_field"),
                              ({"call_id": 7}, "wrong_type"), ({"call_id": ""}, "missing_field"),
                              ({"call_id": "x" * 65}, "too_long")):
            refused(await sup.emit_raw("/admin", "monitor:start", payload), code)
        refused(await sup.emit_raw("/admin", "monitor:stop", {"call_id": 7}), "wrong_type")
        refused(await sup.emit_raw("/admin", "monitor:stop", {}), "not_monitoring")
        refused(await sup.monitor_start("0" * 32), "unknown_call")
        refused(await sup.emit_raw("/admin", "call:hangup", {"call_id": "x"}), "unknown_event")

        # A queued call (nobody ready) cannot be monitored; a connected one needs the leg first.
        await caller.connect()
        assert (await caller.request(SI, "排队中"))["ok"]
        refused(await sup.monitor_start(caller.call_id), "not_connected")
        spec = Specialist(server.url, username="demo", password="demo123", media_addresses=ADDR)
        await spec.connect()
        try:
            assert (await spec.set_state("ready", auto_answer=True))["ok"]
            await caller.wait_for("call:connected")
            refused(await sup.monitor_start(caller.call_id), "no_leg")
            refused(await sup.emit_raw("/admin", "rtc:offer", {"type": "offer", "sdp": "v=0"}), "bad_sdp")
            # Monitoring a call whose parties have no legs yet is allowed: media follows the bridge.
            await sup.open_monitor_leg()
            assert (await sup.monitor_start(caller.call_id))["ok"]
            assert (await sup.monitor_start(caller.call_id))["ok"]  # idempotent
            # The administrator leaves: the monitor is stopped and logged.
            await sup.close()
            await until(lambda: not server.engine.media.monitors)
            stopped = await until(lambda: _stopped(server, caller.call_id))
            assert stopped["data"]["reason"] == "admin_disconnected"
        finally:
            await spec.close()
    finally:
        await sup.close()
        await caller.close()


async def _stopped(server, call_id):
    return next((e for e in await events(server, call_id) if e["type"] == "monitor_stopped"), None)


async def test_monitor_follows_a_call_bridged_after_it_started(server, clips):
    """Start monitoring before the parties' legs are up: the media arrives with the bridge."""
    spec = Specialist(server.url, username="demo", password="demo123", media_addresses=ADDR, clip=clips["specialist"])
    caller = Caller(server.url, media_addresses=ADDR, clip=clips["caller"])
    sup = await admin(server)
    try:
        await spec.connect()
        assert (await spec.set_state("ready", auto_answer=True))["ok"]
        await caller.connect()
        assert (await caller.request(SI, "后接媒体"))["ok"]
        await caller.wait_for("call:connected")
        await sup.open_monitor_leg()
        assert (await sup.monitor_start(caller.call_id))["ok"]
        await spec.open_leg()
        await caller.open_leg()
        await until(lambda: all(s["frames"] >= 5 for s in sup.slots), timeout=15)
        assert sup.slots[1]["size"] == CALLER_SIZE and sup.slots[3]["size"] == SPECIALIST_SIZE
        await caller.wait_media(3, 3)
        await spec.wait_media(3, 3)
    finally:
        await sup.close()
        await caller.close()
        await spec.close()
