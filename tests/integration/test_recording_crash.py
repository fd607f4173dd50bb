"""SIGKILL mid-call on a real server process: the recordings survive, are repaired at restart,
indexed with their true duration, and served to administrators."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from datetime import datetime, timezone

import aiohttp
import pytest

from live_server import free_port
from signaling.client import Caller, Specialist
from test_calls import SI
from test_media_calls import decode_all
from test_shutdown import _serve  # a real server process on tmp_path's database, var and recordings dirs

TALK_S = 4.0  # media both ways for this long before the kill
WITHIN_S = 2.0  # a file decodes to within this of the kill


async def _admin(http: aiohttp.ClientSession, url: str) -> dict[str, str]:
    async with http.post(url + "/api/login", json={"username": "admin", "password": "admin123"}) as r:
        assert r.status == 200, await r.text()
        return {"Authorization": f"Bearer {(await r.json())['token']}"}


async def _session(http, url: str, headers: dict, call_id: str) -> dict:
    async with http.get(f"{url}/api/sessions/{call_id}", headers=headers) as r:
        assert r.status == 200, await r.text()
        return await r.json()


def _utc(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


@pytest.mark.timeout(180)
async def test_sigkill_mid_call_leaves_recordings_that_are_repaired_indexed_and_served(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = await _serve(tmp_path, port)
    spec = Specialist(url, username="demo", password="demo123", media_addresses=["127.0.0.1"])
    c = Caller(url, media_addresses=["127.0.0.1"])
    try:
        await spec.login()
        await spec.connect()
        await spec.open_leg()
        assert (await spec.set_state("ready", auto_answer=True))["ok"]
        await c.connect()
        await c.open_leg()
        ack = await c.request(SI, "断电测试")
        assert ack["ok"], ack
        call_id = ack["call_id"]
        await c.wait_for("call:connected")
        await c.wait_media(5, 5)
        await spec.wait_media(5, 5)
        await asyncio.sleep(TALK_S)
        async with aiohttp.ClientSession() as http:
            admin = await _admin(http, url)
            live = await _session(http, url, admin, call_id)
            # Indexed since each file started, and served as far as it is on disk.
            assert [(r["party"], r["state"]) for r in live["recordings"]] == [
                ("caller", "recording"), ("specialist", "recording")], live["recordings"]
            async with http.get(f"{url}/api/recordings/{call_id}/caller", headers=admin) as r:
                assert r.status == 200 and r.headers["X-Recording-State"] == "recording"
                (tmp_path / "live.webm").write_bytes(await r.read())
        partial = decode_all(tmp_path / "live.webm")  # unfinalized: no duration yet
        assert partial["errors"] == 0 and partial["video"] > 0 and partial["audio"] > 0, partial
        got = (dict(c.received), dict(spec.received))
        assert all(n["video"] > 30 and n["audio"] > 50 for n in got), got  # media both ways
        proc.send_signal(signal.SIGKILL)
        killed_at = datetime.now(timezone.utc)
        assert await asyncio.to_thread(proc.wait, 10) == -signal.SIGKILL
    finally:
        for client in (c, spec):
            await client.close()
        if proc.poll() is None:
            proc.kill()

    files = {party: tmp_path / "recordings" / f"{call_id}-{party}.webm" for party in ("caller", "specialist")}
    assert all(f.stat().st_size > 0 for f in files.values())

    proc = await _serve(tmp_path, port)  # the same database, var dir and recordings dir
    try:
        async with aiohttp.ClientSession() as http:
            admin = await _admin(http, url)
            row = await _session(http, url, admin, call_id)
            assert row["status"] == "ended" and row["end_reason"] == "server_restart", row
            # The recording began at the answer at the earliest: its media ends within 2 s of the kill.
            longest = (killed_at - _utc(row["answered_at"])).total_seconds()
            assert [r["party"] for r in row["recordings"]] == ["caller", "specialist"]
            for rec in row["recordings"]:
                path = files[rec["party"]]
                assert rec["state"] == "repaired", rec
                assert rec["bytes"] == path.stat().st_size
                assert longest - WITHIN_S <= rec["duration_s"] <= longest + 0.2, (rec, longest)
                async with http.get(server_url := url + rec["url"], headers=admin) as r:
                    assert r.status == 200 and r.content_type == "video/webm"
                    assert r.headers["X-Recording-State"] == "repaired"
                    body = await r.read()
                assert len(body) == rec["bytes"]
                async with http.get(server_url, headers={**admin, "Range": "bytes=0-1023"}) as r:
                    assert r.status == 206 and len(await r.read()) == 1024
                served = tmp_path / f"served-{rec['party']}.webm"
                served.write_bytes(body)
                got = decode_all(served)
                assert got["errors"] == 0 and got["video"] > 30 and got["audio"] > 50, got
                assert got["duration"] == pytest.approx(rec["duration_s"], abs=0.1), (got, rec)  # finalized now
                assert got["duration"] >= longest - WITHIN_S, (got, longest)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(proc.wait, 20)
        except subprocess.TimeoutExpired:
            proc.kill()
