"""What the HTTP handlers read from a request: tokens, identities, JSON bodies, query values.

Every check answers with the contract's error shape (ApiError), never a traceback.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from .. import keys
from ..auth import Identity
from ..errors import ApiError, bad_input

TOKEN_COOKIE = "vw_token"


def bearer_token(request: web.Request) -> str | None:
    """`Authorization: Bearer TOKEN`, or the pages' HttpOnly cookie holding the same token."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get(TOKEN_COOKIE)


def identity(request: web.Request, role: str) -> Identity:
    """The staff identity of the request: 401 without a valid token, 403 with the wrong role."""
    ident = request.app[keys.TOKENS].verify(bearer_token(request))
    if ident is None:
        raise ApiError("unauthorized", "log in first (a valid token is required)", 401)
    if ident.role != role:
        raise ApiError("forbidden", f"this needs the {role} role", 403)
    return ident


async def json_body(request: web.Request) -> Any:
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise bad_input("the body must be JSON") from None


def query_datetime(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise bad_input(f"{name} must be an ISO 8601 date or time", "invalid_value") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def query_int(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_input(f"{name} must be an integer", "invalid_value") from None
    if not lo <= value <= hi:
        raise bad_input(f"{name} must be between {lo} and {hi}", "out_of_range")
    return value


def threshold_s(request: web.Request) -> float:
    """The service-level threshold of a metrics query (default: the answer target)."""
    raw = request.query.get("threshold_s")
    if not raw:
        return request.app[keys.SETTINGS].answer_target_s
    try:
        threshold = float(raw)
    except ValueError:
        raise bad_input("threshold_s must be a number", "invalid_value") from None
    if not 0 < threshold <= 3600:
        raise bad_input("threshold_s must be between 0 and 3600", "out_of_range")
    return threshold
