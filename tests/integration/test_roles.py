"""Who may do what: every HTTP endpoint and every Socket.IO namespace, for an anonymous client,
a specialist, an administrator and a revoked token; and what revokes a token."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import socketio

from signaling import keys

ITEM = {"code": "RT-001", "name": "角色测试", "name_en": "Role test", "category": "tax", "department": "税务",
        "level": "district", "difficulty": 2}
CSV = "code,name,name_en,category,department,level,difficulty\nRT-002,导入,Import,tax,税务,district,1\n"
UNKNOWN = "0" * 32

# (method, path, body, statuses for: anonymous, specialist, administrator, revoked administrator)
# A body is JSON, "csv" (a catalog, text/csv), "calendar" (days, text/csv) or "file" (multipart with one part named file).
ANYONE = (200, 200, 200, 200)
ADMIN = (401, 403, 200, 401)
TABLE = [
    ("GET", "/healthz", None, ANYONE),
    ("GET", "/metrics", None, ANYONE),
    ("GET", "/api/config", None, ANYONE),
    ("POST", "/api/login", {"username": "nobody", "password": "not-a-password"}, (401,) * 4),
    ("GET", "/api/service-items", None, ANYONE),
    ("GET", "/api/sessions", None, ADMIN),
    ("GET", "/api/sessions.csv", None, ADMIN),
    ("GET", f"/api/sessions/{UNKNOWN}", None, (401, 403, 404, 401)),
    ("GET", f"/api/sessions/{UNKNOWN}/quality", None, (401, 403, 404, 401)),
    ("POST", f"/api/sessions/{UNKNOWN}/documents", "file", (401, 403, 403, 401)),  # administrators only read
    ("GET", f"/api/sessions/{UNKNOWN}/documents", None, (401, 403, 404, 401)),
    ("GET", "/api/documents/no-such-document", None, (404,) * 4),  # the same answer for everyone
    ("GET", "/api/metrics", None, ADMIN),
    ("GET", f"/api/recordings/{UNKNOWN}/caller", None, (401, 403, 404, 401)),
    ("GET", "/api/admin/scores", None, ADMIN),
    ("GET", "/api/admin/accounts", None, ADMIN),
    ("PUT", "/api/admin/accounts/role.table", {"role": "specialist", "password": "long-enough-1"}, ADMIN),
    ("GET", "/api/admin/service-items", None, ADMIN),
    ("PUT", "/api/admin/service-items/RT-001", ITEM, ADMIN),
    ("GET", "/api/admin/categories", None, ADMIN),
    ("PUT", "/api/admin/categories/tax", {"name": "税务", "name_en": "Tax"}, ADMIN),
    ("POST", "/api/admin/service-items/import", "csv", ADMIN),
    ("GET", "/api/docs", None, ANYONE),
    ("GET", "/api/openapi.json", None, ANYONE),
    ("GET", "/api/queues", None, ADMIN),
    ("PUT", "/api/queues", {"items": [{"service_item": "SI-002", "priority": 2}]}, ADMIN),
    ("GET", "/api/queues/SI-001", None, ADMIN),
    ("PUT", "/api/queues/SI-001", {"priority": 3}, ADMIN),
    ("DELETE", "/api/queues/SI-001", None, ADMIN),
    ("GET", "/api/hours", None, ANYONE),
    ("GET", "/api/hours/next", None, ANYONE),
    ("GET", "/api/admin/hours", None, ADMIN),
    ("PUT", "/api/admin/hours", {"weekly": {"mon": [["09:00", "17:00"]]}}, ADMIN),
    ("DELETE", "/api/admin/hours", None, ADMIN),  # always open again
    ("PUT", "/api/admin/hours/items/SI-001", {"weekly": {}}, ADMIN),
    ("DELETE", "/api/admin/hours/items/SI-001", None, ADMIN),
    ("GET", "/api/admin/hours/calendar", None, ADMIN),
    ("GET", "/api/admin/hours/overrides", None, ADMIN),
    ("PUT", "/api/admin/hours/overrides/2027-01-04", {"kind": "closed"}, ADMIN),
    ("DELETE", "/api/admin/hours/overrides/2027-01-04", None, ADMIN),
    ("POST", "/api/admin/hours/overrides/import", "calendar", ADMIN),
    ("GET", "/api/appointments/slots?service_item=SI-001", None, ANYONE),
    ("POST", "/api/appointments", {"service_item": "SI-001"}, (400, 400, 400, 400)),  # anyone; incomplete
    ("GET", "/api/appointments/" + "t" * 32, None, (404, 404, 404, 404)),  # the token is the credential
    ("DELETE", "/api/appointments/" + "t" * 32, None, (404, 404, 404, 404)),
    ("PATCH", "/api/appointments/" + "t" * 32, {"slot_start": "2027-01-04T01:00:00Z"}, (404, 404, 404, 404)),
    ("GET", "/api/console/appointments", None, (401, 200, 403, 401)),
    ("GET", "/api/admin/appointments", None, ADMIN),
    ("GET", "/api/admin/callbacks", None, ADMIN),
    ("GET", "/", None, ANYONE),
    ("GET", "/console", None, ANYONE),
    ("GET", "/admin", None, ANYONE),
    ("GET", "/favicon.ico", None, ANYONE),
    ("GET", "/c/style.css", None, ANYONE),
    ("GET", "/s/style.css", None, ANYONE),
    ("GET", "/lib/http.js", None, ANYONE),
]
# Tested on their own below: logging out revokes, Socket.IO has its namespaces.
ELSEWHERE = {("POST", "/api/logout"), ("GET", "/socket.io/"), ("POST", "/socket.io/"), ("OPTIONS", "/socket.io/")}

# Socket.IO namespaces: may this client connect? (anonymous, specialist, administrator, revoked)
NAMESPACES = {"/caller": (True, True, True, True), "/agent": (False, True, False, False),
              "/admin": (False, False, True, False)}


async def request(http, server, method, path, body=None, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs = {}
    if body in ("csv", "calendar"):
        kwargs["data"], headers["Content-Type"] = (CSV if body == "csv" else "2027-01-05,closed\n").encode(), "text/csv"
    elif body == "file":
        form = aiohttp.FormData()
        form.add_field("file", b"%PDF-1.4 x", filename="a.pdf", content_type="application/pdf")
        kwargs["data"] = form
    elif body is not None:
        kwargs["json"] = body
    async with http.request(method, server.url + path, headers=headers, **kwargs) as r:
        await r.read()
        return r.status


async def revoked_token(server, username, password):
    """A token of the account, then a logout with it: that token (and any older) is revoked."""
    token = await server.token(username, password)
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.url}/api/logout", headers={"Authorization": f"Bearer {token}"}) as r:
            assert r.status == 200 and await r.json() == {"revoked": True}
    return token


async def can_connect(server, namespace, token) -> bool:
    sio = socketio.AsyncClient(reconnection=False)
    try:
        await sio.connect(server.url, namespaces=[namespace], auth={"token": token} if token else {},
                          transports=["websocket"], wait_timeout=5)
        return True
    except socketio.exceptions.ConnectionError:
        return False
    finally:
        await sio.disconnect()


def _registered(app) -> set[tuple[str, str]]:
    routes = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter") or info.get("prefix")
        if route.method != "HEAD":
            routes.add((route.method, path))
    return routes


def _pattern(path: str) -> str:
    """The route a table path is served by (`/api/sessions/000…/documents` → `/api/sessions/{id}/documents`)."""
    for prefix in ("/c", "/s", "/lib"):
        if path.startswith(prefix + "/"):
            return prefix
    return (path.replace(UNKNOWN, "{id}").replace("/api/recordings/{id}/caller", "/api/recordings/{session_id}/{party}")
            .replace("/api/documents/no-such-document", "/api/documents/{doc_id}")
            .replace("/api/admin/accounts/role.table", "/api/admin/accounts/{username}")
            .replace("/api/admin/service-items/RT-001", "/api/admin/service-items/{code}")
            .replace("/api/admin/categories/tax", "/api/admin/categories/{code}")
            .replace("/api/queues/SI-001", "/api/queues/{service_item}")
            .replace("/api/admin/hours/items/SI-001", "/api/admin/hours/items/{service_item}")
            .replace("/api/admin/hours/overrides/2027-01-04", "/api/admin/hours/overrides/{date}")
            .replace("/api/appointments/" + "t" * 32, "/api/appointments/{token}")
            .split("?")[0])


def test_the_table_names_every_route():
    from signaling.app import make_app
    from signaling.config import Settings

    app = make_app(Settings(database_url="sqlite+aiosqlite:///:memory:", secret_key="x"))
    covered = {(m, _pattern(p)) for m, p, _, _ in TABLE} | ELSEWHERE
    assert _registered(app) - covered == set(), "add the new endpoint to TABLE"


async def test_role_table(server):
    revoked = await revoked_token(server, "admin", "admin123")
    spec, admin = await server.token("demo", "demo123"), await server.token("admin", "admin123")
    tokens = (None, spec, admin, revoked)
    async with aiohttp.ClientSession() as http:
        got = {}
        for method, path, body, expected in TABLE:
            got[(method, path)] = tuple([await request(http, server, method, path, body, t) for t in tokens])
    wrong = {k: v for (k, v), (_, _, _, expected) in zip(got.items(), TABLE) if v != expected}
    assert wrong == {}, json.dumps({f"{m} {p}": v for (m, p), v in wrong.items()})
    for namespace, expected in NAMESPACES.items():
        assert tuple([await can_connect(server, namespace, t) for t in tokens]) == expected, namespace


async def test_logout_revokes_every_token_of_the_account_and_clears_the_cookie(server):
    first, second = await server.token("demo", "demo123"), await server.token("demo", "demo123")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(f"{server.url}/api/logout") as r:  # anonymous: nothing to revoke
            assert r.status == 200 and await r.json() == {"revoked": False}
        async with http.post(f"{server.url}/api/logout", headers={"Authorization": f"Bearer {first}"}) as r:
            assert r.status == 200 and await r.json() == {"revoked": True}
            cookie = r.headers["Set-Cookie"]
            assert cookie.startswith("vw_token=") and "Max-Age=0" in cookie
    assert not await can_connect(server, "/agent", second)  # the other tab's token too
    assert await can_connect(server, "/agent", await server.token("demo", "demo123"))  # a new login works


async def admin_put(server, admin, username, body):
    async with aiohttp.ClientSession() as http:
        async with http.put(f"{server.url}/api/admin/accounts/{username}", json=body,
                            headers={"Authorization": f"Bearer {admin}"}) as r:
            return r.status, await r.json()


async def test_a_demoted_administrator_loses_the_admin_rights_at_once(server):
    admin = await server.token("admin", "admin123")
    assert (await admin_put(server, admin, "boss", {"role": "admin", "password": "boss-password"}))[0] == 200
    boss = await server.token("boss", "boss-password")
    live = socketio.AsyncClient(reconnection=False)
    await live.connect(server.url, namespaces=["/admin"], auth={"token": boss}, transports=["websocket"])
    try:
        assert (await admin_put(server, boss, "mallory", {"role": "admin", "password": "mallory-pw"}))[0] == 200
        status, body = await admin_put(server, admin, "boss", {"role": "specialist"})
        assert status == 200 and body["role"] == "specialist"
        assert (await admin_put(server, boss, "eve", {"role": "admin", "password": "eve-password"}))[0] == 401
        assert not await can_connect(server, "/admin", boss)
        for _ in range(50):  # the live /admin socket of the demoted account is closed
            if not live.connected:
                break
            await asyncio.sleep(0.05)
        assert not live.connected
    finally:
        await live.disconnect()


async def test_a_password_change_revokes_and_a_disabled_account_cannot_log_in(server):
    admin = await server.token("admin", "admin123")
    old = await server.token("zhang.wei", "demo123")
    assert (await admin_put(server, admin, "zhang.wei", {"role": "specialist", "password": "new-password-1"}))[0] == 200
    assert not await can_connect(server, "/agent", old)
    fresh = await server.token("zhang.wei", "new-password-1")
    assert await can_connect(server, "/agent", fresh)

    status, body = await admin_put(server, admin, "zhang.wei", {"role": "specialist", "disabled": True})
    assert status == 200 and body["disabled"] is True
    assert not await can_connect(server, "/agent", fresh)
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.url}/api/login", json={"username": "zhang.wei", "password": "new-password-1"}) as r:
            assert r.status == 403 and (await r.json())["error"]["code"] == "account_disabled"
    status, body = await admin_put(server, admin, "admin", {"role": "admin", "disabled": True})
    assert status == 409  # not yourself
    status, body = await admin_put(server, admin, "zhang.wei", {"role": "specialist", "password": "short"})
    assert status == 400 and body["error"]["code"] == "password_too_short"


async def test_a_change_made_elsewhere_takes_effect_within_the_ttl(server):
    """Another node or the command line changed the account: this process notices within ttl_s."""
    from sqlalchemy import update

    from signaling.store.models import Account

    versions = server.app[keys.TOKENS].versions
    versions.ttl_s = 0.3
    spec = await server.token("demo", "demo123")
    assert await can_connect(server, "/agent", spec)
    async with server.app[keys.STORE]._db() as db, db.begin():
        await db.execute(update(Account).where(Account.username == "demo").values(token_version=Account.token_version + 1))
    await asyncio.sleep(0.4)
    assert not await can_connect(server, "/agent", spec)


async def test_database_down_uses_the_versions_last_read(server):
    versions = server.app[keys.TOKENS].versions
    admin, spec = await server.token("admin", "admin123"), await server.token("demo", "demo123")
    async with aiohttp.ClientSession() as http:
        assert await request(http, server, "GET", "/api/admin/accounts", token=admin) == 200

        async def down(account_id):
            raise OSError("the database does not answer")

        versions._read, versions.ttl_s = down, 0  # every check wants a fresh read, and none succeeds
        assert await request(http, server, "GET", "/api/queues", token=admin) == 200  # last value read
        async with http.get(f"{server.url}/api/queues", headers={"Authorization": f"Bearer {spec}"}) as r:
            # never read by this process: it cannot be told apart from a revoked token
            assert r.status == 503 and (await r.json())["error"]["code"] == "service_unavailable"
        assert await request(http, server, "GET", "/api/service-items", token=spec) == 200  # needs no identity
