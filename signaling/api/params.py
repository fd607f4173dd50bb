"""What the HTTP handlers read from a request: tokens, identities, JSON bodies, query values.

Every check answers with the contract's error shape (ApiError), never a traceback.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

from aiohttp import hdrs, web

from .. import keys
from ..auth import Identity
from ..engine import DomainError
from ..errors import ApiError, bad_input

TOKEN_COOKIE = "vw_token"
# The request's staff identity, checked once by api/security.py's middleware: an Identity,
# None (no valid, unrevoked staff token) or the DomainError saying it cannot be checked now.
IDENTITY: web.RequestKey["Identity | DomainError | None"] = web.RequestKey("identity")


def token_from_cookie(request: web.Request) -> bool:
    """True when the request's token is the cookie's (no Bearer header)."""
    return not request.headers.get("Authorization", "").lower().startswith("bearer ") and TOKEN_COOKIE in request.cookies


def bearer_token(request: web.Request) -> str | None:
    """`Authorization: Bearer TOKEN`, or the pages' HttpOnly cookie holding the same token."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get(TOKEN_COOKIE)


def staff(request: web.Request) -> Identity | None:
    """The request's valid, unrevoked staff identity, or None; 503 when that cannot be checked."""
    ident = request.get(IDENTITY)
    if isinstance(ident, DomainError):
        raise ident
    return ident


def identity(request: web.Request, role: str) -> Identity:
    """The staff identity of the request: 401 without a valid token, 403 with the wrong role."""
    ident = staff(request)
    if ident is None:
        raise ApiError("unauthorized", "log in first (a valid token is required)", 401)
    if ident.role != role:
        raise ApiError("forbidden", f"this needs the {role} role", 403)
    return ident


async def json_body(request: web.Request, *, strict: bool = False) -> Any:
    """The body as JSON; `strict`: only when sent as application/json (415 otherwise)."""
    if strict and request.content_type != "application/json":
        raise ApiError("unsupported_media_type", "send the body as application/json", 415)
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise bad_input("the body must be JSON") from None


async def text_body(request: web.Request, max_bytes: int, what: str, code: str) -> str:
    """An imported file's body as UTF-8 text: 413 beyond `max_bytes`, 400 `code` naming the line
    of the first byte that is not UTF-8."""
    size = f"{max_bytes >> 20} MB" if max_bytes % (1 << 20) == 0 else f"{max_bytes >> 10} KB"
    too_large = ApiError("too_large", f"the {what} is larger than {size}", 413)
    if request.content_length is not None and request.content_length > max_bytes:
        raise too_large
    raw = await request.read()
    if len(raw) > max_bytes:
        raise too_large
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise bad_input(f"line {line}: not valid UTF-8", code) from None


def query_datetime(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise bad_input(f"{name} must be an ISO 8601 date or time", "invalid_value") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def query_text(request: web.Request, name: str, max_len: int) -> str | None:
    """A free-text query value, trimmed; None when empty."""
    value = (request.query.get(name) or "").strip() or None
    if value is not None and len(value) > max_len:
        raise bad_input(f"{name} is longer than {max_len} characters", "too_long")
    return value


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


_SUFFIX_ZERO = re.compile(r"bytes=-0+", re.ASCII | re.IGNORECASE)


def check_range(request: web.Request, size: int) -> None:
    """Refuse a Range that cannot be satisfied, in the contract's shape (416 with
    `Content-Range: bytes */SIZE`), before FileResponse would answer it with an empty body.
    A satisfiable single range is left to FileResponse (206)."""
    raw = request.headers.get(hdrs.RANGE)
    if raw is None:
        return
    try:
        rng = request.http_range  # aiohttp's parser: one range, `start-end`, `start-` or `-suffix`
    except ValueError:
        rng = None
    # `-0` asks for the last zero bytes: aiohttp reads it as `0-`, the whole file.
    if rng is None or _SUFFIX_ZERO.fullmatch(raw.strip()) or (rng.start is not None and rng.start >= size) or size == 0:
        raise ApiError("range_not_satisfiable", f"the range {raw[:100]!r} is outside the file's {size} bytes", 416,
                       {hdrs.CONTENT_RANGE: f"bytes */{size}"})
