"""Whom to invite into a call for a service item: a pure choice (no I/O, no clock of its own).

A specialist in a call invites "someone for SI-004" (docs/contract.md, issue 13): the back office
is chosen like any session's specialist, among those ready with the skill, but the best-skilled
first (an approver is sought for what they know, not for being idle longest), then the longest
idle, then the lowest id so the choice is stable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class Candidate:
    """A ready specialist and what the router knows of them for this service item."""

    specialist_id: int
    proficiency: int  # the item's own skill, or its category's, whichever is higher (1-5)
    idle_since: float


def pick_invitee(candidates: Iterable[Candidate], exclude: Iterable[int] = ()) -> int | None:
    """The specialist to invite: highest proficiency, then longest idle, then lowest id; None if nobody."""
    skip = set(exclude)
    best = min((c for c in candidates if c.specialist_id not in skip and c.proficiency > 0),
               key=lambda c: (-c.proficiency, c.idle_since, c.specialist_id), default=None)
    return best.specialist_id if best is not None else None
