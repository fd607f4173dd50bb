"""Bad input gets the contract's error shape, never a traceback, and loses nothing."""

from __future__ import annotations

import aiohttp
import pytest
import socketio

from signaling.client import Caller, Specialist


def assert_error(ack, code=None):
    assert ack["ok"] is False, ack
    assert isinstance(ack["error"]["code"], str) and isinstance(ack["error"]["message"], str)
    if code:
        assert ack["error"]["code"] == code, ack


async def test_unknown_service_item(server):
    c = Caller(server.url)
    await c.connect()
    try:
        assert_error(await c.request("NOPE-999", "张三"), "unknown_service_item")
        items, total = await server.store.list_sessions()
        assert total == 0  # nothing half-written
    finally:
        await c.close()


@pytest.mark.parametrize(
    "payload, code",
    [
        (None, "bad_request"),
        ("a string", "bad_request"),
        ({}, "missing_field"),
        ({"service_item": "SI-001"}, "missing_field"),
        ({"service_item": 42, "name": "x"}, "wrong_type"),
        ({"service_item": "SI-001", "name": ["x"]}, "wrong_type"),
        ({"service_item": "SI-001", "name": "x" * 5000}, "too_long"),
    ],
)
async def test_malformed_call_request(server, payload, code):
    c = Caller(server.url)
    await c.connect()
    try:
        assert_error(await c.emit_raw("/caller", "call:request", payload), code)
        assert (await server.store.list_sessions())[1] == 0
    finally:
        await c.close()


async def test_garbage_sdp_and_candidates(server):
    c = Caller(server.url)
    await c.connect()
    try:
        assert_error(await c.emit_raw("/caller", "rtc:offer", {"type": "offer", "sdp": "v=0 garbage"}), "bad_sdp")
        assert_error(await c.emit_raw("/caller", "rtc:offer", {"type": "offer"}), "missing_field")
        assert_error(await c.emit_raw("/caller", "rtc:offer", {"type": "answer", "sdp": "x"}), "bad_sdp")
        assert_error(await c.emit_raw("/caller", "rtc:candidate", {"candidate": 5}), "wrong_type")
        assert_error(await c.emit_raw("/caller", "no:such:event", {}), "unknown_event")
        # the connection still works afterwards
        assert (await c.request("SI-001", "张三"))["ok"]
    finally:
        await c.close()


async def test_specialist_wrong_state_and_payloads(server):
    spec = Specialist(server.url, username="demo", password="demo123")
    await spec.login()
    await spec.connect()
    try:
        assert_error(await spec.emit_raw("/agent", "agent:state", {"state": "busy"}), "invalid_value")
        assert_error(await spec.emit_raw("/agent", "agent:state", {"state": "ready", "auto_answer": "yes"}), "wrong_type")
        assert_error(await spec.accept("no-such-call"), "not_offered")
        assert_error(await spec.emit_raw("/agent", "call:wrapup", {"call_id": "x", "difficulty": 9}), "out_of_range")
        assert_error(await spec.wrapup("x"), "not_in_wrap_up")
    finally:
        await spec.close()


@pytest.mark.parametrize("auth", [None, {}, {"token": "forged"}, {"token": 123}])
async def test_agent_namespace_refuses_bad_token(server, auth):
    sio = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await sio.connect(server.url, namespaces=["/agent"], auth=auth, transports=["websocket"])
    await sio.disconnect()


async def test_agent_and_admin_need_the_right_role(server):
    admin = await server.token("admin", "admin123")
    spec = await server.token("demo", "demo123")
    for ns, token in (("/agent", admin), ("/admin", spec)):
        sio = socketio.AsyncClient(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await sio.connect(server.url, namespaces=[ns], auth={"token": token}, transports=["websocket"])
        await sio.disconnect()
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(server.url, namespaces=["/admin"], auth={"token": admin}, transports=["websocket"])
    await sio.disconnect()


async def test_http_auth_and_errors(server):
    admin = await server.token("admin", "admin123")
    spec = await server.token("demo", "demo123")
    async with aiohttp.ClientSession() as http:
        async def get(path, token=None):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            async with http.get(server.url + path, headers=headers) as r:
                return r.status, (await r.json() if r.content_type == "application/json" else await r.text())

        for path in ("/api/sessions", "/api/sessions.csv", "/api/metrics", "/api/sessions/x"):
            status, body = await get(path)
            assert status == 401 and body["error"]["code"] == "unauthorized"
            status, body = await get(path, spec)
            assert status == 403 and body["error"]["code"] == "forbidden"
        assert (await get("/api/sessions/nope", admin))[0] == 404
        status, body = await get("/api/sessions?limit=abc", admin)
        assert status == 400 and body["error"]["code"] == "invalid_value"
        status, body = await get("/api/sessions?since=yesterday", admin)
        assert status == 400
        status, body = await get("/api/metrics?threshold_s=-1", admin)
        assert status == 400
        assert (await get("/api/no-such-thing"))[0] == 404

        async with http.post(server.url + "/api/login", data="not json") as r:  # text/plain: refused
            assert r.status == 415 and (await r.json())["error"]["code"] == "unsupported_media_type"
        async with http.post(server.url + "/api/login", data="not json", headers={"Content-Type": "application/json"}) as r:
            assert r.status == 400 and (await r.json())["error"]["code"] == "bad_request"
        async with http.post(server.url + "/api/login", json={"username": "admin", "password": "wrong"}) as r:
            assert r.status == 401 and (await r.json())["error"]["code"] == "invalid_credentials"
        async with http.post(server.url + "/api/login", json={"username": "admin"}) as r:
            assert r.status == 400
        async with http.post(server.url + "/api/login", json={"username": "admin", "password": "admin123"}) as r:
            body = await r.json()
            assert r.status == 200 and body["role"] == "admin" and body["user"]["username"] == "admin"


async def test_public_endpoints(server):
    async with aiohttp.ClientSession() as http:
        async with http.get(server.url + "/healthz") as r:
            assert await r.json() == {"status": "ok"}
        async with http.get(server.url + "/api/config") as r:
            assert await r.json() == {"ice_servers": [], "ice_transport_policy": "all", "ice_expires_at": None,
                                      "answer_target_s": 2}
            assert r.headers["Cache-Control"] == "no-store"
        async with http.get(server.url + "/api/service-items") as r:
            items = (await r.json())["items"]
            assert len(items) >= 30
            assert set(items[0]) >= {"code", "name", "name_en", "category", "department", "level", "difficulty"}
        async with http.get(server.url + "/api/service-items", params={"q": "business license"}) as r:
            found = (await r.json())["items"]
            assert found and all("business license" in i["name_en"].lower() for i in found)
        async with http.get(server.url + "/metrics") as r:
            assert "vw_sessions_total" in await r.text() or r.status == 200
