"""Domain errors: what the session engine refuses, with a snake_case code and a kind.

The engine never knows about HTTP statuses or acks; the adapters translate the
kind (`signaling/errors.py`).
"""

from __future__ import annotations


class DomainError(Exception):
    kind = "conflict"
    fields: dict = {}  # what the answer carries beside `error` (e.g. `next_open_at`); never mutated

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class BadInput(DomainError):
    kind = "bad_input"


class Unauthorized(DomainError):
    kind = "unauthorized"


class Forbidden(DomainError):
    kind = "forbidden"


class NotFound(DomainError):
    kind = "not_found"


class Conflict(DomainError):
    """The event does not fit the current state."""

    kind = "conflict"


class Closed(Conflict):
    """Outside opening hours. The ack carries `next_open_at` beside the error (ISO 8601 UTC, or
    null when no opening is set ahead)."""

    def __init__(self, message: str, next_open_at: str | None):
        super().__init__("closed", message)
        self.fields = {"next_open_at": next_open_at}


class TooMany(DomainError):
    """A cap per client address or per connection is reached."""

    kind = "too_many"


class Unavailable(DomainError):
    """The service cannot take this now (stopping, or the session log is beyond its bound)."""

    kind = "unavailable"
