"""Errors in the contract's shape; never a traceback."""

from __future__ import annotations

import logging

from aiohttp import hdrs, web
from aiohttp.http_exceptions import HttpProcessingError

from ..engine import DomainError
from ..errors import ApiError

log = logging.getLogger(__name__)

_STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
                 416: "range_not_satisfiable", 429: "too_many_requests"}
# Headers of aiohttp's own refusals that the client needs (405's Allow, 416's Content-Range).
_KEPT_HEADERS = (hdrs.ALLOW, hdrs.CONTENT_RANGE, hdrs.RETRY_AFTER, hdrs.WWW_AUTHENTICATE)


def error_response(status: int, code: str, message: str, headers: dict | None = None) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status, headers=headers)


@web.middleware
async def errors(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message, exc.headers)
    except DomainError as exc:
        api = ApiError.of(exc)
        return error_response(api.status, api.code, api.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        kept = {k: v for k in _KEPT_HEADERS if (v := exc.headers.get(k)) is not None}
        return error_response(exc.status, _STATUS_CODES.get(exc.status, "http_error"), exc.reason, kept)
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return error_response(500, "internal_error", "the server could not handle this request")


class _OneLineProtocolErrors(logging.Filter):
    """A malformed request that aiohttp's HTTP parser refuses (before any handler, so it is
    answered by aiohttp itself, `400 text/plain`) is logged as one line, not a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            text = " ".join(f"{record.getMessage()}: {type(exc).__name__}: {exc.message}".split())
            record.msg = text[:500]
            record.args, record.exc_info, record.exc_text = None, None, None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


_FILTER = _OneLineProtocolErrors()


def quiet_protocol_errors() -> None:
    """Install the filter on aiohttp's server logger (once per process)."""
    logging.getLogger("aiohttp.server").addFilter(_FILTER)
