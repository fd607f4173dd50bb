"""What the router decides. The server applies these; the router never does I/O."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Offer:
    """Reserve `specialist_id` for `call_id` until accept, decline or timeout."""

    call_id: str
    specialist_id: int
    timeout_s: float


@dataclass(frozen=True)
class Answered:
    """The specialist took the call (accepted, or auto-answer fired)."""

    call_id: str
    specialist_id: int


@dataclass(frozen=True)
class OfferEnded:
    """An offer ended without an answer: reason is `declined`, `timeout`, `withdrawn`."""

    call_id: str
    specialist_id: int
    reason: str


@dataclass(frozen=True)
class Position:
    """Tell a waiting caller where it stands."""

    call_id: str
    position: int
    estimated_wait_s: int


@dataclass(frozen=True)
class StateChanged:
    """A specialist's state changed (ready, away, offline, ringing, busy, wrap_up)."""

    specialist_id: int
    state: str
    call_id: str | None = None


Decision = Offer | Answered | OfferEnded | Position | StateChanged
