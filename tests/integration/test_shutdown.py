"""SIGTERM on a real server process: new calls refused at once, calls drained, everyone told, nothing lost."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import aiohttp

from live_server import free_port
from signaling.client import Caller, Specialist
from signaling.store import Store
from test_calls import SI


async def _serve(tmp_path, port: int) -> subprocess.Popen:
    env = {**os.environ, "VW_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'vw.db'}",
           "VW_VAR_DIR": str(tmp_path / "var"), "VW_RECORDINGS_DIR": str(tmp_path / "recordings"),
           "VW_SECRET_KEY": "test-secret", "VW_ICE_SERVERS": "", "VW_MEDIA_ADDRESSES": "127.0.0.1",
           "VW_DRAIN_S": "2"}
    proc = subprocess.Popen([sys.executable, "-m", "signaling", "serve", "--demo", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                    if r.status == 200:
                        return proc
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not start")


async def test_sigterm_drains_calls_and_tells_everyone(tmp_path):
    port = free_port()
    proc = await _serve(tmp_path, port)
    url = f"http://127.0.0.1:{port}"
    spec = Specialist(url, username="demo", password="demo123", media_addresses=["127.0.0.1"])
    talking, waiting, late = (Caller(url, media_addresses=["127.0.0.1"]) for _ in range(3))
    try:
        await spec.login()
        await spec.connect()
        await spec.open_leg()
        assert (await spec.set_state("ready", auto_answer=True))["ok"]
        for c in (talking, waiting, late):
            await c.connect()
        await talking.open_leg()
        answered = await talking.request(SI, "通话中")
        await talking.wait_for("call:connected")
        await talking.wait_media(5, 5)
        queued = await waiting.request(SI, "排队中")  # the only specialist is busy
        await waiting.wait_for("call:queued")

        proc.send_signal(signal.SIGTERM)
        ended = await waiting.wait_for("call:ended", timeout=5)  # not answered: ended at once
        assert ended == {"call_id": queued["call_id"], "reason": "server_shutdown", "ended_by": "system"}
        refused = await late.request(SI, "太晚了")
        assert refused["ok"] is False and refused["error"]["code"] == "service_unavailable"
        for party in (talking, spec):  # the answered call may finish within VW_DRAIN_S, then ends
            got = await party.wait_for("call:ended", timeout=10)
            assert (got["call_id"], got["reason"]) == (answered["call_id"], "server_shutdown")
        assert await asyncio.to_thread(proc.wait, 20) == 0
    finally:
        for client in (spec, talking, waiting, late):
            await client.close()
        if proc.poll() is None:
            proc.kill()

    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'vw.db'}")
    await store.open()
    try:
        first = await store.get_session(answered["call_id"])
        second = await store.get_session(queued["call_id"])
        assert (first["outcome"], first["end_reason"]) == ("answered", "server_shutdown")
        assert (second["outcome"], second["end_reason"]) == ("failed", "server_shutdown")  # not an abandon
        assert (await store.list_sessions())[1] == 2  # the refused request left nothing behind
    finally:
        await store.close()
