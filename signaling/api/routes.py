"""The contract's HTTP endpoints. Each validates, calls the store or the session engine once, answers."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from .. import keys
from ..errors import ApiError, bad_input
from ..media.ice import participant_ice
from ..telemetry import CONTENT_TYPE
from .admin import admin_filters as _admin_filters
from .admin import setup_admin_routes
from .documents import setup_document_routes
from ..store.store import MAX_PASSWORD_LENGTH, Recording
from .params import (
    TOKEN_COOKIE,
    check_range,
    identity,
    json_body,
    query_datetime,
    query_int,
    query_text,
    staff,
    threshold_s,
)
from .security import LOGIN_LIMITS, account_changed, check_metrics_token, client_address
from .queues import setup_queue_routes
from .hours import setup_hours_routes
from .appointments import setup_appointment_routes
from ..store.appointments import figures as appointment_figures

OUTCOMES = ("answered", "abandoned", "missed", "failed", "transferred")


def _filters(request: web.Request) -> dict:
    outcome = request.query.get("outcome") or None
    if outcome is not None and outcome not in OUTCOMES:
        raise bad_input(f"outcome must be one of: {', '.join(OUTCOMES)}", "invalid_value")
    return {
        "service_item": request.query.get("service_item") or None,
        "specialist": request.query.get("specialist") or None,
        "outcome": outcome,
        "since": query_datetime(request, "since"),
        "until": query_datetime(request, "until"),
        **_admin_filters(request),  # category, company, sort (api/admin.py)
        "q": query_text(request, "q", 100),  # a reference, a session id, the caller's name or company
    }


async def healthz(request: web.Request) -> web.Response:
    """503 while the session writer cannot reach the database (calls may still be served)."""
    engine = request.app.get(keys.ENGINE)
    if engine is not None and not engine.writer.database_available:
        return web.json_response({"status": "degraded", "database": "unavailable"}, status=503)
    return web.json_response({"status": "ok"})


async def config(request: web.Request) -> web.Response:
    settings = request.app[keys.SETTINGS]
    ice = participant_ice(settings.ice_servers, settings.turn(), settings.ice_transport_policy)
    # TURN credentials are made per request: never from a cache.
    return web.json_response({**ice, "answer_target_s": settings.answer_target_s},
                             headers={"Cache-Control": "no-store"})


async def login(request: web.Request) -> web.Response:
    body = await json_body(request, strict=True)  # a form or text/plain post from another site is refused
    if not isinstance(body, dict) or not isinstance(body.get("username"), str) or not isinstance(body.get("password"), str):
        raise bad_input("username and password are required strings", "missing_field")
    username, password = body["username"].strip(), body["password"]
    if len(username) > 64 or len(password) > MAX_PASSWORD_LENGTH:
        raise ApiError("invalid_credentials", "wrong username or password", 401)  # no account has such
    limits, address = request.app[LOGIN_LIMITS], client_address(request)
    await limits.attempt(username, address)  # 429 with Retry-After while locked out
    succeeded = None  # stays None when the check itself fails (the database): no password was judged
    try:
        account = await request.app[keys.STORE].authenticate(username, password)
        succeeded = account is not None
    finally:
        await limits.done(username, address, succeeded)
    if account is None:
        raise ApiError("invalid_credentials", "wrong username or password", 401)
    if account["disabled"]:
        raise ApiError("account_disabled", "this account is disabled; ask an administrator", 403)
    token = request.app[keys.TOKENS].issue(account)
    response = web.json_response(
        {
            "token": token,
            "role": account["role"],
            "user": {k: account[k] for k in ("id", "username", "display_name")},
        }
    )
    response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict", path="/",
                        secure=request.app[keys.SETTINGS].cookie_secure, max_age=request.app[keys.TOKENS].ttl_s)
    return response


async def logout(request: web.Request) -> web.Response:
    """Revoke the account's tokens (every tab and device: the token version is bumped) and clear
    the cookie. Without a valid token there is nothing to revoke; the cookie is cleared anyway."""
    ident = staff(request)
    revoked = False
    if ident is not None:
        state = await request.app[keys.STORE].revoke_tokens(ident.account_id)
        await account_changed(request.app, ident.account_id, state)
        revoked = True
    response = web.json_response({"revoked": revoked})
    response.del_cookie(TOKEN_COOKIE, path="/", secure=request.app[keys.SETTINGS].cookie_secure,
                        httponly=True, samesite="Strict")
    return response


async def service_items(request: web.Request) -> web.Response:
    q = request.query.get("q", "").strip() or None
    if q is not None and len(q) > 100:
        raise bad_input("q is longer than 100 characters", "too_long")
    return web.json_response({"items": await request.app[keys.STORE].search_service_items(q)})


async def sessions(request: web.Request) -> web.Response:
    identity(request, "admin")
    await request.app[keys.ENGINE].log_caught_up()
    items, total = await request.app[keys.STORE].list_sessions(
        **_filters(request),
        limit=query_int(request, "limit", 50, 1, 1000),
        offset=query_int(request, "offset", 0, 0, 10**9),
    )
    return web.json_response({"items": items, "total": total})


async def sessions_csv(request: web.Request) -> web.Response:
    identity(request, "admin")
    await request.app[keys.ENGINE].log_caught_up()
    text = await request.app[keys.STORE].iter_sessions_csv(**_filters(request))
    return web.Response(
        text=text,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="sessions.csv"'},
    )


async def session(request: web.Request) -> web.Response:
    identity(request, "admin")
    await request.app[keys.ENGINE].log_caught_up()
    found = await request.app[keys.STORE].get_session(request.match_info["id"])
    if found is None:
        raise ApiError("not_found", "no session with this id", 404)
    return web.json_response(found)


async def session_quality(request: web.Request) -> web.Response:
    """The session's network quality samples, for the session page's chart (docs/contract.md)."""
    identity(request, "admin")
    await request.app[keys.ENGINE].log_caught_up()
    session_id = request.match_info["id"]
    samples = await request.app[keys.STORE].quality_samples(session_id)
    if samples is None:
        raise ApiError("not_found", "no session with this id", 404)
    interval = request.app[keys.SETTINGS].quality_interval_s
    return web.json_response({"session_id": session_id, "interval_s": interval, "samples": samples})


async def metrics(request: web.Request) -> web.Response:
    identity(request, "admin")
    await request.app[keys.ENGINE].log_caught_up()
    threshold = threshold_s(request)
    result = await request.app[keys.STORE].metrics(
        since=query_datetime(request, "since"), until=query_datetime(request, "until"), threshold_s=threshold,
        tz_offset_min=query_int(request, "tz_offset_min", 0, -840, 840),  # hour of day in by_hour
    )
    # Keep my place and appointments (issue 15): callbacks {requested, reached, missed} and
    # appointments {booked, kept, no_show, cancelled, answered, service_level}.
    result.update(await appointment_figures(request.app[keys.STORE], query_datetime(request, "since"),
                                            query_datetime(request, "until"), threshold))
    return web.json_response(result)


async def recording(request: web.Request) -> web.StreamResponse:
    identity(request, "admin")
    await request.app[keys.ENGINE].log_caught_up()
    party = request.match_info["party"]
    if not Recording.party_ok(party):
        raise bad_input("party must be caller, specialist, back_office or supervisor (then _2, _3, ...)", "invalid_value")
    found = await request.app[keys.STORE].get_session(request.match_info["session_id"], with_events=False)
    if found is None:
        raise ApiError("not_found", "no session with this id", 404)
    path = await request.app[keys.STORE].recording_path(found["id"], party)
    if path is None or not Path(path).is_file():
        raise ApiError("not_found", "no recording of this party", 404)
    check_range(request, Path(path).stat().st_size)
    # A recording still in state `recording` is served as far as it is on disk (docs/media.md).
    state = next((r["state"] for r in found["recordings"] if r["party"] == party), "complete")
    # FileResponse answers satisfiable Range requests (206) itself.
    return web.FileResponse(path, headers={"Content-Type": "video/webm", "X-Recording-State": state})


async def prometheus(request: web.Request) -> web.Response:
    check_metrics_token(request)
    return web.Response(body=request.app[keys.TELEMETRY].render(), headers={"Content-Type": CONTENT_TYPE})


def _page(path: Path):
    async def handler(request: web.Request) -> web.FileResponse:
        return web.FileResponse(path, headers={"Cache-Control": "no-cache"})

    return handler


def setup_routes(app: web.Application, static_root: Path) -> None:
    r = app.router
    r.add_get("/healthz", healthz)
    r.add_get("/metrics", prometheus)
    r.add_get("/api/config", config)
    r.add_post("/api/login", login)
    r.add_post("/api/logout", logout)
    r.add_get("/api/service-items", service_items)
    r.add_get("/api/sessions", sessions)
    r.add_get("/api/sessions.csv", sessions_csv)
    r.add_get("/api/sessions/{id}", session)
    r.add_get("/api/sessions/{id}/quality", session_quality)
    setup_document_routes(app)  # api/documents.py: documents sent during a session
    r.add_get("/api/metrics", metrics)
    r.add_get("/api/recordings/{session_id}/{party}", recording)
    setup_admin_routes(app)  # api/admin.py: scores, management, OpenAPI at /api/docs
    setup_queue_routes(app)  # api/queues.py: routing queue settings
    setup_hours_routes(app)  # api/hours.py: opening hours and the holiday calendar
    setup_appointment_routes(app)  # api/appointments.py: booking, the day's lists, the callbacks list
    r.add_get("/", _page(static_root / "client_web" / "index.html"))
    r.add_get("/favicon.ico", _page(static_root / "shared_web" / "favicon.svg"))
    r.add_get("/console", _page(static_root / "agent_console" / "console.html"))
    r.add_get("/admin", _page(static_root / "agent_console" / "admin.html"))
    r.add_static("/c/", static_root / "client_web", append_version=False)
    r.add_static("/s/", static_root / "agent_console", append_version=False)
    r.add_static("/lib/", static_root / "shared_web", append_version=False)  # the pages' shared modules
