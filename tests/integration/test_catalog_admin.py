"""Retiring service items, disabling accounts, naming categories, and refusing an empty queue change —
through the real server's HTTP API and a real Socket.IO caller."""

from __future__ import annotations

import aiohttp

from signaling.client import Caller

CSV_HEADER = "code,name,name_en,category,department,level,difficulty"


async def _req(server, method, path, token=None, body=None, **kw):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if isinstance(body, (dict, list)):
        kw["json"] = body
    elif body is not None:
        kw["data"] = body
    async with aiohttp.ClientSession() as http:
        async with http.request(method, server.url + path, headers={**headers, **kw.pop("headers", {})}, **kw) as r:
            return r.status, await r.json()


async def _item(server, admin, code):
    status, body = await _req(server, "GET", f"/api/admin/service-items?q={code}", admin)
    assert status == 200
    return next(i for i in body["items"] if i["code"] == code)


async def test_a_retired_item_is_not_offered_but_stays_in_the_log_and_can_be_restored(server):
    admin = await server.token("admin", "admin123")
    caller = Caller(server.url, media_addresses=["127.0.0.1"])
    try:
        await caller.connect()
        ack = await caller.request("SI-003", "Before retiring", company="Retire Co")
        assert ack["ok"], ack
        await caller.hangup(ack["call_id"])

        item = await _item(server, admin, "SI-003")
        assert item["retired"] is False
        status, saved = await _req(server, "PUT", "/api/admin/service-items/SI-003", admin, {**item, "retired": True})
        assert status == 200 and saved["retired"] is True

        # Callers no longer find it (with or without a search), and asking for it is refused clearly.
        status, body = await _req(server, "GET", "/api/service-items")
        assert "SI-003" not in [i["code"] for i in body["items"]] and len(body["items"]) == 39
        status, body = await _req(server, "GET", "/api/service-items?q=SI-003")
        assert body["items"] == []
        refused = await caller.request("SI-003", "After retiring")
        assert refused["ok"] is False and refused["error"]["code"] == "service_item_retired", refused
        assert set(refused["error"]) == {"code", "message"}

        # The administrators' catalog still lists it (retired); the log and the metrics keep its session.
        assert (await _item(server, admin, "SI-003"))["retired"] is True
        status, log = await _req(server, "GET", "/api/sessions?service_item=SI-003", admin)
        assert status == 200 and [s["id"] for s in log["items"]] == [ack["call_id"]]
        status, metrics = await _req(server, "GET", "/api/metrics", admin)
        assert "SI-003" in [r["code"] for r in metrics["by_service_item"]]

        # A re-import without the column keeps it retired; restoring makes it requestable again.
        csv = f"{CSV_HEADER},department_en\nSI-003,社会保险缴费基数申报,Declare the base,social_insurance,人社局,district,3,HR bureau\n"
        status, body = await _req(server, "POST", "/api/admin/service-items/import", admin, csv,
                                  headers={"Content-Type": "text/csv"})
        assert status == 200 and body == {"imported": 1}
        item = await _item(server, admin, "SI-003")
        assert item["retired"] is True and item["department_en"] == "HR bureau"
        status, saved = await _req(server, "PUT", "/api/admin/service-items/SI-003", admin, {**item, "retired": False})
        assert status == 200 and saved["retired"] is False
        again = await caller.request("SI-003", "After restoring")
        assert again["ok"], again
        await caller.hangup(again["call_id"])

        status, body = await _req(server, "PUT", "/api/admin/service-items/SI-003", admin, {**item, "retired": "yes"})
        assert status == 400 and body["error"]["code"] == "wrong_type"
    finally:
        await caller.close()


async def test_service_items_carry_english_department_and_category_names(server):
    status, body = await _req(server, "GET", "/api/service-items?q=BR-002")
    item = body["items"][0]
    assert item["category"] == "business_registration"  # the contract's code, unchanged
    assert item["category_name"] == "企业登记" and item["category_name_en"] == "Business registration"
    assert item["department"] == "市场监督管理局" and item["department_en"] == "Administration for Market Regulation"
    assert item["retired"] is False

    admin = await server.token("admin", "admin123")
    status, body = await _req(server, "GET", "/api/admin/categories", admin)
    categories = {c["code"]: c for c in body["items"]}
    assert len(categories) == 8 and all(c["named"] for c in categories.values())
    assert categories["tax"] == {"code": "tax", "name": "税务", "name_en": "Tax", "named": True, "items": 5,
                                 "retired_items": 0}

    status, saved = await _req(server, "PUT", "/api/admin/categories/tax", admin, {"name": "税务服务", "name_en": "Tax services"})
    assert status == 200 and saved["name_en"] == "Tax services"
    status, body = await _req(server, "GET", "/api/service-items?q=TX-001")
    assert body["items"][0]["category_name_en"] == "Tax services"
    for bad in ({"name": ""}, {"name": "  "}, {"name_en": "x"}, {"name": 5}, {"name": "x", "name_en": False},
                {"name": "x" * 201}, ["name"]):
        status, body = await _req(server, "PUT", "/api/admin/categories/tax", admin, bad)
        assert status == 400 and body["error"]["code"] == "invalid_category", (bad, body)
    status, body = await _req(server, "PUT", "/api/admin/categories/" + "c" * 65, admin, {"name": "x"})
    assert status == 400


async def test_a_disabled_account_cannot_log_in_and_its_token_is_refused(server):
    admin = await server.token("admin", "admin123")
    status, body = await _req(server, "POST", "/api/login", body={"username": "liu.yang", "password": "demo123"})
    assert status == 200
    token = body["token"]
    documents = f"/api/sessions/{'0' * 32}/documents"  # a staff endpoint: not this specialist's session
    assert (await _req(server, "GET", documents, token))[0] == 403
    status, account = await _req(server, "PUT", "/api/admin/accounts/liu.yang", admin, {"role": "specialist", "disabled": True})
    assert status == 200 and account["disabled"] is True
    status, body = await _req(server, "GET", documents, token)
    assert status == 401 and body["error"]["code"] == "unauthorized"
    status, body = await _req(server, "POST", "/api/login", body={"username": "liu.yang", "password": "demo123"})
    assert status == 403 and body["error"]["code"] == "account_disabled"
    status, account = await _req(server, "PUT", "/api/admin/accounts/liu.yang", admin, {"role": "specialist", "disabled": False})
    assert status == 200 and account["disabled"] is False
    assert (await _req(server, "POST", "/api/login", body={"username": "liu.yang", "password": "demo123"}))[0] == 200


async def test_an_empty_queue_change_is_refused_and_configures_nothing(server):
    admin = await server.token("admin", "admin123")
    for empty in ({}, {"service_item": "SI-001"}, {"configured": True, "updated_at": None}):
        status, body = await _req(server, "PUT", "/api/queues/SI-001", admin, empty)
        assert status == 400 and body["error"]["code"] == "invalid_queue", (empty, body)
        assert "no setting" in body["error"]["message"]
    status, body = await _req(server, "PUT", "/api/queues/SI-001", admin, {"offer_timeout_s": ""})
    assert status == 400 and body["error"]["code"] == "invalid_queue"
    status, body = await _req(server, "GET", "/api/queues/SI-001", admin)
    assert body["configured"] is False
