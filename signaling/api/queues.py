"""HTTP endpoints for routing queue settings (administrator's token).

| method and path | answer |
|---|---|
| `GET /api/queues` | `{items: [Queue]}` — every service item's queue, effective settings, `configured` |
| `PUT /api/queues` `{items: [Queue]}` or `[Queue]` | `{items: [Queue]}` saved; all or nothing (400 names the entry) |
| `GET /api/queues/{service_item}` | `Queue` plus `live: {waiting, longest_wait_s, staffed, ready, average_handle_s}` |
| `PUT /api/queues/{service_item}` `{settings...}` | `Queue`; keys left out keep their value; none at all is `400 invalid_queue` |
| `DELETE /api/queues/{service_item}` | `Queue` back to the defaults |

Changes apply to the running router at once (waiting sessions keep their
escalation stage). See docs/routing.md for each setting.
"""

from __future__ import annotations

from aiohttp import web

from .. import keys
from ..errors import ApiError, bad_input
from ..routing.settings import SettingsError, check_change
from ..store.queues import QueueError, delete_queue, list_queues, save_queues
from .params import identity, json_body


def _defaults(request: web.Request):
    return request.app[keys.ENGINE].router.defaults


async def _save(request: web.Request, entries: list) -> None:
    try:
        await save_queues(request.app[keys.STORE], entries, _defaults(request))
    except QueueError as exc:
        where = f"entry {exc.line}: " if exc.line is not None and len(entries) > 1 else ""
        raise ApiError(exc.code, where + exc.message, 400) from None
    await request.app[keys.ENGINE].reload_catalog()


async def _one(request: web.Request, code: str) -> dict:
    found = await list_queues(request.app[keys.STORE], _defaults(request), code)
    if not found:
        raise ApiError("not_found", f"no service item {code!r}", 404)
    return {**found[0], "live": request.app[keys.ENGINE].read.queue_live(code)}


async def get_queues(request: web.Request) -> web.Response:
    identity(request, "admin")
    return web.json_response({"items": await list_queues(request.app[keys.STORE], _defaults(request))})


async def put_queues(request: web.Request) -> web.Response:
    identity(request, "admin")
    body = await json_body(request)
    entries = body.get("items") if isinstance(body, dict) else body
    if not isinstance(entries, list) or not entries:
        raise bad_input("send {\"items\": [queue, ...]} (a non-empty list)", "invalid_value")
    if len(entries) > 10_000:
        raise ApiError("too_large", "at most 10000 queues at once", 413)
    await _save(request, entries)
    store, defaults = request.app[keys.STORE], _defaults(request)
    codes = {e.get("service_item") for e in entries if isinstance(e, dict)}
    return web.json_response({"items": [q for q in await list_queues(store, defaults) if q["service_item"] in codes]})


async def get_queue(request: web.Request) -> web.Response:
    identity(request, "admin")
    return web.json_response(await _one(request, request.match_info["service_item"]))


async def put_queue(request: web.Request) -> web.Response:
    identity(request, "admin")
    code = request.match_info["service_item"]
    body = await json_body(request)
    if not isinstance(body, dict):
        raise bad_input("the body must be a JSON object of settings")
    if body.get("service_item", code) != code:
        raise bad_input("service_item in the body differs from the path", "invalid_value")
    try:
        check_change(body)
    except SettingsError as exc:
        raise ApiError("invalid_queue", exc.message, 400) from None
    await _one(request, code)  # 404 for an unknown service item
    await _save(request, [{**body, "service_item": code}])
    return web.json_response(await _one(request, code))


async def delete_queue_settings(request: web.Request) -> web.Response:
    identity(request, "admin")
    code = request.match_info["service_item"]
    await _one(request, code)
    await delete_queue(request.app[keys.STORE], code)
    await request.app[keys.ENGINE].reload_catalog()
    return web.json_response(await _one(request, code))


def setup_queue_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/queues", get_queues)
    r.add_put("/api/queues", put_queues)
    r.add_get("/api/queues/{service_item}", get_queue)
    r.add_put("/api/queues/{service_item}", put_queue)
    r.add_delete("/api/queues/{service_item}", delete_queue_settings)
