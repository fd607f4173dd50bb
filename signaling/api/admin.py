"""HTTP endpoints of the administration pages (all need an administrator's token).

| method and path | answer |
|---|---|
| `GET /api/admin/scores?since=&until=&threshold_s=` | `{items: [leaderboard row]}` best first |
| `GET /api/admin/accounts?role=` | `{items: [{id, username, display_name, role, skills}]}` |
| `PUT /api/admin/accounts/{username}` `{role, display_name?, password?, skills?, disabled?}` | the account |
| `GET /api/admin/service-items?q=` | `{items: [ServiceItem]}`, retired items too (`retired: true`) |
| `PUT /api/admin/service-items/{code}` `ServiceItem` | the item (created or updated; `retired` retires or restores it) |
| `GET /api/admin/categories` | `{items: [Category]}`: every category named or used by an item |
| `PUT /api/admin/categories/{code}` `{name, name_en?}` | the category (created or renamed) |
| `POST /api/admin/service-items/import` CSV or JSON body | `{imported: N}`; a bad row imports nothing (400, names the line) |
| `GET /api/docs` , `GET /api/openapi.json` | the OpenAPI 3 description (HTML viewer, raw JSON) |

The contract's `/api/sessions` filters gain `category`, `company` and `sort`
here (`admin_filters`), and `/api/metrics` gains `tz_offset_min`.
"""

from __future__ import annotations

from aiohttp import web

from .. import keys
from ..errors import ApiError, bad_input
from ..store import StoreError
from ..store.catalog import CatalogError, _load_csv, _load_json, validate_item
from ..store.categories import list_categories, save_category
from ..store.store import SESSION_SORTS
from .openapi import DOCS_CSP, docs_page, openapi_document
from .params import identity, json_body, query_datetime, text_body, threshold_s
from .security import account_changed

MAX_IMPORT_BYTES = 2 * 1024 * 1024
ROLES = ("specialist", "admin")


def admin_filters(request: web.Request) -> dict:
    """The session log's extra filters (category, company) and its sort."""
    category = (request.query.get("category") or "").strip() or None
    company = (request.query.get("company") or "").strip() or None
    sort = (request.query.get("sort") or "").strip() or None
    for name, value in (("category", category), ("company", company)):
        if value is not None and len(value) > 200:
            raise bad_input(f"{name} is longer than 200 characters", "too_long")
    if sort is not None and sort.removeprefix("-") not in SESSION_SORTS:
        raise bad_input(f"sort must be one of {', '.join(SESSION_SORTS)} (prefix - for descending)", "invalid_value")
    return {"category": category, "company": company, "sort": sort}


async def scores(request: web.Request) -> web.Response:
    identity(request, "admin")
    since, until = query_datetime(request, "since"), query_datetime(request, "until")
    threshold = threshold_s(request)
    await request.app[keys.ENGINE].log_caught_up()
    items = await request.app[keys.STORE].scores(since=since, until=until, threshold_s=threshold)
    return web.json_response({"items": items, "threshold_s": threshold})


async def accounts(request: web.Request) -> web.Response:
    identity(request, "admin")
    role = request.query.get("role") or None
    if role is not None and role not in ROLES:
        raise bad_input("role must be specialist or admin", "invalid_value")
    return web.json_response({"items": await request.app[keys.STORE].list_accounts(role)})


async def put_account(request: web.Request) -> web.Response:
    me = identity(request, "admin")
    username = request.match_info["username"].strip()
    body = await json_body(request)
    if not isinstance(body, dict):
        raise bad_input("the body must be a JSON object")
    role = body.get("role", "specialist")
    if role not in ROLES:
        raise bad_input("role must be specialist or admin", "invalid_value")
    display_name = body.get("display_name")
    password = body.get("password")
    skills = body.get("skills")
    disabled = body.get("disabled")
    if disabled is not None and not isinstance(disabled, bool):
        raise bad_input("disabled must be true or false", "wrong_type")
    if display_name is not None and (not isinstance(display_name, str) or len(display_name) > 100):
        raise bad_input("display_name must be a string of at most 100 characters", "invalid_value")
    if password is not None and (not isinstance(password, str) or len(password) > 200):
        raise bad_input("password must be a string of at most 200 characters", "invalid_value")
    if skills is not None:
        if isinstance(skills, str):
            skills = [s.strip() for s in skills.split(",")]
        if not isinstance(skills, list) or not all(isinstance(s, str) and len(s) <= 100 for s in skills):
            raise bad_input("skills must be a list of service item codes or category:NAME", "invalid_value")
        if len(skills) > 500:
            raise bad_input("at most 500 skills", "too_long")
    if me.username == username and (role != "admin" or disabled):
        raise ApiError("conflict", "you cannot remove your own administrator role or disable yourself", 409)
    store = request.app[keys.STORE]
    try:
        account = await store.upsert_account(
            username, role, password or None, display_name=display_name or None, skills=skills, disabled=disabled,
        )
    except StoreError as exc:
        raise bad_input(exc.message, exc.code) from None
    # A new role, password or `disabled` revoked its tokens: take effect here at once.
    await account_changed(request.app, account["id"], await store.token_state(account["id"]))
    return web.json_response(account)


async def service_items(request: web.Request) -> web.Response:
    """The administrators' catalog: retired items too, so they can be seen and restored."""
    identity(request, "admin")
    q = (request.query.get("q") or "").strip() or None
    if q is not None and len(q) > 100:
        raise bad_input("q is longer than 100 characters", "too_long")
    return web.json_response({"items": await request.app[keys.STORE].search_service_items(q, include_retired=True)})


async def categories(request: web.Request) -> web.Response:
    identity(request, "admin")
    return web.json_response({"items": await list_categories(request.app[keys.STORE])})


async def put_category(request: web.Request) -> web.Response:
    identity(request, "admin")
    body = await json_body(request)
    try:
        category = await save_category(request.app[keys.STORE], request.match_info["code"], body)
    except CatalogError as exc:
        raise bad_input(str(exc), "invalid_category") from None
    await request.app[keys.ENGINE].reload_catalog()  # the items' category names
    return web.json_response(category)


async def put_service_item(request: web.Request) -> web.Response:
    identity(request, "admin")
    code = request.match_info["code"]
    body = await json_body(request)
    if not isinstance(body, dict):
        raise bad_input("the body must be a JSON object")
    body = {**body, "code": body.get("code", code)}
    if body["code"] != code:
        raise bad_input("the code in the body differs from the one in the path", "invalid_value")
    for key in ("recording", "retired"):
        if body.get(key) is not None and not isinstance(body[key], bool):
            raise bad_input(f"{key} must be true or false", "wrong_type")
    try:
        item = validate_item(body, None)
        await request.app[keys.STORE].import_service_items([item])  # one transaction
    except CatalogError as exc:
        raise bad_input(str(exc), "invalid_service_item") from None
    await request.app[keys.ENGINE].reload_catalog()  # requests read the catalog from memory
    return web.json_response(await request.app[keys.STORE].get_service_item(item["code"]))  # as stored: stripped


async def import_service_items(request: web.Request) -> web.Response:
    identity(request, "admin")
    text = await text_body(request, MAX_IMPORT_BYTES, "catalog file", "invalid_catalog")
    try:
        # The declared type decides; without one (or text/plain), a body that looks like JSON is JSON.
        ctype = request.content_type or ""
        json_body = "json" in ctype or (ctype != "text/csv" and text.lstrip().startswith("["))
        items = _load_json(text) if json_body else _load_csv(text)
        count = await request.app[keys.STORE].import_service_items(items)
    except CatalogError as exc:
        raise bad_input(str(exc), "invalid_catalog") from None
    await request.app[keys.ENGINE].reload_catalog()
    return web.json_response({"imported": count})


async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(openapi_document(request.app))


async def openapi_docs(request: web.Request) -> web.Response:
    if "application/json" in request.headers.get("Accept", "") or request.query.get("format") == "json":
        return await openapi_json(request)
    return web.Response(text=docs_page(), content_type="text/html", charset="utf-8",
                        headers={"Content-Security-Policy": DOCS_CSP})


def setup_admin_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/admin/scores", scores)
    r.add_get("/api/admin/accounts", accounts)
    r.add_put("/api/admin/accounts/{username}", put_account)
    r.add_get("/api/admin/service-items", service_items)
    r.add_put("/api/admin/service-items/{code}", put_service_item)
    r.add_get("/api/admin/categories", categories)
    r.add_put("/api/admin/categories/{code}", put_category)
    r.add_post("/api/admin/service-items/import", import_service_items)
    r.add_get("/api/docs", openapi_docs)
    r.add_get("/api/openapi.json", openapi_json)
