"""Waiting again at the front: a caller whose answered call ended because the specialist's
console did not come back keeps its place (docs/routing.md, "Re-queue at the front").

When such a session ends, its caller is offered a re-queue (`call:ended` carries `requeue`);
within the window (VW_REQUEUE_WINDOW_S) and once, that caller's connection may take it
(`call:requeue`): a new session for the same service item, placed first in its queue.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import Conflict, Forbidden
from .live import LiveSession, Participant

# Why a session ended for which its caller keeps its place: the specialist's console dropped
# during the call and did not come back within the grace.
REQUEUE_REASONS = frozenset(("specialist_disconnected",))


@dataclass
class _Offer:
    session: LiveSession
    caller_sid: str
    until: float


class Requeues:
    def __init__(self, window_s: float):
        self.window_s = window_s
        self._open: dict[str, _Offer] = {}

    def offer(self, session: LiveSession, reason: str, now: float) -> dict | None:
        """The `requeue` of the caller's `call:ended` when this end keeps the caller's place, else None."""
        for session_id in [k for k, o in self._open.items() if o.until <= now]:
            del self._open[session_id]
        if reason not in REQUEUE_REASONS or not session.answered or session.caller_sid is None or self.window_s <= 0:
            return None
        self._open[session.id] = _Offer(session, session.caller_sid, now + self.window_s)
        return {"within_s": round(self.window_s)}

    def take(self, part: Participant, session_id: str, now: float) -> LiveSession:
        """The ended session whose caller `part` waits again now (once), or the refusal."""
        if part.role != "caller" or part.session_id != session_id:
            raise Forbidden("not_your_call", "this session is not yours")
        offer = self._open.get(session_id)
        if offer is None or offer.caller_sid != part.sid:
            raise Conflict("not_requeueable", "only a call cut off by the specialist's connection can be queued again")
        if now >= offer.until:
            del self._open[session_id]
            raise Conflict("requeue_expired", "the time to queue again at the front has passed; please call again")
        del self._open[session_id]
        return offer.session
