"""Media through the real server: recordings, leg reconnection, and no leaks over many calls."""

from __future__ import annotations

import asyncio
import gc
import os
import threading

import aiohttp
import av
import pytest
from aiortc import RTCPeerConnection

from signaling.client import Caller, Specialist

SI = "SI-001"


async def specialist(server, *, auto_answer=True) -> Specialist:
    spec = Specialist(server.url, username="demo", password="demo123", media_addresses=["127.0.0.1"])
    await spec.connect()
    await spec.open_leg()  # the persistent leg, opened at log-in
    assert (await spec.set_state("ready", auto_answer=auto_answer))["ok"]
    return spec


async def caller(server) -> Caller:
    c = Caller(server.url, media_addresses=["127.0.0.1"])
    await c.connect()
    await c.open_leg()  # during the "device check", before the request
    return c


async def until(predicate, timeout=10.0, step=0.05):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(step)


def decode_all(path) -> dict:
    out = {"video": 0, "audio": 0, "errors": 0}
    with av.open(str(path)) as container:
        out["duration"] = container.duration / 1e6 if container.duration else 0
        kinds = {s.index: s.type for s in container.streams}
        for packet in container.demux():
            if packet.size == 0:
                continue
            try:
                out[kinds[packet.stream.index]] += len(packet.decode())
            except av.FFmpegError:
                out["errors"] += 1
    return out


async def test_call_is_recorded_per_party_and_served_to_admins(server, tmp_path):
    spec = await specialist(server)
    c = await caller(server)
    try:
        ack = await c.request(SI, "录音测试")
        await c.wait_for("call:connected")
        await c.wait_media(5, 5)
        await spec.wait_media(5, 5)
        await asyncio.sleep(3)
        await c.hangup()
        await spec.wait_for("call:ended")

        async def indexed():  # each file is indexed when it starts, then again once finalized
            row = await server.store.get_session(ack["call_id"], with_events=False)
            return row if [r["state"] for r in row["recordings"]] == ["complete", "complete"] else None

        row = await until(indexed)
        assert {r["party"] for r in row["recordings"]} == {"caller", "specialist"}
        admin = await server.token("admin", "admin123")
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {admin}"}) as http:
            for rec in row["recordings"]:
                assert rec["bytes"] > 0 and rec["url"] == f"/api/recordings/{ack['call_id']}/{rec['party']}"
                async with http.get(server.url + rec["url"]) as resp:
                    assert resp.status == 200 and resp.content_type == "video/webm"
                    body = await resp.read()
                assert len(body) == rec["bytes"]
                async with http.get(server.url + rec["url"], headers={"Range": "bytes=0-99"}) as resp:
                    assert resp.status == 206 and len(await resp.read()) == 100
                path = tmp_path / f"{rec['party']}.webm"
                path.write_bytes(body)
                got = decode_all(path)
                assert got["errors"] == 0, got  # every frame decodes
                assert got["video"] > 30 and got["audio"] > 50, got  # both present
                assert abs(got["duration"] - row["talk_s"]) <= 1.0, (got, row["talk_s"])
                assert abs(rec["duration_s"] - got["duration"]) <= 0.5
        spec_token = await server.token("demo", "demo123")
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {spec_token}"}) as http:
            async with http.get(server.url + row["recordings"][0]["url"]) as resp:
                assert resp.status == 403  # administrators only
    finally:
        await c.close()
        await spec.close()


async def test_recording_can_be_turned_off_per_service_item(server):
    await server.store.set_service_item_recording(SI, False)
    await server.engine.reload_catalog()  # an edit outside the admin API reaches the engine at its next reload
    spec = await specialist(server)
    c = await caller(server)
    try:
        ack = await c.request(SI, "不录音")
        await c.wait_media(5, 5)
        await c.hangup()
        await spec.wait_for("call:ended")
        await asyncio.sleep(0.5)
        row = await server.store.get_session(ack["call_id"], with_events=False)
        assert row["outcome"] == "answered" and row["recordings"] == []
    finally:
        await c.close()
        await spec.close()


@pytest.mark.parametrize("server", [{"media_grace_s": 4}], indirect=True)
async def test_leg_failure_reconnects_within_the_grace_period(server):
    spec = await specialist(server)
    c = await caller(server)
    try:
        ack = await c.request(SI, "断线重连")
        await c.wait_media(5, 5)
        await c.close_leg()  # the caller's leg dies; its socket stays
        await asyncio.sleep(0.5)
        row = await server.store.get_session(ack["call_id"])
        assert row["status"] == "connected"
        assert "media_lost" in [e["type"] for e in row["events"]]
        await c.open_leg()  # a new offer on the same socket: a new leg, bridged again
        await c.wait_media(10, 10)
        before = spec.received["video"]
        await asyncio.sleep(0.5)
        assert spec.received["video"] > before  # the specialist sees the caller again

        async def restored():
            row = await server.store.get_session(ack["call_id"])
            return "media_restored" in [e["type"] for e in row["events"]]

        await until(restored)
        await asyncio.sleep(4)  # past the grace period: the session lives on
        row = await server.store.get_session(ack["call_id"])
        assert row["status"] == "connected"
        await c.hangup()
        row = await server.store.get_session(ack["call_id"])
        assert row["outcome"] == "answered" and row["end_reason"] == "hangup"
    finally:
        await c.close()
        await spec.close()


@pytest.mark.parametrize("server", [{"media_grace_s": 1}], indirect=True)
async def test_leg_failure_beyond_the_grace_period_ends_media_failed(server):
    spec = await specialist(server)
    c = await caller(server)
    try:
        ack = await c.request(SI, "断线")
        await c.wait_media(5, 5)
        await spec.close_leg()  # the specialist's leg dies and does not come back
        ended = await c.wait_for("call:ended", timeout=5)
        assert ended["reason"] == "media_failed" and ended["ended_by"] == "system"
        row = await server.store.get_session(ack["call_id"])
        assert row["end_reason"] == "media_failed" and row["outcome"] == "answered"
    finally:
        await c.close()
        await spec.close()


def _counts() -> dict[str, int]:
    gc.collect()
    threads = [t for t in threading.enumerate() if not t.name.startswith(("ThreadPoolExecutor", "asyncio_"))]
    return {
        "peer_connections": sum(1 for o in gc.get_objects() if isinstance(o, RTCPeerConnection)),
        # engine.io's per-socket ping task outlives its socket by up to one ping
        # interval (25 s) and then ends by itself: not ours, not a leak.
        "tasks": sum(1 for t in asyncio.all_tasks() if t.get_coro().__qualname__ != "AsyncSocket._send_ping"),
        "threads": len(threads),
        "fds": len(os.listdir("/proc/self/fd")),
    }


@pytest.mark.timeout(400)
async def test_hundred_sequential_calls_leave_nothing_behind(server):
    spec = await specialist(server)
    engine = server.engine
    try:
        async def one_call(i: int) -> None:
            c = await caller(server)
            try:
                ack = await c.request(SI, f"caller {i}")
                await c.wait_media(2, 2)
                await c.hangup()
                ended = await spec.wait_for("call:ended")
                assert ended["call_id"] == ack["call_id"]
                assert (await spec.wrapup(ack["call_id"]))["ok"]
                await spec.wait_for("agent:state", predicate=lambda p: p["state"] == "ready")
            finally:
                await c.close()

        async def settled() -> dict[str, int]:
            await engine.media.flush_recordings()
            for _ in range(40):  # let closing legs and sockets finish
                await asyncio.sleep(0.05)
            return _counts()

        for i in range(3):  # warm-up: pools, caches, lazily made helpers
            await one_call(i)
        baseline = await settled()
        tasks_before = set(asyncio.all_tasks())
        for i in range(100):
            await one_call(i)
        after = await settled()
        if after != baseline:  # something may still be closing: one more look
            await asyncio.sleep(1)
            after = _counts()
        new_tasks = [t.get_coro() for t in asyncio.all_tasks() - tasks_before]
        # Nothing grew (a transient task or socket of the warm-up may be gone by now).
        assert all(after[k] <= baseline[k] for k in baseline), (baseline, after, new_tasks[:5])
        assert after["peer_connections"] == baseline["peer_connections"] == 2  # the specialist's leg, both ends
        assert engine.media.stats() == {"legs": 1, "bridges": 0}  # only the specialist's persistent leg
        items, _ = await server.store.list_sessions(limit=200)
        assert sum(1 for r in items if len(r["recordings"]) == 2) >= 100  # every call recorded, both parties
    finally:
        await spec.close()
