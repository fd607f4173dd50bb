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
    """An offer ended without an answer. `reason`: `declined`, `timeout`, `withdrawn` (another
    specialist answered it, or the session ended), `caller_left` (its caller dropped out) or
    `specialist_left` (the offered specialist's console dropped)."""

    call_id: str
    specialist_id: int
    reason: str


@dataclass(frozen=True)
class Position:
    """Tell a waiting caller where it stands (S→C `call:queued`).

    `estimated_wait_s`: None when nobody who may take the call is staffed (`staffed` 0); 0 only
    while a specialist who may take it is free; while `offered` (a console rings for it), how
    long the offer still rings. `ends_in_s`/`ends_reason`: when a queue limit ends the wait
    (`max_wait`, `no_specialist`), unless it overflows to another queue. `options`: what the
    caller may do meanwhile."""

    call_id: str
    position: int
    estimated_wait_s: int | None
    staffed: int = 0
    offered: bool = False
    ends_in_s: int | None = None
    ends_reason: str | None = None
    options: tuple[str, ...] = ()
    callback: str | None = None  # the caller keeps its place: `held`, or `alerted` (its turn came)


@dataclass(frozen=True)
class CallbackDue:
    """A session whose caller keeps its place reached the head with a specialist free: alert the
    caller, who has `accept_s` to come back (else it ends `missed`, `callback_not_taken`)."""

    call_id: str
    accept_s: float


@dataclass(frozen=True)
class StateChanged:
    """A specialist's state changed (ready, away, offline, ringing, busy, wrap_up).

    `reason` says why the server changed it when the specialist did not (`rona`,
    `wrap_up_expired`)."""

    specialist_id: int
    state: str
    call_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Missed:
    """End the session as `missed`: `reason` is `max_wait` or `no_specialist`."""

    call_id: str
    reason: str


@dataclass(frozen=True)
class Overflowed:
    """The session moved to another service item's queue (`reason`: `max_wait`,
    `no_specialist` or `escalation`)."""

    call_id: str
    from_queue: str
    to_queue: str
    reason: str


@dataclass(frozen=True)
class Escalated:
    """An escalation step widened who may take the session, or raised its priority."""

    call_id: str
    queue: str
    step: int
    min_proficiency: int
    scope: str
    priority: int


@dataclass(frozen=True)
class Rona:
    """Redirect on no answer: the specialist let `offers` offers in a row time out
    (the last one for `call_id`) and was set `away`."""

    specialist_id: int
    call_id: str
    offers: int


@dataclass(frozen=True)
class WrapUpEnded:
    """Wrap-up time ran out; the specialist is ready again."""

    specialist_id: int
    call_id: str


Decision = (
    CallbackDue | Offer | Answered | OfferEnded | Position | StateChanged | Missed | Overflowed | Escalated | Rona | WrapUpEnded
)
