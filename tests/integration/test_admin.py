"""Administration HTTP API: role checks, filters, management, OpenAPI, Prometheus."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import aiohttp
import pytest

ADMIN_GETS = [
    "/api/sessions", "/api/sessions.csv", "/api/sessions/0123", "/api/metrics",
    "/api/recordings/0123/caller", "/api/admin/scores", "/api/admin/accounts",
]
ADMIN_WRITES = [
    ("PUT", "/api/admin/accounts/someone", {"role": "specialist", "password": "x"}),
    ("PUT", "/api/admin/service-items/NEW-1", {"code": "NEW-1"}),
    ("POST", "/api/admin/service-items/import", "code,name,name_en,category,department,level,difficulty\n"),
]
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)


def z(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


async def _req(http, method, url, token=None, body=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs = {"json": body} if isinstance(body, (dict, list)) else {"data": body} if body is not None else {}
    async with http.request(method, url, headers=headers, **kwargs) as r:
        ctype = r.headers.get("Content-Type", "")
        return r.status, (await r.json()) if "json" in ctype else await r.text()


async def test_role_checks(server):
    specialist = await server.token("zhang.wei", "demo123")
    admin = await server.token("admin", "admin123")
    async with aiohttp.ClientSession() as http:
        for path in ADMIN_GETS:
            status, body = await _req(http, "GET", server.url + path)
            assert status == 401 and body["error"]["code"] == "unauthorized", path
            status, body = await _req(http, "GET", server.url + path, specialist)
            assert status == 403 and body["error"]["code"] == "forbidden", path
            status, _ = await _req(http, "GET", server.url + path, "not-a-token")
            assert status == 401, path
        for method, path, body in ADMIN_WRITES:
            assert (await _req(http, method, server.url + path, None, body))[0] == 401, path
            assert (await _req(http, method, server.url + path, specialist, body))[0] == 403, path
        # The administrator gets through (404 for the made-up session and recording).
        assert (await _req(http, "GET", server.url + "/api/admin/scores", admin))[0] == 200
        assert (await _req(http, "GET", server.url + "/api/sessions/0123", admin))[0] == 404


async def _fixture(store):
    """Four ended sessions on two items and two categories."""
    accounts = {a["username"]: a["id"] for a in await store.list_accounts()}
    items = await store.search_service_items()
    first, other = items[0], next(i for i in items if i["category"] != items[0]["category"])
    rows = [
        ("a" * 32, first["code"], "星河科技有限公司", accounts["zhang.wei"], 0.5, 0.9, 60, "answered"),
        ("b" * 32, first["code"], "Acme Trading", accounts["li.na"], 2.5, 3.5, 30, "answered"),
        ("c" * 32, other["code"], "星河科技有限公司", None, None, None, 4, "abandoned"),
        ("d" * 32, other["code"], "Other Co", accounts["zhang.wei"], 1.0, 1.2, 90, "answered"),
    ]
    for n, (sid, code, company, spec, answered, media, ended, outcome) in enumerate(rows):
        created = T0 + timedelta(minutes=n)
        await store.create_session(id=sid, service_item_code=code, caller={"name": f"c{n}", "company": company},
                                   created_at=created)
        fields = {"status": "ended", "outcome": outcome, "ended_at": created + timedelta(seconds=ended)}
        if spec:
            fields.update(specialist_id=spec, answered_at=created + timedelta(seconds=answered),
                          media_at=created + timedelta(seconds=media))
        await store.update_session(sid, event="ended", at=created, **fields)
    return first, other


async def test_session_filters_sort_and_csv(server):
    first, other = await _fixture(server.store)
    admin = await server.token("admin", "admin123")
    async with aiohttp.ClientSession() as http:
        async def ids(query):
            status, body = await _req(http, "GET", f"{server.url}/api/sessions?{query}", admin)
            assert status == 200, body
            assert "limit" in query or body["total"] == len(body["items"])
            return [s["id"][0] for s in body["items"]]

        assert await ids("") == ["d", "c", "b", "a"]
        assert await ids("sort=created_at") == ["a", "b", "c", "d"]
        assert await ids("sort=-connect_ms") == ["b", "d", "a", "c"]   # empty values last
        assert await ids("sort=connect_ms") == ["a", "d", "b", "c"]
        assert await ids(f"category={first['category']}") == ["b", "a"]
        assert await ids("company=%E6%98%9F%E6%B2%B3") == ["c", "a"]      # 星河
        assert await ids("company=acme") == ["b"]                          # case-insensitive
        assert await ids("specialist=zhang.wei&outcome=answered") == ["d", "a"]
        assert await ids(f"since={z(T0 + timedelta(minutes=1))}&until={z(T0 + timedelta(minutes=3))}") == ["c", "b"]
        assert await ids("limit=2&offset=1&sort=created_at") == ["b", "c"]

        status, body = await _req(http, "GET", f"{server.url}/api/sessions?sort=password", admin)
        assert status == 400 and body["error"]["code"] == "invalid_value"
        status, body = await _req(http, "GET", f"{server.url}/api/sessions?company={'x' * 300}", admin)
        assert status == 400

        status, text = await _req(http, "GET", f"{server.url}/api/sessions.csv?category={other['category']}", admin)
        rows = list(csv.DictReader(io.StringIO(text)))
        assert status == 200 and [r["id"][0] for r in rows] == ["d", "c"]

        status, m = await _req(http, "GET", f"{server.url}/api/metrics?since={z(T0)}&tz_offset_min=480", admin)
        assert status == 200 and m["offered"] == 4 and m["answered"] == 3
        assert m["service_level"] == pytest.approx(2 / 3)  # 0.9 s and 1.2 s within 2 s; 3.5 s not
        assert [h["hour"] for h in m["by_hour"] if h["offered"]] == [9]  # 01:00 UTC = 09:00 in Beijing
        assert all(r["score"] is not None for r in m["by_specialist"])
        status, _ = await _req(http, "GET", f"{server.url}/api/metrics?tz_offset_min=5000", admin)
        assert status == 400

        status, board = await _req(http, "GET", f"{server.url}/api/admin/scores?since={z(T0)}&threshold_s=1", admin)
        assert status == 200 and board["threshold_s"] == 1 and len(board["items"]) == 2
        assert board["items"][0]["rank"] == 1 and board["items"][0]["score"] >= board["items"][1]["score"]


async def test_catalog_and_accounts_management(server):
    admin = await server.token("admin", "admin123")
    url = server.url
    async with aiohttp.ClientSession() as http:
        item = {"code": "TX-900", "name": "税务登记", "name_en": "Tax registration", "category": "tax",
                "department": "税务局", "level": "municipal", "difficulty": 4}
        status, body = await _req(http, "PUT", f"{url}/api/admin/service-items/TX-900", admin, item)
        # The item as stored, with the extensions (display names, retired, ...) beside the contract's keys.
        assert status == 200 and {k: body[k] for k in item} == item and body["recording"] is True
        assert body["retired"] is False and body["category_name_en"] == "Tax"
        # Recording is switched per service item (the media plane asks the store at request time).
        status, body = await _req(http, "PUT", f"{url}/api/admin/service-items/TX-900", admin, {**item, "recording": False})
        assert status == 200 and body["recording"] is False
        assert (await server.store.get_service_item("TX-900"))["recording"] is False
        status, body = await _req(http, "PUT", f"{url}/api/admin/service-items/TX-900", admin, {**item, "recording": "no"})
        assert status == 400 and body["error"]["code"] == "wrong_type"
        status, body = await _req(http, "PUT", f"{url}/api/admin/service-items/TX-900", admin, {**item, "difficulty": 9})
        assert status == 400 and body["error"]["code"] == "invalid_service_item"
        status, body = await _req(http, "PUT", f"{url}/api/admin/service-items/TX-900", admin, {**item, "code": "OTHER"})
        assert status == 400

        good = "code,name,name_en,category,department,level,difficulty\nTX-901,甲,A,tax,税务局,district,2\nTX-902,乙,B,tax,税务局,district,3\n"
        status, body = await _req(http, "POST", f"{url}/api/admin/service-items/import", admin, good)
        assert status == 200 and body == {"imported": 2}
        bad = good + "TX-903,丙,C,tax,税务局,province,3\n"
        status, body = await _req(http, "POST", f"{url}/api/admin/service-items/import", admin, bad)
        assert status == 400 and "line 4" in body["error"]["message"]
        assert await server.store.get_service_item("TX-903") is None  # all or nothing
        status, body = await _req(http, "POST", f"{url}/api/admin/service-items/import", admin, b"\xff\xfe")
        assert status == 400

        status, body = await _req(http, "PUT", f"{url}/api/admin/accounts/new.one", admin,
                                  {"role": "specialist", "password": "pw123456", "display_name": "新人",
                                   "skills": ["TX-900", "category:tax"]})
        assert status == 200 and body["skills"] == ["TX-900", "category:tax"] and body["display_name"] == "新人"
        status, body = await _req(http, "PUT", f"{url}/api/admin/accounts/new.one", admin, {"role": "specialist", "skills": "TX-901"})
        assert status == 200 and body["skills"] == ["TX-901"] and body["display_name"] == "新人"
        assert await server.store.authenticate("new.one", "pw123456") is not None  # password kept
        status, body = await _req(http, "PUT", f"{url}/api/admin/accounts/nobody.yet", admin, {"role": "specialist"})
        assert status == 400 and body["error"]["code"] == "password_required"
        status, body = await _req(http, "PUT", f"{url}/api/admin/accounts/admin", admin, {"role": "specialist"})
        assert status == 409  # an administrator cannot demote themselves
        status, body = await _req(http, "GET", f"{url}/api/admin/accounts?role=specialist", admin)
        assert status == 200 and "new.one" in [a["username"] for a in body["items"]]
        assert all(a["role"] == "specialist" for a in body["items"])


async def test_openapi_lists_every_endpoint_and_prometheus(server):
    async with aiohttp.ClientSession() as http:
        status, doc = await _req(http, "GET", server.url + "/api/openapi.json")
        assert status == 200 and doc["openapi"].startswith("3.")
        async with http.get(server.url + "/api/docs") as r:
            assert r.status == 200 and "text/html" in r.headers["Content-Type"]
        async with http.get(server.url + "/api/docs", headers={"Accept": "application/json"}) as r:
            assert (await r.json())["paths"] == doc["paths"]
        for route in server.app.router.routes():
            info = route.resource.get_info()
            path = info.get("path") or info.get("formatter")
            if not path or route.method in ("HEAD", "*") or "prefix" in info or path in ("/", "/console", "/admin"):
                continue
            if path.startswith("/socket.io"):
                continue
            assert route.method.lower() in doc["paths"].get(path, {}), (route.method, path)
        for path in ("/api/sessions", "/api/metrics", "/api/admin/scores", "/api/recordings/{session_id}/{party}"):
            op = doc["paths"][path]["get"]
            assert "x-undocumented" not in op and op["security"] and "403" in op["responses"]

        async with http.get(server.url + "/metrics") as r:
            text = await r.text()
        for name in ("vw_sessions_total", "vw_connect_seconds_bucket", "vw_specialists", "vw_legs_active"):
            assert name in text, name
