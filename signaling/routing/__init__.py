"""Who answers what, and when: a pure core (no I/O, injected clock)."""

from .decisions import (
    Answered,
    CallbackDue,
    Decision,
    Escalated,
    Missed,
    Offer,
    OfferEnded,
    Overflowed,
    Position,
    Rona,
    StateChanged,
    WrapUpEnded,
)
from .router import Router, RoutingError
from .settings import EscalationStep, QueueSettings, SettingsError, parse_skills, validate_settings

__all__ = [
    "Answered",
    "CallbackDue",
    "Decision",
    "EscalationStep",
    "Escalated",
    "Missed",
    "Offer",
    "OfferEnded",
    "Overflowed",
    "Position",
    "QueueSettings",
    "Rona",
    "Router",
    "RoutingError",
    "SettingsError",
    "StateChanged",
    "WrapUpEnded",
    "parse_skills",
    "validate_settings",
]
