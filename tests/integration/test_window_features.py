"""Server features behind the caller page and the console: hold, screen-share
notice, documents, transfer, credit code, queued resume, My day (no media legs)."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from signaling.client import Caller, Specialist

SI = "SI-001"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def specialist(server, username="demo", *, auto_answer=True) -> Specialist:
    spec = Specialist(server.url, username=username, password="demo123", media_addresses=["127.0.0.1"])
    await spec.login()
    await spec.connect()
    assert (await spec.set_state("ready", auto_answer=auto_answer))["ok"]
    return spec


async def connected_call(server, spec_name="demo"):
    spec = await specialist(server, spec_name)
    c = Caller(server.url, media_addresses=["127.0.0.1"])
    await c.connect()
    ack = await c.request(SI, "赵磊", company="示例有限公司")
    await c.wait_for("call:connected")
    await spec.wait_for("call:connected")
    return spec, c, ack


async def upload(server, call_id, token, name="id.png", body=PNG):
    form = aiohttp.FormData()
    form.add_field("file", body, filename=name, content_type="application/octet-stream")
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.url}/api/sessions/{call_id}/documents", data=form,
                             headers={"Authorization": f"Bearer {token}"}) as r:
            return r.status, await r.json()


async def test_credit_code_checked(server):
    c = Caller(server.url)
    await c.connect()
    try:
        bad = await c.emit_raw("/caller", "call:request", {"service_item": SI, "name": "x", "credit_code": "91350100M000100Y44"})
        assert bad["ok"] is False and bad["error"]["code"] == "invalid_credit_code"
        good = await c.emit_raw("/caller", "call:request", {"service_item": SI, "name": "x", "credit_code": "91350100m000100y43"})
        assert good["ok"], good
        row = await server.store.get_session(good["call_id"])
        assert row["caller"]["credit_code"] == "91350100M000100Y43"
    finally:
        await c.close()


async def test_hold_screen_documents_and_my_day(server):
    spec, c, ack = await connected_call(server)
    call_id = ack["call_id"]
    try:
        held = await spec.emit_raw("/agent", "call:hold", {"call_id": call_id, "hold": True})
        assert held == {"ok": True, "held": True}
        assert (await c.wait_for("call:held"))["held"] is True
        bad = await spec.emit_raw("/agent", "call:hold", {"call_id": call_id})
        assert bad["ok"] is False and bad["error"]["code"] == "missing_field"
        assert (await spec.emit_raw("/agent", "call:hold", {"call_id": call_id, "hold": False}))["held"] is False
        assert (await c.wait_for("call:held"))["held"] is False

        assert (await c.emit_raw("/caller", "call:screen", {"call_id": call_id, "sharing": True}))["ok"]
        screen = await spec.wait_for("call:screen")
        assert screen == {"call_id": call_id, "from": "caller", "sharing": True}

        status, doc = await upload(server, call_id, ack["call_token"])
        assert status == 201 and doc["from"] == "caller" and doc["size"] == len(PNG), doc
        shared = await spec.wait_for("document:shared")
        assert shared["document"]["id"] == doc["id"]
        status, err = await upload(server, call_id, ack["call_token"], name="x.exe", body=b"MZ")
        assert status == 415 and err["error"]["code"] == "unsupported_type"
        status, err = await upload(server, call_id, ack["call_token"], name="fake.png", body=b"hello")
        assert status == 415 and err["error"]["code"] == "content_mismatch"
        status, err = await upload(server, call_id, "nonsense")
        assert status == 401 and err["error"]["code"] == "unauthorized"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{server.url}{doc['url']}", headers={"Authorization": f"Bearer {spec.token}"}) as r:
                assert r.status == 200 and await r.read() == PNG
            admin = await server.token("admin", "admin123")
            async with http.get(f"{server.url}/api/sessions/{call_id}/documents",
                                headers={"Authorization": f"Bearer {admin}"}) as r:
                assert r.status == 200 and [d["id"] for d in (await r.json())["items"]] == [doc["id"]]

        day = await spec.emit_raw("/agent", "agent:day", {})
        assert day["ok"] and day["day"]["answered"] >= 1
    finally:
        await c.close()
        await spec.close()


async def test_transfer_to_named_specialist(server):
    spec, c, ack = await connected_call(server, "demo")
    other = await specialist(server, "zhang.wei", auto_answer=False)
    try:
        targets = await spec.emit_raw("/agent", "call:transfer_targets", {})
        assert "zhang.wei" in [t["username"] for t in targets["specialists"]]
        bad = await spec.emit_raw("/agent", "call:transfer", {"call_id": ack["call_id"]})
        assert bad["ok"] is False and bad["error"]["code"] == "missing_field"
        done = await spec.emit_raw("/agent", "call:transfer", {"call_id": ack["call_id"], "specialist": "zhang.wei"})
        assert done["ok"], done
        moved = await c.wait_for("call:transferred")
        assert moved["call_id"] == ack["call_id"] and moved["new_call_id"] == done["new_call_id"]
        assert moved["call_token"]
        ended = await spec.wait_for("call:ended")
        assert ended["reason"] == "transferred"
        offered = await other.wait_for("call:offered")
        assert offered["call_id"] == done["new_call_id"]
        assert (await other.accept(done["new_call_id"]))["ok"]
        await c.wait_for("call:connected", predicate=lambda m: m["call_id"] == done["new_call_id"])
        old = await server.store.get_session(ack["call_id"])
        new = await server.store.get_session(done["new_call_id"])
        assert old["outcome"] == "transferred" and new["transferred_from"] == ack["call_id"]
        assert "transferred" in [e["type"] for e in old["events"]]
    finally:
        await c.close()
        await spec.close()
        await other.close()


@pytest.mark.parametrize("server", [{"reconnect_grace_s": 5}], indirect=True)
async def test_queued_call_survives_reconnect(server):
    c = Caller(server.url)
    await c.connect()
    ack = await c.request(SI, "孙丽")
    await c.wait_for("call:queued")
    await c.close()
    await asyncio.sleep(0.3)
    again = Caller(server.url)
    try:
        await again.connect(resume=ack["call_token"])
        queued = await again.wait_for("call:queued")
        assert queued["call_id"] == ack["call_id"]
        row = await server.store.get_session(ack["call_id"])
        assert row["status"] != "ended"
    finally:
        await again.close()
