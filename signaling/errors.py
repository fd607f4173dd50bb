"""The contract's error shape, shared by the HTTP and Socket.IO adapters."""

from __future__ import annotations

from .engine.errors import DomainError

# How the adapters answer each kind of domain error.
STATUS_OF_KIND = {"bad_input": 400, "unauthorized": 401, "forbidden": 403, "not_found": 404,
                  "conflict": 409, "too_many": 429, "unavailable": 503}


class ApiError(Exception):
    """A refusal with a snake_case code, a human message and an HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400, headers: dict[str, str] | None = None,
                 fields: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.headers = headers or {}  # e.g. Retry-After on a 429
        self.fields = fields or {}  # beside `error` in the answer (a `closed` refusal's next_open_at)

    @classmethod
    def of(cls, exc: DomainError) -> "ApiError":
        return cls(exc.code, exc.message, STATUS_OF_KIND.get(exc.kind, 409), fields=exc.fields)

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}, **self.fields}

    def ack(self) -> dict:
        return {"ok": False, **self.body()}


def bad_input(message: str, code: str = "bad_request") -> ApiError:
    return ApiError(code, message, 400)
