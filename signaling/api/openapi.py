"""The OpenAPI 3 description of the HTTP API, served at /api/docs and /api/openapi.json.

Hand-written for the endpoints of the contract and of the administration
pages. Any route registered on the app that is not described here (another
feature's newer endpoint) is still listed, marked `x-undocumented`, so the
document always names every endpoint the server answers.
"""

from __future__ import annotations

import hashlib
import re
from base64 import b64encode
from typing import Any

from aiohttp import web

from ..store.models import QualitySample
from ..store.store import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, SESSION_SORTS

VERSION = "1"


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERR = {"$ref": "#/components/responses/Error"}
SORTS = [f"{sign}{column}" for column in SESSION_SORTS for sign in ("", "-")]
# Who may use the document operations: the caller's call token, a staff token, or the cookie.
PARTY_SECURITY = [{"bearer": []}, {"cookie": []}]
RATE_LIMITED = {"description": "too many requests; retry after the given seconds",
                "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
DOC_ERRORS = {"401": ERR, "403": ERR, "404": ERR, "409": ERR}
DOC_WHO = ("The caller (Bearer: its call token) and the specialist who answered the session (staff token), "
           "only while the session is live (409 not_live afterwards); administrators may read any time. "
           "A specialist the session only rings is refused (403).")


def _q(name: str, description: str, schema: dict | None = None, required: bool = False) -> dict:
    param = {"name": name, "in": "query", "required": required, "description": description,
             "schema": schema or {"type": "string"}}
    if not required:
        param["allowEmptyValue"] = True  # `name=` is the same as leaving it out
    return param


def _p(name: str, description: str, schema: dict | None = None) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": schema or {"type": "string"}}


# Any ISO 8601 date or date-time Python reads (not only RFC 3339 date-times), so no `format`.
RANGE = [
    _q("since", "start of the range, ISO 8601 date or time (inclusive; a time without zone is UTC)",
       {"type": "string", "example": "2026-12-01T00:00:00Z"}),
    _q("until", "end of the range, ISO 8601 date or time (exclusive)", {"type": "string", "example": "2026-12-02"}),
]
THRESHOLD = _q("threshold_s", "service-level threshold in seconds, more than 0 and at most 3600 (default 2)",
               {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 3600})
SESSION_FILTERS = [
    _q("service_item", "service item code"),
    _q("category", "service item category", {"type": "string", "maxLength": 200}),
    _q("specialist", "specialist id or username"),
    _q("outcome", "outcome", {"type": "string", "enum": ["answered", "abandoned", "missed", "failed", "transferred"]}),
    _q("company", "caller's company contains this text (case-insensitive)", {"type": "string", "maxLength": 200}),
    _q("q", "search: a whole reference, the start of a reference or of a session id, or part of the caller's "
            "name or company (case-insensitive)", {"type": "string", "maxLength": 100}),
    *RANGE,
    _q("sort", "a column, prefix - for descending (default -created_at)", {"type": "string", "enum": SORTS}),
]
# A recording's party (several people in one call: back_office_2, ...; store/models.py Recording.party_ok).
RECORDING_PARTY = {"type": "string", "pattern": "^(caller|specialist|back_office|supervisor)(_[1-9][0-9]?)?$"}
ROLES = ["specialist", "admin"]  # accounts
PARTIES = ["caller", "specialist"]
QUALITY_PARTIES = list(QualitySample.PARTIES)  # an invited specialist's leg (back_office) is measured too
QUALITY_LEVELS = ["good", "fair", "poor"]
_NUMBER = {"type": "number", "nullable": True}
POOR_CALLS = {"quality_calls": {"type": "integer"}, "poor_calls": {"type": "integer"}, "poor_share": _NUMBER}


def _figures(*names: str) -> dict:
    return {"type": "object", "properties": {n: _NUMBER for n in names}}


def _op(summary: str, responses: dict, *, admin: bool = False, params: list | None = None,
        body: dict | None = None, tags: list[str] | None = None, description: str | None = None,
        security: list | None = None) -> dict:
    op: dict[str, Any] = {"summary": summary, "tags": tags or ["public"], "responses": dict(responses)}
    if description:
        op["description"] = description
    if security:
        op["security"] = security
    if params:
        op["parameters"] = params
    if body:
        op["requestBody"] = body
    if admin:
        op["security"] = [{"bearer": []}, {"cookie": []}]
        # 503: the token's revocation cannot be checked (database down, account unknown to this process).
        op["responses"].update({"401": ERR, "403": ERR, "503": ERR})
        op["tags"] = tags or ["administration"]
    op["responses"].setdefault("400", ERR)
    return op


# The recording's state (as in the session's `recordings`), on the file itself.
RECORDING_STATE = {"X-Recording-State": {"schema": {"type": "string", "enum": ["recording", "complete", "repaired", "failed"]}}}

SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string", "example": "invalid_value"}, "message": {"type": "string"}}}}},
    "ServiceItem": {"type": "object", "required": ["code", "name", "category", "level", "difficulty"], "properties": {
        "code": {"type": "string", "maxLength": 32}, "name": {"type": "string", "maxLength": 200},
        "name_en": {"type": "string", "maxLength": 200},
        "category": {"type": "string", "maxLength": 64}, "department": {"type": "string", "maxLength": 200},
        "level": {"type": "string", "enum": ["district", "municipal"]},
        "difficulty": {"type": "integer", "minimum": 1, "maximum": 5},
        "department_en": {"type": "string", "maxLength": 200, "description": "the department in English"},
        "category_name": {"type": "string", "description": "the category's display name (Chinese); its code when unnamed"},
        "category_name_en": {"type": "string", "description": "the category's English display name; else category_name"},
        "retired": {"type": "boolean", "description": "no longer offered to callers; kept in the log (admin catalog only)"},
        "keywords": {"type": "string", "maxLength": 2000, "example": "社保, 五险, social security",
                     "description": "what callers type instead of the name: short forms, synonyms, English words; "
                                    "separated by commas, semicolons, 、 or spaces (docs/search.md)"}}},
    "Category": {"type": "object", "required": ["code", "name", "name_en"], "properties": {
        "code": {"type": "string", "maxLength": 64}, "name": {"type": "string", "maxLength": 200},
        "name_en": {"type": "string", "maxLength": 200},
        "named": {"type": "boolean", "description": "false: used by items but given no display names yet"},
        "items": {"type": "integer"}, "retired_items": {"type": "integer"}}},
    "Session": {"type": "object", "properties": {
        "id": {"type": "string"}, "status": {"type": "string", "enum": ["queued", "offered", "connected", "ended"]},
        "reference": {"type": "string", "nullable": True, "maxLength": 20, "example": "XH-20261202-0042",
                      "description": "the short human reference; null for sessions from before it existed"},
        **{k: {"type": "string", "nullable": True} for k in (
            "transferred_from", "transferred_to", "transferred_from_reference", "transferred_to_reference",
            "transfer_note")},
        "outcome": {"type": "string", "nullable": True, "enum": ["answered", "abandoned", "missed", "failed", "transferred", None]},
        "service_item": {"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": "string"}}},
        "caller": {"type": "object", "properties": {"name": {"type": "string"}, "company": {"type": "string", "nullable": True},
                                                     "phone": {"type": "string", "nullable": True}}},
        "specialist": {"type": "object", "nullable": True, "properties": {
            "id": {"type": "integer"}, "username": {"type": "string"}, "display_name": {"type": "string"}}},
        **{k: {"type": "string", "format": "date-time", "nullable": True}
           for k in ("created_at", "offered_at", "answered_at", "media_at", "ended_at")},
        "wait_ms": {"type": "integer", "nullable": True, "description": "answered_at − created_at"},
        "connect_ms": {"type": "integer", "nullable": True, "description": "media_at − created_at"},
        "talk_s": {"type": "number", "nullable": True},
        "end_reason": {"type": "string", "nullable": True},
        "ended_by": {"type": "string", "nullable": True, "enum": ["caller", "specialist", "system", None]},
        "satisfaction": {"type": "integer", "nullable": True, "minimum": 1, "maximum": 5},
        "difficulty": {"type": "integer", "nullable": True, "minimum": 1, "maximum": 5},
        "disposition": {"type": "string", "nullable": True}, "notes": {"type": "string", "nullable": True},
        "recordings": {"type": "array", "items": {"type": "object", "properties": {
            "party": RECORDING_PARTY, "url": {"type": "string"},
            "duration_s": {"type": "number", "nullable": True}, "bytes": {"type": "integer", "nullable": True},
            "state": {"type": "string", "enum": ["recording", "complete", "repaired", "failed"],
                      "description": "recording: still being written (served as far as it is on disk); "
                                     "repaired: remuxed at start-up after a crash; failed: nothing decodable"}}}},
        "quality": {"type": "object", "nullable": True,
                    "description": "network quality per party, written with the session's end (docs/contract.md)",
                    "properties": {p: {"allOf": [_ref("QualitySummary")], "nullable": True} for p in QUALITY_PARTIES}},
        "quality_level": {"type": "string", "nullable": True, "enum": [*QUALITY_LEVELS, None],
                          "description": "the worse party's level; poor: a poor call"},
    }},
    "SessionWithEvents": {"allOf": [_ref("Session"), {"type": "object", "properties": {"events": {
        "type": "array", "items": {"type": "object", "properties": {
            "at": {"type": "string", "format": "date-time"}, "type": {"type": "string"},
            "data": {"type": "object", "nullable": True}}}},
        "participants": {"type": "array", "items": _ref("Participant"),
                         "description": "who was in the call: one row per person and mode, oldest first"}}}]},
    "Participant": {"type": "object", "description": "several people in one call (docs/contract.md)", "properties": {
        "role": {"type": "string", "enum": ["caller", "front_desk", "back_office", "supervisor"]},
        "account_id": {"type": "integer", "nullable": True}, "display_name": {"type": "string"},
        "mode": {"type": "string", "nullable": True,
                 "enum": ["consult", "conference", "handover", "listen", "whisper", "barge", None]},
        "invite_id": {"type": "string", "nullable": True},
        "wait_ms": {"type": "integer", "nullable": True, "description": "a back office's: invitation to acceptance"},
        "joined_at": {"type": "string", "format": "date-time"},
        "left_at": {"type": "string", "format": "date-time", "nullable": True}}},
    "QualitySummary": {"type": "object", "description": "one party's network quality over the call (media/quality.py)",
                       "properties": {
        "level": {"type": "string", "enum": QUALITY_LEVELS}, "samples": {"type": "integer"},
        "seconds": {"type": "number"},
        "share": {"type": "object", "properties": {k: {"type": "number"} for k in QUALITY_LEVELS}},
        "rtt_ms": _figures("p50", "p95", "max"), "loss_pct": _figures("mean", "p95", "max"),
        "jitter_ms": _figures("p50", "p95"), "kbps_in": _figures("mean", "min"), "kbps_out": _figures("mean", "min"),
        **{k: _NUMBER for k in ("loss_in_pct", "loss_out_pct", "fps", "fps_out")},
        "freezes": {"type": "integer"}, "frozen_s": {"type": "number"},
        "weak": {"type": "string", "nullable": True, "enum": ["in", "out", None]}}},
    "QualitySample": {"type": "object", "properties": {
        "at": {"type": "string", "format": "date-time"}, "party": {"type": "string", "enum": QUALITY_PARTIES},
        "level": {"type": "string", "enum": QUALITY_LEVELS},
        "direction": {"type": "string", "nullable": True, "enum": ["in", "out", None]},
        "rtt_ms": {"type": "integer", "nullable": True}, "kbps_in": {"type": "integer", "nullable": True},
        "kbps_out": {"type": "integer", "nullable": True},
        **{k: _NUMBER for k in ("loss_pct", "loss_in_pct", "loss_out_pct", "jitter_ms", "fps", "fps_out", "frozen_s")}}},
    "Percentiles": {"type": "object", "properties": {k: {"type": "integer", "nullable": True} for k in ("p50", "p90", "p99")}},
    "Metrics": {"type": "object", "description": "Definitions: docs/administration.md", "properties": {
        "offered": {"type": "integer"}, "answered": {"type": "integer"}, "abandoned": {"type": "integer"},
        "missed": {"type": "integer"},
        "service_level": {"type": "number", "nullable": True, "description": "answered with connect_ms <= threshold / answered"},
        "service_level_abandons": {"type": "number", "nullable": True,
                                   "description": "(answered within + abandoned within threshold) / (answered + abandoned)"},
        "asa_ms": {"type": "number", "nullable": True}, "aht_s": {"type": "number", "nullable": True},
        "abandonment_rate": {"type": "number", "nullable": True},
        "connect_ms": _ref("Percentiles"),
        "callbacks": {"type": "object", "description": "callers who kept their place (by their callback events in the range)",
                      "properties": {k: {"type": "integer"} for k in ("requested", "reached", "missed")}},
        "appointments": {"type": "object", "description": "appointments whose slot starts in the range", "properties": {
            **{k: {"type": "integer"} for k in ("booked", "kept", "no_show", "cancelled", "answered")},
            "service_level": {"type": "number", "nullable": True,
                              "description": "appointments' sessions answered with connect_ms <= threshold / answered"}}},
        "quality": {"type": "object", "description": "poor calls: a party poor in 20 % of its samples or more",
                    "properties": {"calls": {"type": "integer"}, "poor_calls": {"type": "integer"}, "poor_share": _NUMBER}},
        "by_service_item": {"type": "array", "items": {"type": "object", "properties": {
            "code": {"type": "string"}, "name": {"type": "string"}, "name_en": {"type": "string", "nullable": True},
            "offered": {"type": "integer"}, **{k: {"type": "integer"} for k in ("consults", "conferences", "handovers")},
            "reach_back_office_ms": {"type": "number", "nullable": True, "description": "mean"},
            "answered": {"type": "integer"}, "service_level": {"type": "number", "nullable": True},
            "asa_ms": {"type": "number", "nullable": True}, **POOR_CALLS}}},
        "by_specialist": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "integer"}, "display_name": {"type": "string"}, "answered": {"type": "integer"},
            "aht_s": {"type": "number", "nullable": True}, "satisfaction": {"type": "number", "nullable": True},
            "score": {"type": "number", "nullable": True, "description": "0-100, see docs/administration.md"}}}},
        "by_hour": {"type": "array", "description": "24 entries, hour of day shifted by tz_offset_min",
                    "items": {"type": "object", "properties": POOR_CALLS}},
        "connect_histogram": {"type": "object", "properties": {
            "bin_ms": {"type": "integer"}, "counts": {"type": "array", "items": {"type": "integer"}},
            "over": {"type": "integer"}, "threshold_ms": {"type": "number"}}},
        "threshold_s": {"type": "number", "description": "the answer target applied (seconds)"},
        "several": {"type": "object", "description": "several people in one call, for the sessions of the range",
                    "properties": {
            **{k: {"type": "integer"} for k in ("invites", "consults", "conferences", "handovers", "declined", "timed_out")},
            "reach_back_office_ms": {"type": "object", "description": "invitation to acceptance", "properties": {
                "mean": {"type": "number", "nullable": True}, "p50": {"type": "integer", "nullable": True},
                "p90": {"type": "integer", "nullable": True}}}}},
    }},
    "Document": {"type": "object", "properties": {
        "id": {"type": "string"}, "session_id": {"type": "string"},
        "from": {"type": "string", "enum": PARTIES}, "name": {"type": "string"}, "content_type": {"type": "string"},
        "size": {"type": "integer"}, "at": {"type": "string", "format": "date-time"}, "url": {"type": "string"}}},
    "Account": {"type": "object", "properties": {
        "id": {"type": "integer"}, "username": {"type": "string"}, "display_name": {"type": "string"},
        "role": {"type": "string", "enum": ROLES}, "disabled": {"type": "boolean"},
        "skills": {"type": "array", "items": {"type": "string"}, "description": "service item codes or category:NAME"}}},
    "ScoreRow": {"type": "object", "properties": {
        "rank": {"type": "integer", "nullable": True}, "id": {"type": "integer"}, "username": {"type": "string"},
        "display_name": {"type": "string"}, "answered": {"type": "integer"},
        "score": {"type": "number", "nullable": True}, "aht_s": {"type": "number", "nullable": True},
        "satisfaction": {"type": "number", "nullable": True}, "ratings": {"type": "integer"},
        "breakdown": {"type": "object", "description": "timeliness, difficulty, satisfaction (0-1), assisted "
                      "(sessions joined as the back office) and per-item rows"}}},
}


# What PUT /api/admin/service-items/{code} takes: every key but the code (the path's by default),
# name_en and department may be null.
ITEM_INPUT = {"type": "object", "required": ["name", "name_en", "category", "department", "level", "difficulty"],
              "properties": {**SCHEMAS["ServiceItem"]["properties"],
                             **{k: {"type": "string", "maxLength": 200, "nullable": True} for k in ("name_en", "department")},
                             "department_en": {"type": "string", "maxLength": 200, "nullable": True},
                             "keywords": {"type": "string", "maxLength": 2000, "nullable": True,
                                          "description": "left out or null: the item keeps its keywords"},
                             "recording": {"type": "boolean", "nullable": True, "description": "record this item's calls"},
                             "retired": {"type": "boolean", "nullable": True,
                                         "description": "true retires the item (callers can no longer ask for it), false restores it"}}}


def _paths() -> dict:
    sessions_params = [*SESSION_FILTERS,
                       _q("limit", "page size 1-1000 (default 50)", {"type": "integer", "minimum": 1, "maximum": 1000}),
                       _q("offset", "rows to skip", {"type": "integer", "minimum": 0, "maximum": 10**9})]
    session_id = _p("id", "session id")
    return {
        "/healthz": {"get": _op("Liveness", {"200": _json({"type": "object", "properties": {"status": {"type": "string"}}})},
                                tags=["operations"])},
        "/metrics": {"get": _op("Prometheus metrics (text format)", {"200": {
            "description": "vw_sessions_total{outcome}, vw_connect_seconds histogram, vw_specialists{state}, vw_legs_active, vw_sessions_waiting",
            "content": {"text/plain": {"schema": {"type": "string"}}}}, "401": ERR}, tags=["operations"],
            description="With VW_METRICS_TOKEN set, needs `Authorization: Bearer <that token>` (401 otherwise).")},
        "/api/config": {"get": _op("Client configuration", {"200": _json({"type": "object", "properties": {
            "ice_servers": {"type": "array", "items": {"type": "object"}},
            "ice_transport_policy": {"type": "string", "enum": ["all", "relay"]},
            "ice_expires_at": {"type": "integer", "nullable": True}, "answer_target_s": {"type": "number"}}})},
            description="ICE servers for the participant's peer connection; TURN servers with short-term "
                        "credentials (VW_TURN_URLS) carry fresh ones, valid until `ice_expires_at` (unix seconds). "
                        "`ice_transport_policy` is VW_ICE_TRANSPORT_POLICY (`relay`: through TURN only).")},
        "/api/login": {"post": _op("Staff login", {
            "200": _json({"type": "object", "properties": {"token": {"type": "string"}, "role": {"type": "string", "enum": ROLES},
                                                           "user": {"type": "object"}}}),
            "401": ERR, "403": ERR, "415": ERR, "429": RATE_LIMITED}, body={"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["username", "password"],
                "properties": {"username": {"type": "string"}, "password": {"type": "string"}}}}}},
            description="Also sets the HttpOnly cookie vw_token holding the same token. Only application/json (415 "
                        "otherwise). 403 account_disabled; 429 with Retry-After while the account or the client "
                        "address is locked out (docs/security.md).")},
        "/api/logout": {"post": _op("Log out: revoke the account's tokens and clear the cookie", {
            "200": _json({"type": "object", "required": ["revoked"], "properties": {"revoked": {"type": "boolean"}}}),
            "403": ERR}, description="Every token of the account is revoked (all its tabs and devices). Without a valid "
            "token, nothing is revoked (`revoked: false`) and the cookie is cleared anyway.")},
        "/api/service-items": {"get": _op("Search the service catalog, best match first", {"200": _json({"type": "object", "properties": {
            "items": {"type": "array", "items": {"allOf": [_ref("ServiceItem"), {"type": "object", "properties": {
                "score": {"type": "number", "minimum": 0, "maximum": 100, "description": "relevance (with q only)"},
                "matched": {"type": "string", "enum": ["code", "name", "name_en", "keywords", "department",
                                                       "department_en", "category"],
                            "description": "the field that matched best (with q only)"}}}]}}}})},
            params=[_q("q", "what the caller knows: name or part of it, short form (社保), pinyin or initials "
                       "(shebao, sb), English words in either spelling, small typos; empty: the whole catalog "
                       "by category and code. Retired items are left out.", {"type": "string", "maxLength": 100})])},
        "/api/sessions": {"get": _op("The session log (newest first)", {"200": _json({"type": "object", "properties": {
            "items": {"type": "array", "items": _ref("Session")}, "total": {"type": "integer"}}})},
            admin=True, params=sessions_params)},
        "/api/sessions.csv": {"get": _op("The filtered session log as CSV", {"200": {
            "description": "CSV, one row per session", "content": {"text/csv": {"schema": {"type": "string"}}}}},
            admin=True, params=SESSION_FILTERS)},
        "/api/sessions/{id}": {"get": _op("One session with its events", {"200": _json(_ref("SessionWithEvents")), "404": ERR},
                                          admin=True, params=[session_id])},
        "/api/sessions/{id}/quality": {"get": _op("A session's network quality samples, oldest first (the chart)", {
            "200": _json({"type": "object", "properties": {
                "session_id": {"type": "string"}, "interval_s": {"type": "number"},
                "samples": {"type": "array", "items": _ref("QualitySample")}}}), "404": ERR},
            admin=True, params=[session_id])},
        "/api/metrics": {"get": _op("Response times, service level and scores for a range", {"200": _json(_ref("Metrics"))},
                                    admin=True, params=[*RANGE, THRESHOLD, _q(
                                        "tz_offset_min", "minutes east of UTC for by_hour (480 = Beijing)",
                                        {"type": "integer", "minimum": -840, "maximum": 840})])},
        "/api/recordings/{session_id}/{party}": {"get": _op("A party's recording (WebM; Range requests answered with 206)", {
            "200": {"description": "video/webm", "headers": RECORDING_STATE,
                    "content": {"video/webm": {"schema": {"type": "string", "format": "binary"}}}},
            "206": {"description": "partial content", "headers": RECORDING_STATE}, "404": ERR, "416": ERR},
            admin=True, params=[_p("session_id", "session id"), _p("party", "caller, specialist, back_office, supervisor (then _2, ...)", RECORDING_PARTY)])},
        "/api/admin/scores": {"get": _op("Specialist leaderboard with breakdowns", {"200": _json({"type": "object", "properties": {
            "items": {"type": "array", "items": _ref("ScoreRow")}, "threshold_s": {"type": "number"}}})},
            admin=True, params=[*RANGE, THRESHOLD])},
        "/api/admin/accounts": {"get": _op("Staff accounts with their skills", {"200": _json({"type": "object", "properties": {
            "items": {"type": "array", "items": _ref("Account")}}})}, admin=True,
            params=[_q("role", "specialist or admin", {"type": "string", "enum": ROLES})])},
        "/api/admin/accounts/{username}": {"put": _op("Create or update an account", {"200": _json(_ref("Account")), "409": ERR},
            admin=True, params=[_p("username", "login name", {"type": "string", "minLength": 1, "maxLength": 64})],
            body={"required": True, "content": {"application/json": {"schema": {
                "type": "object", "properties": {
                    "role": {"type": "string", "enum": ROLES}, "display_name": {"type": "string", "maxLength": 100},
                    "password": {"type": "string", "minLength": MIN_PASSWORD_LENGTH, "maxLength": MAX_PASSWORD_LENGTH,
                                 "description": "required for a new account; omit to keep. A new password, a new role "
                                                "or a change of `disabled` revokes the account's tokens."},
                    "skills": {"type": "array", "maxItems": 500, "items": {"type": "string", "maxLength": 100}},
                    "disabled": {"type": "boolean", "description": "a disabled account cannot log in; its tokens are refused"}}}}}})},
        "/api/admin/service-items": {"get": _op("The whole catalog, retired items included", {"200": _json({
            "type": "object", "properties": {"items": {"type": "array", "items": _ref("ServiceItem")}}})}, admin=True,
            params=[_q("q", "matches code, name and name_en", {"type": "string", "maxLength": 100})])},
        "/api/admin/categories": {"get": _op("Every category named or used by a service item", {"200": _json({
            "type": "object", "properties": {"items": {"type": "array", "items": _ref("Category")}}})}, admin=True)},
        "/api/admin/categories/{code}": {"put": _op("Name a category in both languages", {"200": _json(_ref("Category"))},
            admin=True, params=[_p("code", "the category code service items carry", {"type": "string", "minLength": 1, "maxLength": 64})],
            body={"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["name"], "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 200},
                    "name_en": {"type": "string", "maxLength": 200, "nullable": True}}}}}})},
        "/api/admin/service-items/{code}": {"put": _op("Create or update a service item", {"200": _json(_ref("ServiceItem"))},
            admin=True, params=[_p("code", "service item code")],
            body={"required": True, "content": {"application/json": {"schema": ITEM_INPUT}}})},
        "/api/admin/service-items/import": {"post": _op("Import service items (CSV or JSON; all or nothing)", {
            "200": _json({"type": "object", "properties": {"imported": {"type": "integer"}}}), "413": ERR},
            admin=True, description="The body's Content-Type decides: text/csv is CSV, application/json JSON.",
            body={"required": True, "content": {
                "text/csv": {"schema": {"type": "string", "description": "header code,name,name_en,category,department,level,difficulty"}},
                "application/json": {"schema": {"type": "array", "items": _ref("ServiceItem")}}}})},
        "/api/queues": {
            "get": _op("Every service item's queue with its effective routing settings", {"200": _json({"type": "object", "properties": {
                "items": {"type": "array", "items": {"type": "object"}}}})}, admin=True, tags=["routing"]),
            "put": _op("Save several queues (all or nothing)", {"200": _json({"type": "object"})}, admin=True, tags=["routing"],
                       body={"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
                       description="See docs/routing.md for each setting."),
        },
        "/api/queues/{service_item}": {
            "get": _op("One queue with its live figures", {"200": _json({"type": "object"}), "404": ERR}, admin=True,
                       tags=["routing"], params=[_p("service_item", "service item code")]),
            "put": _op("Change a queue's settings (keys left out keep their value)", {"200": _json({"type": "object"}), "404": ERR},
                       admin=True, tags=["routing"], params=[_p("service_item", "service item code")],
                       body={"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}),
            "delete": _op("Reset a queue to the defaults", {"200": _json({"type": "object"}), "404": ERR}, admin=True,
                          tags=["routing"], params=[_p("service_item", "service item code")]),
        },
        "/api/sessions/{id}/documents": {
            "get": _op("Documents sent during a session", {"200": _json({
                "type": "object", "properties": {"items": {"type": "array", "items": _ref("Document")}}}), **DOC_ERRORS},
                tags=["documents"], params=[session_id], security=PARTY_SECURITY, description=DOC_WHO),
            "post": _op("Send a document during the session (multipart, one part named `file`)",
                        {"201": _json(_ref("Document")), **DOC_ERRORS, "413": ERR, "415": ERR, "429": ERR, "503": ERR},
                        tags=["documents"], params=[session_id], security=PARTY_SECURITY, description=DOC_WHO,
                        body={"required": True, "content": {"multipart/form-data": {"schema": {
                            "type": "object", "required": ["file"],
                            "properties": {"file": {"type": "string", "format": "binary"}}}}}}),
        },
        "/api/documents/{doc_id}": {"get": _op("Download a document (`?inline=1` shows images inline)", {
            "200": {"description": "the file"}, **DOC_ERRORS}, tags=["documents"], security=PARTY_SECURITY,
            description=DOC_WHO, params=[_p("doc_id", "document id"), _q("inline", "1: images inline")])},
        "/api/docs": {"get": _op("This description (HTML viewer; JSON with Accept: application/json)", {
            "200": {"description": "HTML"}}, tags=["operations"])},
        "/api/openapi.json": {"get": _op("This description as JSON", {"200": {"description": "OpenAPI 3 document"}},
                                         tags=["operations"])},
        **_hours_paths(),
        **_appointment_paths(),
    }


# ---- opening hours (api/hours.py) -------------------------------------------------------------

_HHMM = {"type": "string", "pattern": "^([01][0-9]|2[0-4]):[0-5][0-9]$", "example": "09:00"}
PERIODS = {"type": "array", "maxItems": 12, "description": "[start, end] pairs, HH:MM (24:00 may end a period)",
           "items": {"type": "array", "minItems": 2, "maxItems": 2, "items": _HHMM}, "example": [["09:00", "17:00"]]}
WEEKLY = {"type": "object", "additionalProperties": False, "description": "a day left out is closed",
          "properties": {d: PERIODS for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}
SCHEDULE_INPUT = {"type": "object", "required": ["weekly"], "additionalProperties": False, "properties": {
    "time_zone": {"type": "string", "maxLength": 64, "example": "Asia/Shanghai",
                  "description": "an IANA time zone (default Asia/Shanghai; for a service item, the center's)"},
    "weekly": WEEKLY}}
DATE = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "example": "2026-02-16"}
REASON = {"type": "string", "enum": ["workday", "weekend", "holiday", "makeup_workday"]}
DAY_HOURS = {"type": "object", "required": ["date", "open", "periods", "reason"], "properties": {
    "date": DATE, "open": {"type": "boolean"}, "periods": PERIODS, "reason": REASON,
    "name": {"type": "string", "nullable": True, "description": "the holiday's name, or the override's note"}}}
WHERE = {"time_zone": {"type": "string"}, "scheduled": {"type": "boolean", "description": "false: no schedule, always open"}}
SCHEDULES = {"type": "object", "properties": {
    "configured": {"type": "boolean", "description": "false: no center schedule (always open, calendar not applied)"},
    "time_zone": {"type": "string"}, "weekly": {**WEEKLY, "nullable": True},
    "updated_at": {"type": "string", "format": "date-time", "nullable": True},
    "items": {"type": "array", "items": {"type": "object", "properties": {
        "service_item": {"type": "string"}, "time_zone": {"type": "string"}, "weekly": WEEKLY,
        "updated_at": {"type": "string", "format": "date-time", "nullable": True}}}}}}
OVERRIDE_KINDS = ["closed", "open", "makeup"]
OVERRIDE = {"type": "object", "properties": {
    "date": DATE, "kind": {"type": "string", "enum": OVERRIDE_KINDS}, "periods": PERIODS, "note": {"type": "string"},
    "updated_at": {"type": "string", "format": "date-time"}}}
OVERRIDE_INPUT = {"type": "object", "required": ["kind"], "additionalProperties": False, "properties": {
    "kind": {"type": "string", "enum": OVERRIDE_KINDS,
             "description": "closed; open (periods required); makeup (a make-up working day: the weekday hours, or periods)"},
    "periods": PERIODS, "note": {"type": "string", "maxLength": 200}}}
_ITEM_Q = _q("service_item", "a service item code: its own schedule, else the center's", {"type": "string", "maxLength": 64})
_YEAR = _q("year", "a year (2000-2100)", {"type": "integer", "minimum": 2000, "maximum": 2100})


def _hours_paths() -> dict:
    tags = ["hours"]
    item = _p("service_item", "service item code", {"type": "string", "minLength": 1, "maxLength": 64})
    day = _p("date", "a date YYYY-MM-DD", DATE)
    schedules = {"200": _json(SCHEDULES)}
    return {
        "/api/hours": {"get": _op("Opening hours of one date (China's official calendar and the center's overrides)", {
            "200": _json({**DAY_HOURS, "properties": {**DAY_HOURS["properties"], **WHERE}}), "404": ERR}, tags=tags,
            params=[_q("date", "YYYY-MM-DD (default: today in the schedule's time zone)", DATE), _ITEM_Q])},
        "/api/hours/next": {"get": _op("Open now?, the next opening and the coming days", {"200": _json({
            "type": "object", "properties": {
                "now": {"type": "string", "format": "date-time"}, "open": {"type": "boolean"},
                "next_open_at": {"type": "string", "format": "date-time", "nullable": True,
                                 "description": "now when open; null when nothing opens within 400 days"},
                "closes_at": {"type": "string", "format": "date-time", "nullable": True}, **WHERE,
                "days": {"type": "array", "items": DAY_HOURS}}}), "404": ERR}, tags=tags,
            params=[_ITEM_Q, _q("days", "how many days from today (1-31, default 7)", {"type": "integer", "minimum": 1, "maximum": 31})])},
        "/api/admin/hours": {
            "get": _op("The center's schedule and the service items' own", schedules, admin=True, tags=tags),
            "put": _op("Set the center's default schedule", dict(schedules), admin=True, tags=tags,
                       body={"required": True, "content": {"application/json": {"schema": SCHEDULE_INPUT}}},
                       description="400 invalid_time_zone or invalid_hours (inverted or overlapping periods)."),
            "delete": _op("Remove the center's schedule: always open, calendar not applied", dict(schedules),
                          admin=True, tags=tags),
        },
        "/api/admin/hours/items/{service_item}": {
            "put": _op("Set a service item's own schedule", {**schedules, "404": ERR}, admin=True, tags=tags, params=[item],
                       body={"required": True, "content": {"application/json": {"schema": SCHEDULE_INPUT}}}),
            "delete": _op("Remove a service item's own schedule (back to the center's)", {**schedules, "404": ERR},
                          admin=True, tags=tags, params=[item]),
        },
        "/api/admin/hours/calendar": {"get": _op("A year's holidays and make-up working days, official and overridden", {
            "200": _json({"type": "object", "properties": {
                "year": {"type": "integer"}, "known": {"type": "boolean", "description": "the package knows this year"},
                "applied": {"type": "boolean", "description": "a center schedule is set, so the calendar applies"},
                "time_zone": {"type": "string"},
                "days": {"type": "array", "items": {**DAY_HOURS, "properties": {
                    **DAY_HOURS["properties"],
                    "official": {"type": "string", "nullable": True, "enum": ["holiday", "makeup_workday", None]},
                    "official_name": {"type": "string", "nullable": True},
                    "override": {**OVERRIDE, "nullable": True}}}}}})}, admin=True, tags=tags,
            params=[_q("year", "a year (2000-2100, default this year)", {"type": "integer", "minimum": 2000, "maximum": 2100})])},
        "/api/admin/hours/overrides": {"get": _op("The administrators' day overrides", {"200": _json({
            "type": "object", "properties": {"items": {"type": "array", "items": OVERRIDE}}})},
            admin=True, tags=tags, params=[_YEAR])},
        "/api/admin/hours/overrides/{date}": {
            "put": _op("Override one day", {"200": _json(OVERRIDE), "404": ERR}, admin=True, tags=tags, params=[day],
                       body={"required": True, "content": {"application/json": {"schema": OVERRIDE_INPUT}}}),
            "delete": _op("Remove one day's override", {"200": _json({"type": "object", "properties": {
                "date": DATE, "deleted": {"type": "boolean"}}}), "404": ERR}, admin=True, tags=tags, params=[day]),
        },
        "/api/admin/hours/overrides/import": {"post": _op("Import days as CSV (all or nothing)", {
            "200": _json({"type": "object", "properties": {"imported": {"type": "integer"},
                                                           "year": {"type": "integer", "nullable": True}}}), "413": ERR},
            admin=True, tags=tags, params=[{**_YEAR, "description": "every row must be in this year, and the file "
                                                                   "replaces the year's overrides"}],
            description="One day a line: date,kind[,periods] (kind closed, open or makeup; periods "
                        "09:00-12:00;13:30-17:00); a header date,kind,periods and lines starting with # are "
                        "allowed. A bad row is refused with its line number (400 invalid_calendar); nothing is kept.",
            body={"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}})},
    }


# ---- appointments and callbacks (api/appointments.py) ------------------------------------------

APPOINTMENT_STATUSES = ["booked", "arrived", "kept", "no_show", "cancelled"]
_PERSON = {"type": "object", "nullable": True, "properties": {
    "id": {"type": "integer"}, "username": {"type": "string"}, "display_name": {"type": "string"}}}
APPOINTMENT = {"type": "object", "required": ["reference", "status", "service_item", "slot_start", "slot_end"], "properties": {
    "reference": {"type": "string", "maxLength": 20, "example": "XHA-20261208-0003"},
    "status": {"type": "string", "enum": APPOINTMENT_STATUSES},
    "service_item": {"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": "string", "nullable": True},
                                                      "name_en": {"type": "string", "nullable": True}}},
    "slot_start": {"type": "string", "format": "date-time"}, "slot_end": {"type": "string", "format": "date-time"},
    "caller": {"type": "object", "properties": {"name": {"type": "string"}, "company": {"type": "string", "nullable": True},
                                                 "phone": {"type": "string", "nullable": True}}},
    "specialist": _PERSON,
    **{k: {"type": "string", "format": "date-time", "nullable": True} for k in ("created_at", "updated_at", "arrived_at")}}}
PUBLIC_APPOINTMENT = {**APPOINTMENT, "properties": {
    **APPOINTMENT["properties"],
    "token": {"type": "string", "description": "the caller's secret: keep it (it is in manage_url)"},
    "manage_url": {"type": "string", "description": "view, cancel, rebook and, at its time, join"},
    "join": {"type": "object", "properties": {
        "from": {"type": "string", "format": "date-time", "description": "joining is allowed from (VW_APPOINTMENT_EARLY_S before)"},
        "open": {"type": "boolean", "description": "the caller may join now (call:request with appointment)"}}}}}
STAFF_APPOINTMENT = {**APPOINTMENT, "properties": {**APPOINTMENT["properties"], "id": {"type": "string"},
                                                   "session_id": {"type": "string", "nullable": True},
                                                   "mine": {"type": "boolean"}}}
_TEXT = lambda n: {"type": "string", "maxLength": n}  # noqa: E731
_INSTANT = {"type": "string", "format": "date-time", "example": "2026-12-08T02:00:00Z",
            "description": "a slot's start as GET /api/appointments/slots gives it (with its zone)"}
BOOKING_INPUT = {"type": "object", "required": ["service_item", "slot_start", "name"], "additionalProperties": False,
                 "properties": {"service_item": {"type": "string", "minLength": 1, "maxLength": 64},
                                "slot_start": _INSTANT, "name": {"type": "string", "minLength": 1, "maxLength": 100},
                                "company": _TEXT(200), "phone": _TEXT(40),
                                "specialist": {**_TEXT(64), "description": "a specialist's username (offered the call first)"}}}
REBOOK_INPUT = {"type": "object", "required": ["slot_start"], "additionalProperties": False,
                "properties": {"slot_start": _INSTANT, "specialist": _TEXT(64)}}
SLOT_ERRORS = ("409: closed (the day is closed), slot_past, slot_full, specialist_unavailable, no_specialist, "
               "appointment_cancelled / appointment_kept / appointment_no_show / appointment_arrived (no longer "
               "changeable); 400: not_a_slot, too_far_ahead, invalid_value; 404: unknown_service_item, "
               "unknown_specialist, not_found.")


def _appointment_paths() -> dict:
    tags = ["appointments"]
    token = _p("token", "the appointment's token (from its manage link)", {"type": "string", "maxLength": 64})
    day = _q("date", "YYYY-MM-DD in the center's time zone (default today)", DATE)
    public = {"200": _json(PUBLIC_APPOINTMENT), "404": ERR, "409": ERR}
    staff_list = {"type": "object", "properties": {"date": DATE, "items": {"type": "array", "items": STAFF_APPOINTMENT},
                                                   "counts": {"type": "object"}}}
    return {
        "/api/appointments/slots": {"get": _op("The slots of a day for a service item, with their places", {
            "200": _json({"type": "object", "properties": {
                "service_item": {"type": "string"}, "date": DATE, "open": {"type": "boolean"}, "reason": REASON,
                "time_zone": {"type": "string"}, "slot_s": {"type": "number"}, "capacity": {"type": "integer"},
                "specialists": {"type": "array", "items": {"type": "object", "properties": {
                    "username": {"type": "string"}, "display_name": {"type": "string"}}}},
                "slots": {"type": "array", "items": {"type": "object", "properties": {
                    "start": {"type": "string", "format": "date-time"}, "end": {"type": "string", "format": "date-time"},
                    "capacity": {"type": "integer"}, "booked": {"type": "integer"}, "available": {"type": "boolean"},
                    "specialists": {"type": "array", "items": {"type": "string"},
                                    "description": "usernames still free in this slot"}}}}}}),
            "404": ERR, "409": ERR}, tags=tags,
            params=[_q("service_item", "service item code", {"type": "string", "minLength": 1, "maxLength": 64}, required=True),
                    day])},
        "/api/appointments": {"post": _op("Book a slot", {"201": _json(PUBLIC_APPOINTMENT), "404": ERR, "409": ERR,
                                                          "429": RATE_LIMITED},
                                          tags=tags, description=SLOT_ERRORS,
                                          body={"required": True, "content": {"application/json": {"schema": BOOKING_INPUT}}})},
        "/api/appointments/{token}": {
            "get": _op("The appointment (its caller's view)", dict(public), tags=tags, params=[token]),
            "delete": _op("Cancel the appointment", dict(public), tags=tags, params=[token]),
            "patch": _op("Rebook: another slot (and specialist) of the same service item", {**public, "429": RATE_LIMITED}, tags=tags,
                         params=[token], description=SLOT_ERRORS,
                         body={"required": True, "content": {"application/json": {"schema": REBOOK_INPUT}}}),
        },
        "/api/console/appointments": {"get": {**_op("The day's appointments, the specialist's own first", {
            "200": _json(staff_list)}, admin=True, tags=tags, params=[day]), "description": "specialists only (403 otherwise)"}},
        "/api/admin/appointments": {"get": _op("The appointments calendar: one day's appointments", {"200": _json(staff_list)},
                                               admin=True, tags=tags, params=[
                                                   day, _q("service_item", "service item code", {"type": "string", "maxLength": 64}),
                                                   _q("status", "status", {"type": "string", "enum": APPOINTMENT_STATUSES})])},
        "/api/admin/callbacks": {"get": _op("Callers who kept their place, with the callback's state", {"200": _json({
            "type": "object", "properties": {"items": {"type": "array", "items": {"type": "object", "properties": {
                "session_id": {"type": "string"}, "reference": {"type": "string", "nullable": True},
                "state": {"type": "string", "enum": ["held", "alerted", "reached", "missed"]},
                "service_item": {"type": "object"}, "caller": {"type": "object"},
                "requested_at": {"type": "string", "format": "date-time", "nullable": True},
                "changed_at": {"type": "string", "format": "date-time", "nullable": True},
                "status": {"type": "string"}, "outcome": {"type": "string", "nullable": True},
                "end_reason": {"type": "string", "nullable": True}}}}}})}, admin=True, tags=tags, params=[
                    *RANGE, _q("state", "callback state", {"type": "string", "enum": ["held", "alerted", "reached", "missed"]})])},
    }


_PAGES = {"/", "/console", "/admin"}


def openapi_document(app: web.Application | None = None) -> dict:
    paths = _paths()
    if app is not None:
        for route in app.router.routes():
            info = route.resource.get_info() if route.resource is not None else {}
            path = info.get("path") or info.get("formatter")
            method = route.method.lower()
            if not path or method in ("head", "*") or path in _PAGES or "prefix" in info or path.startswith("/socket.io"):
                continue
            entry = paths.setdefault(path, {})
            if method not in entry:
                params = [_p(name, name) for name in re.findall(r"{(\w+)[^}]*}", path)]
                entry[method] = {"summary": f"{method.upper()} {path}", "x-undocumented": True,
                                 "tags": ["other"], "responses": {"200": {"description": "OK"}, "default": ERR}}
                if params:
                    entry[method]["parameters"] = params
    return {
        "openapi": "3.0.3",
        "info": {"title": "Virtual Window", "version": VERSION,
                 "description": "HTTP API of the Virtual Window server. Errors are "
                                "{\"error\": {\"code\", \"message\"}}. Real-time events (Socket.IO "
                                "namespaces /caller, /agent, /admin) are described in the wire contract. "
                                "A POST, PUT or DELETE authenticated by the vw_token cookie alone (no Bearer "
                                "header) is refused from another origin (403 cross_origin) and must send "
                                "application/json where JSON is expected (415); docs/security.md."},
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": SCHEMAS,
            "responses": {"Error": _json(_ref("Error"), "An error in the contract's shape")},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "token from POST /api/login"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "vw_token"},
            },
        },
    }


def docs_page() -> str:
    """A small dependency-free viewer: fetches /api/openapi.json and lists every operation."""
    return _DOCS_HTML


def _inline_hash(tag: str) -> str:
    """The CSP source allowing the page's one inline <tag> element, by the hash of its text."""
    body = _DOCS_HTML.split(f"<{tag}", 1)[1].split(">", 1)[1].split(f"</{tag}>", 1)[0]
    return f"'sha256-{b64encode(hashlib.sha256(body.encode()).digest()).decode()}'"


_DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Virtual Window API</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1b2733;background:#f5f8fc}
header{background:#14508f;color:#fff;padding:1rem 1.5rem}main{max-width:1100px;margin:0 auto;padding:1rem 1.5rem}
a{color:#14508f}.op{background:#fff;border:1px solid #d5dfeb;border-radius:6px;margin:.6rem 0}
.op summary{cursor:pointer;padding:.5rem .8rem;display:flex;gap:.8rem;align-items:baseline}
.m{font:700 .8rem monospace;padding:.1rem .45rem;border-radius:4px;color:#fff;background:#14508f;min-width:3.5rem;text-align:center}
.m.post{background:#2e7d46}.m.put{background:#a66a00}.m.delete{background:#b3261e}
code,pre{font-family:ui-monospace,monospace;font-size:.85rem}pre{background:#f0f4f9;padding:.6rem;overflow:auto;border-radius:4px}
.body{padding:0 .8rem .8rem}.lock{color:#a66a00;font-size:.8rem}
header h1{margin:0;font-size:1.3rem}header a{color:#fff}
</style></head><body>
<header><h1>Virtual Window — HTTP API</h1>
<div>OpenAPI 3 document: <a href="/api/openapi.json">/api/openapi.json</a></div></header>
<main><p id="desc"></p><div id="ops">Loading…</div></main>
<script type="module">
const r = await fetch("/api/openapi.json"); const doc = await r.json();
document.getElementById("desc").textContent = doc.info.description;
const box = document.getElementById("ops"); box.textContent = "";
const esc = (s) => String(s ?? "").replace(/[&<>"]/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;","\\"":"&quot;"}[c]));
for (const [path, ops] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(ops)) {
  const d = document.createElement("details"); d.className = "op";
  const params = (op.parameters || []).map((p) => `<li><code>${esc(p.name)}</code> (${esc(p.in)}${p.required ? ", required" : ""}) — ${esc(p.description)}</li>`).join("");
  d.innerHTML = `<summary><span class="m ${method}">${method.toUpperCase()}</span><code>${esc(path)}</code><span>${esc(op.summary)}</span>${op.security ? '<span class="lock">administrator</span>' : ""}</summary>
  <div class="body">${op.description ? `<p>${esc(op.description)}</p>` : ""}${params ? `<h4>Parameters</h4><ul>${params}</ul>` : ""}
  <h4>Responses</h4><pre>${esc(JSON.stringify(op.responses, null, 2))}</pre>${op.requestBody ? `<h4>Body</h4><pre>${esc(JSON.stringify(op.requestBody, null, 2))}</pre>` : ""}</div>`;
  box.append(d);
}
</script></body></html>
"""

# The viewer's own policy: its inline script and style by hash, nothing else inline.
DOCS_CSP = (f"default-src 'self'; script-src {_inline_hash('script')}; style-src {_inline_hash('style')}; "
            "img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
