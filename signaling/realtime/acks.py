"""Every client→server event is acknowledged with {ok: true, ...} or the contract's error."""

from __future__ import annotations

import functools
import logging
from typing import Any, Awaitable, Callable

from ..engine import DomainError
from ..errors import ApiError
from ..routing import RoutingError

log = logging.getLogger(__name__)


def acked(handler: Callable[..., Awaitable[dict | None]]) -> Callable[..., Awaitable[dict]]:
    @functools.wraps(handler)
    async def wrapper(self, sid: str, data: Any = None) -> dict:
        try:
            result = await handler(self, sid, data)
        except ApiError as exc:
            return exc.ack()
        except DomainError as exc:
            return ApiError.of(exc).ack()
        except RoutingError as exc:
            return ApiError(exc.code, exc.message, 409).ack()
        except Exception:  # never a traceback on the wire
            log.exception("%s failed", handler.__name__)
            return ApiError("internal_error", "the server could not handle this event", 500).ack()
        return {"ok": True, **(result or {})}

    return wrapper
