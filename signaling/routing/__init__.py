"""Who answers what, and when: a pure core (no I/O, injected clock)."""

from .decisions import Answered, Decision, Offer, OfferEnded, Position, StateChanged
from .router import Router, RoutingError

__all__ = [
    "Answered",
    "Decision",
    "Offer",
    "OfferEnded",
    "Position",
    "Router",
    "RoutingError",
    "StateChanged",
]
