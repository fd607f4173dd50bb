"""Session references and transfers with their context, on a real server (no media legs):
the reference in the ack and the log, found with `q=`, its counter across a restart on the same
database; a transfer with a note that carries the chat and the documents to the new session."""

from __future__ import annotations

import re

import aiohttp

from signaling.client import Caller

from live_server import start_server
from test_window_features import PNG, SI, connected_call, specialist, upload

REFERENCE = re.compile(r"XH-\d{8}-\d{4}")


async def _get(server, path: str, token: str) -> tuple[int, dict | str]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}{path}", headers={"Authorization": f"Bearer {token}"}) as r:
            body = await r.json() if r.content_type == "application/json" else await r.text()
            return r.status, body


async def _request(server, name: str) -> dict:
    c = Caller(server.url)
    await c.connect()
    try:
        ack = await c.request(SI, name, company="示例有限公司")
        assert ack["ok"], ack
        await c.hangup(ack["call_id"])
        return ack
    finally:
        await c.close()


async def test_the_ack_carries_a_short_reference_that_the_log_finds_with_q(server):
    first, second = await _request(server, "王芳"), await _request(server, "李四")
    for ack in (first, second):
        assert REFERENCE.fullmatch(ack["reference"]) and len(ack["reference"]) <= 20
    assert int(second["reference"][-4:]) == int(first["reference"][-4:]) + 1
    admin = await server.token("admin", "admin123")
    await server.store.list_sessions()  # the log has caught up

    status, found = await _get(server, f"/api/sessions?q={second['reference']}", admin)
    assert status == 200 and found["total"] == 1, found
    assert found["items"][0]["id"] == second["call_id"] and found["items"][0]["reference"] == second["reference"]
    status, found = await _get(server, f"/api/sessions?q={first['reference'].lower()}", admin)
    assert [s["id"] for s in found["items"]] == [first["call_id"]]  # any case
    status, found = await _get(server, f"/api/sessions?q={first['reference'][:11]}", admin)
    assert {s["id"] for s in found["items"]} >= {first["call_id"], second["call_id"]}  # by the day
    status, found = await _get(server, "/api/sessions?q=李四", admin)
    assert [s["id"] for s in found["items"]] == [second["call_id"]]  # the caller's name
    status, found = await _get(server, f"/api/sessions?q={second['call_id'][:10]}", admin)
    assert [s["id"] for s in found["items"]] == [second["call_id"]]  # an id's start
    status, error = await _get(server, "/api/sessions?q=" + "x" * 101, admin)
    assert status == 400 and error["error"]["code"] == "too_long"

    status, csv = await _get(server, f"/api/sessions.csv?q={second['reference']}", admin)
    header, row = csv.strip().splitlines()
    assert header.split(",")[-1] == "reference" and row.split(",")[-1] == second["reference"]


async def test_the_day_counter_goes_on_after_a_restart_on_the_same_database(tmp_path):
    server, runner = await start_server(tmp_path)
    try:
        before = await _request(server, "甲")
    finally:
        await runner.cleanup()
    server, runner = await start_server(tmp_path)  # same database, journal and var dir
    try:
        after = await _request(server, "乙")
        assert after["reference"][:12] == before["reference"][:12]
        assert int(after["reference"][12:]) == int(before["reference"][12:]) + 1
    finally:
        await runner.cleanup()


async def test_a_transfer_with_a_note_carries_the_chat_and_documents_to_the_new_session(server):
    spec, c, ack = await connected_call(server, "demo")
    other = await specialist(server, "zhang.wei", auto_answer=False)
    old_id = ack["call_id"]
    try:
        assert (await c.chat("我要办理社保开户", old_id))["ok"]
        assert (await spec.chat(old_id, "请上传营业执照"))["ok"]
        status, doc = await upload(server, old_id, ack["call_token"])
        assert status == 201, doc
        bad = await spec.emit_raw("/agent", "call:transfer", {"call_id": old_id, "specialist": "zhang.wei",
                                                             "note": "x" * 501})
        assert bad["ok"] is False and bad["error"]["code"] == "too_long"
        done = await spec.emit_raw("/agent", "call:transfer", {"call_id": old_id, "specialist": "zhang.wei",
                                                              "note": "需要养老保险专家"})
        assert done["ok"], done
        new_id = done["new_call_id"]
        moved = await c.wait_for("call:transferred")
        assert REFERENCE.fullmatch(moved["reference"]) and moved["reference"] != ack["reference"]

        offered = await other.wait_for("call:offered")
        assert offered["call_id"] == new_id
        transfer = offered["transfer"]
        assert transfer["from"] == {"display_name": "演示坐席"}
        assert transfer["note"] == "需要养老保险专家"
        assert transfer["from_session"] == old_id and transfer["from_reference"] == ack["reference"]
        assert transfer["journey_ms"] >= offered["queued_ms"]  # the whole journey, not only this wait
        assert (await other.accept(new_id))["ok"]
        connected = await other.wait_for("call:connected")
        assert connected["transfer"]["note"] == "需要养老保险专家"
        history = await other.wait_for("chat:history")
        assert [m["text"] for m in history["messages"]] == ["我要办理社保开户", "请上传营业执照"]

        # The documents come along, for the new specialist and for the caller's new call token.
        status, docs = await _get(server, f"/api/sessions/{new_id}/documents", other.token)
        assert status == 200 and [d["id"] for d in docs["items"]] == [doc["id"]]
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{server.url}{doc['url']}", headers={"Authorization": f"Bearer {other.token}"}) as r:
                assert r.status == 200 and await r.read() == PNG
        status, docs = await _get(server, f"/api/sessions/{new_id}/documents", moved["call_token"])
        assert status == 200 and [d["id"] for d in docs["items"]] == [doc["id"]]
        # And what is said now reaches both.
        assert (await c.chat("好的", new_id))["ok"]
        assert (await other.wait_for("chat:message"))["text"] == "好的"

        old = await server.store.get_session(old_id)
        new = await server.store.get_session(new_id)
        assert old["transferred_to"] == new_id and old["transferred_to_reference"] == moved["reference"]
        assert new["transferred_from"] == old_id and new["transferred_from_reference"] == ack["reference"]
        assert new["transfer_note"] == "需要养老保险专家"
        [event] = [e for e in old["events"] if e["type"] == "transferred"]
        assert event["data"]["note"] == "需要养老保险专家"
    finally:
        await c.close()
        await spec.close()
        await other.close()
