"""Domain errors: what the session engine refuses, with a snake_case code and a kind.

The engine never knows about HTTP statuses or acks; the adapters translate the
kind (`signaling/errors.py`).
"""

from __future__ import annotations


class DomainError(Exception):
    kind = "conflict"

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


class TooMany(DomainError):
    """A cap per client address or per connection is reached."""

    kind = "too_many"


class Unavailable(DomainError):
    """The service cannot take this now (stopping, or the session log is beyond its bound)."""

    kind = "unavailable"
