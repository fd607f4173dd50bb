"""The router: queues of sessions per service item, specialists and their states.

Events go in (a method call with `now`), decisions come out (a list). The
router keeps only what it needs to decide; the store keeps the record.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Iterable

from .decisions import Answered, Decision, Offer, OfferEnded, Position, StateChanged

# States a specialist chooses; the router sets ringing, busy and wrap_up itself.
CHOSEN_STATES = ("ready", "away", "offline")


class RoutingError(Exception):
    """An event that does not fit the current state (answered as 409 / ok:false)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class _Specialist:
    id: int
    skills: frozenset[str]
    state: str = "away"
    auto_answer: bool = False
    idle_since: float = 0.0
    call_id: str | None = None


@dataclass
class _Session:
    call_id: str
    service_item: str
    category: str
    priority: int
    seq: int
    enqueued_at: float
    specialist_id: int | None = None  # offered to or answered by
    answered: bool = False
    answered_at: float = 0.0
    offer_deadline: float | None = None
    # specialist id -> when they declined or let the offer time out
    passed: dict[int, float] = field(default_factory=dict)
    last_position: tuple[int, int] | None = None

    @property
    def sort_key(self) -> tuple[int, int]:
        return (-self.priority, self.seq)


class Router:
    def __init__(
        self,
        *,
        offer_timeout_s: float = 15.0,
        retry_s: float = 5.0,
        default_handle_s: float = 180.0,
    ):
        self.offer_timeout_s = offer_timeout_s
        # A specialist who declined a session or let it time out is not offered
        # the same session again this soon; others qualified get it first.
        self.retry_s = retry_s
        self._avg_handle_s = default_handle_s
        self._specialists: dict[int, _Specialist] = {}
        self._sessions: dict[str, _Session] = {}
        self._seq = itertools.count()

    # -- queries ---------------------------------------------------------

    def specialist_state(self, specialist_id: int) -> str:
        spec = self._specialists.get(specialist_id)
        return spec.state if spec else "offline"

    def specialist_call(self, specialist_id: int) -> str | None:
        spec = self._specialists.get(specialist_id)
        return spec.call_id if spec else None

    def session_specialist(self, call_id: str) -> int | None:
        sess = self._sessions.get(call_id)
        return sess.specialist_id if sess else None

    def has_session(self, call_id: str) -> bool:
        return call_id in self._sessions

    def counts_by_state(self) -> dict[str, int]:
        counts = {s: 0 for s in ("ready", "ringing", "busy", "wrap_up", "away")}
        for spec in self._specialists.values():
            if spec.state in counts:
                counts[spec.state] += 1
        return counts

    def queues(self, now: float) -> list[dict]:
        """Waiting sessions per service item with the longest wait."""
        by_item: dict[str, list[_Session]] = {}
        for sess in self._sessions.values():
            if not sess.answered:
                by_item.setdefault(sess.service_item, []).append(sess)
        return [
            {
                "service_item": item,
                "waiting": len(sessions),
                "longest_wait_s": round(max(now - s.enqueued_at for s in sessions), 1),
            }
            for item, sessions in sorted(by_item.items())
        ]

    def next_deadline(self) -> float | None:
        deadlines = [s.offer_deadline for s in self._sessions.values() if s.offer_deadline is not None]
        return min(deadlines) if deadlines else None

    # -- specialists -----------------------------------------------------

    def login(self, specialist_id: int, skills: Iterable[str], now: float) -> list[Decision]:
        """A specialist connected; they start `away` until they choose ready."""
        spec = self._specialists.get(specialist_id)
        if spec is None:
            spec = _Specialist(id=specialist_id, skills=frozenset(skills), idle_since=now)
            self._specialists[specialist_id] = spec
            return [StateChanged(specialist_id, spec.state)]
        spec.skills = frozenset(skills)
        return [StateChanged(specialist_id, spec.state, spec.call_id)]

    def set_state(
        self, specialist_id: int, state: str, now: float, auto_answer: bool | None = None
    ) -> list[Decision]:
        spec = self._require_specialist(specialist_id)
        if state not in CHOSEN_STATES:
            raise RoutingError("invalid_state", f"state must be one of {', '.join(CHOSEN_STATES)}")
        if auto_answer is not None:
            spec.auto_answer = auto_answer
        if spec.state == "busy":
            raise RoutingError("busy", "finish the call before changing state")
        decisions: list[Decision] = []
        if spec.state == "ringing":
            if state == "ready":
                return [StateChanged(spec.id, spec.state, spec.call_id)]
            decisions += self._end_offer(spec, now, "declined")
        if spec.state != state:
            if state == "ready":
                spec.idle_since = now
            spec.state = state
            spec.call_id = None
        decisions.append(StateChanged(spec.id, spec.state))
        return decisions + self._match(now)

    def logout(self, specialist_id: int, now: float) -> list[Decision]:
        """The specialist disconnected. A call they were on must be ended first."""
        spec = self._specialists.get(specialist_id)
        if spec is None:
            return []
        if spec.state == "busy":
            raise RoutingError("busy", "end the call before logging out")
        decisions: list[Decision] = []
        if spec.state == "ringing":
            decisions += self._end_offer(spec, now, "withdrawn")
        del self._specialists[specialist_id]
        decisions.append(StateChanged(specialist_id, "offline"))
        return decisions + self._match(now)

    def accept(self, specialist_id: int, call_id: str, now: float) -> list[Decision]:
        spec = self._require_specialist(specialist_id)
        sess = self._sessions.get(call_id)
        if sess is None or spec.state != "ringing" or spec.call_id != call_id:
            raise RoutingError("not_offered", "this call is not offered to you")
        return self._answer(spec, sess, now)

    def decline(self, specialist_id: int, call_id: str, now: float) -> list[Decision]:
        spec = self._require_specialist(specialist_id)
        if spec.state != "ringing" or spec.call_id != call_id:
            raise RoutingError("not_offered", "this call is not offered to you")
        return self._end_offer(spec, now, "declined") + [StateChanged(spec.id, spec.state)] + self._match(now)

    def wrap_up_done(self, specialist_id: int, now: float) -> list[Decision]:
        spec = self._require_specialist(specialist_id)
        if spec.state != "wrap_up":
            raise RoutingError("not_in_wrap_up", "there is no wrap-up to finish")
        spec.state, spec.call_id, spec.idle_since = "ready", None, now
        return [StateChanged(spec.id, "ready")] + self._match(now)

    # -- sessions --------------------------------------------------------

    def request(
        self, call_id: str, service_item: str, category: str, now: float, priority: int = 0
    ) -> list[Decision]:
        if call_id in self._sessions:
            raise RoutingError("duplicate_call", "this call is already queued")
        self._sessions[call_id] = _Session(
            call_id=call_id,
            service_item=service_item,
            category=category,
            priority=priority,
            seq=next(self._seq),
            enqueued_at=now,
        )
        return self._match(now)

    def hangup(self, call_id: str, now: float) -> list[Decision]:
        """The session ends (caller left, either side hung up, or the server ended it).

        Before answer this is an abandon; after answer the specialist goes to wrap-up.
        """
        sess = self._sessions.pop(call_id, None)
        if sess is None:
            return []
        decisions: list[Decision] = []
        spec = self._specialists.get(sess.specialist_id) if sess.specialist_id is not None else None
        if spec is not None and spec.call_id == call_id:
            if sess.answered:
                self._avg_handle_s = 0.8 * self._avg_handle_s + 0.2 * max(0.0, now - sess.answered_at)
                spec.state = "wrap_up"
                decisions.append(StateChanged(spec.id, "wrap_up", call_id))
            else:
                spec.state, spec.call_id = "ready", None
                decisions.append(OfferEnded(call_id, spec.id, "withdrawn"))
                decisions.append(StateChanged(spec.id, "ready"))
        return decisions + self._match(now)

    def refresh_position(self, call_id: str) -> list[Decision]:
        """Tell a waiting caller its position again (it reconnected)."""
        sess = self._sessions.get(call_id)
        if sess is not None:
            sess.last_position = None
        return self._positions()

    def tick(self, now: float) -> list[Decision]:
        """Expire offers whose ring time ran out; retry sessions whose pass expired."""
        decisions: list[Decision] = []
        for sess in list(self._sessions.values()):
            if sess.offer_deadline is not None and now >= sess.offer_deadline:
                spec = self._specialists[sess.specialist_id]
                decisions += self._end_offer(spec, now, "timeout")
                decisions.append(StateChanged(spec.id, spec.state))
        return decisions + self._match(now)

    # -- internals -------------------------------------------------------

    def _require_specialist(self, specialist_id: int) -> _Specialist:
        spec = self._specialists.get(specialist_id)
        if spec is None:
            raise RoutingError("not_logged_in", "specialist is not connected")
        return spec

    def _answer(self, spec: _Specialist, sess: _Session, now: float) -> list[Decision]:
        sess.answered, sess.answered_at, sess.offer_deadline = True, now, None
        spec.state = "busy"
        return [Answered(sess.call_id, spec.id), StateChanged(spec.id, "busy", sess.call_id)]

    def _end_offer(self, spec: _Specialist, now: float, reason: str) -> list[Decision]:
        sess = self._sessions[spec.call_id]
        sess.specialist_id, sess.offer_deadline = None, None
        sess.passed[spec.id] = now
        spec.state, spec.call_id = "ready", None
        return [OfferEnded(sess.call_id, spec.id, reason)]

    @staticmethod
    def _qualified(spec: _Specialist, sess: _Session) -> bool:
        return sess.service_item in spec.skills or f"category:{sess.category}" in spec.skills

    def _match(self, now: float) -> list[Decision]:
        decisions: list[Decision] = []
        waiting = sorted(
            (s for s in self._sessions.values() if s.specialist_id is None), key=lambda s: s.sort_key
        )
        ready = [p for p in self._specialists.values() if p.state == "ready"]
        for sess in waiting:
            if not ready:
                break
            qualified = [p for p in ready if self._qualified(p, sess)]
            candidates = [p for p in qualified if now - sess.passed.get(p.id, -1e18) >= self.retry_s]
            if not candidates:
                continue
            spec = min(candidates, key=lambda p: (p.idle_since, p.id))  # longest idle first
            ready.remove(spec)
            sess.specialist_id = spec.id
            spec.state, spec.call_id = "ringing", sess.call_id
            decisions.append(Offer(sess.call_id, spec.id, self.offer_timeout_s))
            if spec.auto_answer:
                decisions += self._answer(spec, sess, now)
            else:
                sess.offer_deadline = now + self.offer_timeout_s
                decisions.append(StateChanged(spec.id, "ringing", sess.call_id))
        return decisions + self._positions()

    def _positions(self) -> list[Decision]:
        """Position and estimated wait of every unanswered session, when it changed."""
        decisions: list[Decision] = []
        by_item: dict[str, list[_Session]] = {}
        for sess in self._sessions.values():
            if not sess.answered:
                by_item.setdefault(sess.service_item, []).append(sess)
        for item, sessions in by_item.items():
            sessions.sort(key=lambda s: s.sort_key)
            staffed = sum(
                1
                for p in self._specialists.values()
                if p.state != "away" and self._qualified(p, sessions[0])
            )
            for index, sess in enumerate(sessions):
                position = index + 1
                wait = 0 if sess.specialist_id is not None else round(
                    position * self._avg_handle_s / max(1, staffed)
                )
                if sess.last_position != (position, wait):
                    sess.last_position = (position, wait)
                    decisions.append(Position(sess.call_id, position, wait))
        return decisions
