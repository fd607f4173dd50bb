"""HTTP hardening: headers, cookie-authenticated writes, document access, ranges, protocol errors,
/metrics credentials, file modes."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
import subprocess
import sys
from datetime import datetime, timezone

import aiohttp
import pytest

from signaling import keys
from signaling.client import Caller
from test_calls import SI, specialist

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_security_headers_on_pages_api_and_static_files(server):
    async with aiohttp.ClientSession() as http:
        for path in ("/", "/console", "/admin", "/api/config", "/lib/http.js", "/api/no-such-thing"):
            async with http.get(server.url + path) as r:
                h = r.headers
                assert h["X-Content-Type-Options"] == "nosniff", path
                assert h["X-Frame-Options"] == "DENY" and h["Referrer-Policy"] == "no-referrer", path
                assert "frame-ancestors 'none'" in h["Content-Security-Policy"], path
                assert "aiohttp" not in h.get("Server", "") and "Python" not in h.get("Server", ""), path
        async with http.get(server.url + "/console") as r:
            csp = r.headers["Content-Security-Policy"]
            assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.replace("style-src-attr 'unsafe-inline'", "")
        async with http.get(server.url + "/api/docs") as r:  # the viewer's inline script and style, by hash
            assert r.status == 200 and "script-src 'sha256-" in r.headers["Content-Security-Policy"]


async def test_cookie_secure_flag(server):
    server.app[keys.SETTINGS].cookie_secure = True
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.url}/api/login", json={"username": "demo", "password": "demo123"}) as r:
            cookie = r.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie


CSV = "code,name,name_en,category,department,level,difficulty\nCS-001,导入,Import,tax,税务,district,1\n"


async def test_cookie_authenticated_writes_are_same_origin_and_json(server):
    admin = await server.token("admin", "admin123")
    cookie = {"Cookie": f"vw_token={admin}"}
    own = {"Origin": server.url}
    evil = {"Origin": "http://evil.example"}
    imp = f"{server.url}/api/admin/service-items/import"
    put = f"{server.url}/api/queues/SI-001"
    async with aiohttp.ClientSession() as http:
        async def status(method, url, headers, **kw):
            async with http.request(method, url, headers=headers, **kw) as r:
                body = await r.json()
                return r.status, body.get("error", {}).get("code")

        # The probe: cross-origin, text/plain, the cookie alone.
        assert await status("POST", imp, {**cookie, **evil, "Content-Type": "text/plain"}, data=CSV) == (403, "cross_origin")
        assert await status("POST", imp, {**cookie, "Content-Type": "text/plain"}, data=CSV) == (403, "same_origin_required")
        assert await status("POST", imp, {**cookie, **own, "Content-Type": "text/csv"}, data=CSV) == (200, None)
        assert await status("POST", imp, {**cookie, "Sec-Fetch-Site": "same-origin", "Content-Type": "text/csv"}, data=CSV) == (200, None)
        assert await status("POST", imp, {**cookie, "Sec-Fetch-Site": "cross-site", "Content-Type": "text/csv"}, data=CSV) == (403, "cross_origin")
        # The Bearer header cannot be sent cross-origin without a preflight: no Origin rule applies.
        assert await status("POST", imp, {"Authorization": f"Bearer {admin}", "Content-Type": "text/plain"}, data=CSV) == (200, None)
        # JSON endpoints: JSON only with the cookie; cross-origin refused.
        assert await status("PUT", put, {**cookie, "Content-Type": "text/plain"}, data='{"priority": 2}') == (415, "unsupported_media_type")
        assert await status("PUT", put, {**cookie, **evil}, json={"priority": 2}) == (403, "cross_origin")
        assert await status("PUT", put, {**cookie, "Origin": "http://["}, json={"priority": 2}) == (403, "cross_origin")
        assert await status("PUT", put, {**cookie, **own}, json={"priority": 2}) == (200, None)
        assert await status("DELETE", put, {**cookie, **own}) == (200, None)
        # Logging in: JSON only, whatever the credentials.
        assert await status("POST", f"{server.url}/api/login", {"Content-Type": "application/x-www-form-urlencoded"},
                            data="username=admin&password=admin123") == (415, "unsupported_media_type")


async def upload(http, server, call_id, token):
    form = aiohttp.FormData()
    form.add_field("file", PNG, filename="id.png", content_type="image/png")
    async with http.post(f"{server.url}/api/sessions/{call_id}/documents", data=form,
                         headers={"Authorization": f"Bearer {token}"}) as r:
        return r.status, await r.json()


async def listing(http, server, call_id, token):
    async with http.get(f"{server.url}/api/sessions/{call_id}/documents", headers={"Authorization": f"Bearer {token}"}) as r:
        return r.status


async def test_documents_only_for_the_answering_parties_while_the_session_lasts(server):
    spec = await specialist(server, "demo", leg=False)
    other = await specialist(server, "zhang.wei", leg=False, ready=False)
    c = Caller(server.url)
    await c.connect()
    admin = await server.token("admin", "admin123")
    try:
        ack = await c.request(SI, "钱七")
        call_id, call_token = ack["call_id"], ack["call_token"]
        await spec.wait_for("call:offered")
        async with aiohttp.ClientSession() as http:
            assert (await upload(http, server, call_id, call_token))[0] == 201  # the caller, while queued
            assert await listing(http, server, call_id, spec.token) == 403  # only ringing
            assert (await upload(http, server, call_id, spec.token))[0] == 403
            assert (await spec.accept(call_id))["ok"]
            assert await listing(http, server, call_id, spec.token) == 200  # answered
            status, doc = await upload(http, server, call_id, spec.token)
            assert status == 201
            assert await listing(http, server, call_id, other.token) == 403  # another specialist
            await c.hangup(call_id)
            await spec.wait_for("call:ended")
            status, body = await upload(http, server, call_id, call_token)
            assert status == 409 and body["error"]["code"] == "not_live"
            for token, expected in ((call_token, 409), (spec.token, 403), (admin, 200)):
                assert await listing(http, server, call_id, token) == expected
                async with http.get(server.url + doc["url"], headers={"Authorization": f"Bearer {token}"}) as r:
                    assert r.status == expected  # the call token no longer downloads
    finally:
        await c.close()
        await spec.close()
        await other.close()


async def test_nul_in_a_multipart_part_header_is_a_400(server):
    c = Caller(server.url)
    await c.connect()
    try:
        ack = await c.request(SI, "孙八")
        body = (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\x00.png\"\r\n"
                b"Content-Type: image/png\r\n\r\n" + PNG + b"\r\n--b--\r\n")
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{server.url}/api/sessions/{ack['call_id']}/documents", data=body,
                                 headers={"Authorization": f"Bearer {ack['call_token']}",
                                          "Content-Type": "multipart/form-data; boundary=b"}) as r:
                assert r.status == 400 and (await r.json())["error"]["code"] == "bad_request"
    finally:
        await c.close()


async def test_recording_ranges(server, tmp_path):
    store = server.app[keys.STORE]
    now = datetime.now(timezone.utc)
    session_id = "f" * 32
    await store.create_session(id=session_id, service_item_code=SI, caller={"name": "周九"}, created_at=now)
    path = tmp_path / "rec.webm"
    path.write_bytes(bytes(range(100)))
    await store.add_recording(session_id, "caller", str(path), 1.0, 100, now)
    admin = await server.token("admin", "admin123")
    url = f"{server.url}/api/recordings/{session_id}/caller"
    async with aiohttp.ClientSession() as http:
        async def get(rng):
            async with http.get(url, headers={"Authorization": f"Bearer {admin}", "Range": rng}) as r:
                return r.status, r.headers.get("Content-Range"), await r.read(), r.content_type

        status, crange, body, ctype = await get("bytes=5-1")
        assert (status, crange, ctype) == (416, "bytes */100", "application/json") and b"range_not_satisfiable" in body
        assert (await get("bytes=-0"))[:2] == (416, "bytes */100")  # not the whole file with 206
        assert (await get("bytes=100-"))[0] == 416
        assert (await get("bytes=abc"))[0] == 416
        assert await get("bytes=10-19") == (206, "bytes 10-19/100", bytes(range(10, 20)), "video/webm")
        assert (await get("bytes=-5"))[2] == bytes(range(95, 100))


async def test_405_keeps_allow_and_a_raw_protocol_error_is_one_log_line(server, caplog):
    async with aiohttp.ClientSession() as http:
        async with http.delete(f"{server.url}/api/config") as r:
            assert r.status == 405 and r.headers["Allow"] == "GET,HEAD"
            assert (await r.json())["error"]["code"] == "method_not_allowed"
    # aiohttp's own HTTP parser refuses this before any handler: aiohttp answers it (400 text/plain,
    # docs/security.md); the log gets one line, no traceback.
    host, port = server.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nBad\x00Header: 1\r\n\r\n")
    await writer.drain()
    reply = await reader.read(1000)
    writer.close()
    assert reply.split(b"\r\n", 1)[0].endswith(b" 400 Bad Request")
    await asyncio.sleep(0.1)
    records = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert records and all(r.exc_info is None and "\n" not in r.getMessage() for r in records)


@pytest.mark.parametrize("server", [{"metrics_token": "scrape-me"}], indirect=True)
async def test_metrics_token(server):
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/metrics") as r:
            assert r.status == 401 and r.headers["WWW-Authenticate"] == "Bearer"
        async with http.get(f"{server.url}/metrics", headers={"Authorization": "Bearer wrong"}) as r:
            assert r.status == 401
        async with http.get(f"{server.url}/metrics", headers={"Authorization": "Bearer scrape-me"}) as r:
            assert r.status == 200 and "vw_sessions_total" in await r.text()


async def test_database_file_is_private(server, tmp_path):
    for name in ("vw.db", "vw.db-wal", "vw.db-shm"):
        path = tmp_path / name
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, name


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_the_command_line_server_creates_files_0640(tmp_path):
    """`serve` sets the umask, so what the recorder, the journal and the key file create is private."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "VW_SECRET_KEY"}  # the key file is generated
    env.update(VW_VAR_DIR=str(tmp_path / "var"), VW_MEDIA_ADDRESSES="127.0.0.1")
    proc = subprocess.Popen([sys.executable, "-m", "signaling", "serve", "--port", str(port),
                             "--database-url", f"sqlite+aiosqlite:///{tmp_path / 'var' / 'vw.db'}",
                             "--recordings-dir", str(tmp_path / "rec")], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
        umask = next(line for line in open(f"/proc/{proc.pid}/status") if line.startswith("Umask:"))
        assert umask.split()[1] == "0027"
        assert stat.S_IMODE((tmp_path / "var" / "vw.db").stat().st_mode) == 0o600
        assert stat.S_IMODE((tmp_path / "var" / "secret_key").stat().st_mode) == 0o600
        assert stat.S_IMODE((tmp_path / "rec").stat().st_mode) == 0o750
        for path in (tmp_path / "var" / "journal").glob("*"):
            assert stat.S_IMODE(path.stat().st_mode) & 0o027 == 0, path
    finally:
        proc.terminate()
        proc.wait(timeout=60)
