"""Keep my place: the held position, the alert at the caller's turn (page and signed webhook), the
caller coming back through its resume link, and an alert not taken passing the place on. The real
server, headless callers and specialists (signaling.client), and a webhook receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from aiohttp import web

from live_server import caller, free_port, specialist, start_server
from signaling.notify import verify

ITEM = "SI-001"  # zhang.wei, chen.jing and demo have the skill
SECRET = "webhook-test-secret"


class Receiver:
    """The center's own endpoint: keeps each request's headers and raw body."""

    def __init__(self):
        self.got: list[tuple[dict, bytes]] = []
        self.arrived = asyncio.Event()
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}/hook"

    async def _hook(self, request: web.Request) -> web.Response:
        self.got.append((dict(request.headers), await request.read()))
        self.arrived.set()
        return web.json_response({"ok": True})

    async def next(self, event: str, timeout: float = 15) -> tuple[dict, bytes]:
        for _ in range(int(timeout * 10)):
            for headers, body in self.got:
                if headers.get("X-VW-Event") == event:
                    return headers, body
            await asyncio.sleep(0.1)
        raise TimeoutError(f"no {event} notice")

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def hooked(tmp_path):
    receiver = Receiver()
    await receiver.start()
    servers = []

    async def make(**overrides):
        srv, runner = await start_server(tmp_path, notify_webhook_url=receiver.url, notify_webhook_secret=SECRET,
                                         **overrides)
        servers.append(runner)
        return srv

    yield receiver, make
    for runner in servers:
        await runner.cleanup()
    await receiver.close()


async def events(server, call_id: str) -> list[str]:
    return [e["type"] for e in (await server.store.get_session(call_id))["events"]]


async def test_keep_my_place_holds_the_position_alerts_and_the_resumed_caller_is_connected(hooked):
    receiver, make = hooked
    server = await make(reconnect_grace_s=0.5)  # a plain drop would end the wait at once
    c, behind = await caller(server), await caller(server)
    s = await specialist(server, "zhang.wei", ready=False)  # signed in, away: nobody free
    back = None
    try:
        ack = await c.request(ITEM, "留位者", phone="13800000001")
        queued = await c.wait_for("call:queued")
        assert {"keep_place", "book"} <= {o["id"] for o in queued["options"]}
        kept = await c.emit_raw("/caller", "call:keep_place", {"call_id": ack["call_id"]})
        assert kept["ok"], kept
        assert kept["callback"]["state"] == "held" and kept["callback"]["accept_s"] == 120
        assert kept["callback"]["resume_url"].endswith("/?resume=" + ack["call_token"])
        held = await c.wait_for("call:queued", predicate=lambda p: p.get("callback") == "held")
        assert held["position"] == 1 and held["ends_in_s"] is None
        await behind.request(ITEM, "后来者")
        assert (await behind.wait_for("call:queued"))["position"] == 2

        await c.close()  # the caller leaves the page; the grace passes, the place is kept
        await asyncio.sleep(1.5)
        assert ack["call_id"] in server.engine.sessions.live  # not ended as caller_left
        assert server.engine.router.callback_state(ack["call_id"]) == "held"

        assert (await s.set_state("ready"))["ok"]  # a specialist is free: the held caller's turn
        headers, body = await receiver.next("callback_due")
        assert verify(SECRET, headers["X-VW-Timestamp"], body, headers["X-VW-Signature"])
        assert not verify("another secret", headers["X-VW-Timestamp"], body, headers["X-VW-Signature"])
        assert not verify(SECRET, str(int(headers["X-VW-Timestamp"]) - 3600), body, headers["X-VW-Signature"])
        notice = json.loads(body)
        assert notice["event"] == "callback_due" and notice["reference"] == ack["reference"]
        assert notice["service_item"]["code"] == ITEM and notice["caller"]["phone"] == "13800000001"
        assert notice["resume_url"] == kept["callback"]["resume_url"] and notice["accept_by"]
        # Meanwhile the free specialist serves the caller behind; the held place stays first.
        offered = await s.wait_for("call:offered")
        assert offered["call_id"] == behind.call_id
        assert (await s.decline(behind.call_id))["ok"]

        # The resume link: the page resumes with the call token and accepts.
        back = await caller(server, resume=ack["call_token"])
        accepted = await back.emit_raw("/caller", "call:callback_accept", {"call_id": ack["call_id"]})
        assert accepted["ok"], accepted
        offered = await s.wait_for("call:offered", predicate=lambda p: p["call_id"] == ack["call_id"], timeout=15)
        assert (await s.accept(offered["call_id"]))["ok"]
        await back.wait_for("call:connected")
        types = await events(server, ack["call_id"])
        assert [t for t in types if t.startswith("callback_")] == ["callback_requested", "callback_due", "callback_reached"]
        admin = await server.token("admin", "admin123")
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{server.url}/api/admin/callbacks", headers={"Authorization": f"Bearer {admin}"}) as r:
                listed = (await r.json())["items"]
            async with http.get(f"{server.url}/api/metrics", headers={"Authorization": f"Bearer {admin}"}) as r:
                metrics = await r.json()
        assert [(x["reference"], x["state"]) for x in listed] == [(ack["reference"], "reached")]
        assert metrics["callbacks"] == {"requested": 1, "reached": 1, "missed": 0}
    finally:
        for p in (c, behind, s, *([back] if back else [])):
            await p.close()


async def test_an_open_page_is_alerted_and_an_alert_not_taken_passes_the_place_on(hooked):
    receiver, make = hooked
    server = await make(callback_accept_s=1.0)
    c = await caller(server)
    s = await specialist(server, "chen.jing", ready=False)
    try:
        ack = await c.request(ITEM, "未接者")
        await c.wait_for("call:queued")
        refused = await c.emit_raw("/caller", "call:callback_accept", {"call_id": ack["call_id"]})
        assert refused["ok"] is False and refused["error"]["code"] == "not_held"
        assert (await c.emit_raw("/caller", "call:keep_place", {"call_id": ack["call_id"]}))["ok"]
        other = await (await caller(server)).emit_raw("/caller", "call:keep_place", {"call_id": ack["call_id"]})
        assert other["ok"] is False
        assert (await s.set_state("ready"))["ok"]
        due = await c.wait_for("call:callback_due")  # the page still open is alerted
        assert due["call_id"] == ack["call_id"] and due["accept_s"] == 1.0 and due["accept_by"]
        ended = await c.wait_for("call:ended", timeout=15)
        assert ended["reason"] == "callback_not_taken" and ended["ended_by"] == "system"
        row = await server.store.get_session(ack["call_id"])
        assert (row["outcome"], row["end_reason"]) == ("missed", "callback_not_taken")
        assert "callback_missed" in [e["type"] for e in row["events"]]
    finally:
        await c.close()
        await s.close()


async def test_a_webhook_that_fails_is_retried_and_never_blocks(tmp_path):
    server, runner = await start_server(tmp_path, notify_webhook_url=f"http://127.0.0.1:{free_port()}/nobody",
                                        notify_webhook_secret=SECRET, callback_accept_s=30.0)
    c = await caller(server)
    s = await specialist(server, "demo", ready=False)
    try:
        ack = await c.request(ITEM, "无人接收")
        assert (await c.emit_raw("/caller", "call:keep_place", {"call_id": ack["call_id"]}))["ok"]
        assert (await s.set_state("ready"))["ok"]
        await c.wait_for("call:callback_due")  # told at once though the webhook cannot be reached
        assert (await c.emit_raw("/caller", "call:callback_accept", {"call_id": ack["call_id"]}))["ok"]
        offered = await s.wait_for("call:offered")
        assert offered["call_id"] == ack["call_id"]
        await server.engine.notifier.idle(timeout=20)
        assert server.engine.notifier.failed == 1 and server.engine.notifier.delivered == 0
    finally:
        await c.close()
        await s.close()
        await runner.cleanup()
