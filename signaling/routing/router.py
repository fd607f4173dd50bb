"""The router: an automatic call distributor as a pure state machine.

Events go in (a method call with `now`, a monotonic clock in seconds),
decisions come out (a list). The router keeps only what it needs to decide;
the store keeps the record. No I/O, no asyncio, no wall clock.

Queues are per service item. Each has settings (`QueueSettings`): a strategy,
a priority, ring and wrap-up times, maximum waits, an overflow queue and
escalation steps. Specialists have skills with a proficiency 1–5 on a service
item or on `category:NAME`.

Speed comes from indexes kept up to date on every state change, so that an
event touches only the queues and specialists it concerns:

- ready specialists by skill target (`_ready`), staffed ones by target (`_staffed`);
- waiting sessions per queue and per category, each a list sorted by
  (−priority, arrival) (`_by_queue`, `_by_category`);
- one heap of timers (ring timeouts, retry pauses, escalation steps, maximum
  waits, wrap-up ends), checked at the start of every event;
- queues whose positions may have changed (`_dirty`), re-announced at the end, and queues
  whose estimates are looked at again (`_stale`: every few seconds, and when the specialists
  who would take their calls change).
"""

from __future__ import annotations

import heapq
import itertools
import math
import zlib
from bisect import bisect_left, insort
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping

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
from .estimate import HandleTimes, least_left, waits_in_order, whole_seconds, worth_resending
from .invites import Candidate
from .settings import QueueSettings, parse_skills

# States a specialist chooses; the router sets ringing, busy and wrap_up itself.
CHOSEN_STATES = ("ready", "away", "offline")
STAFFED_STATES = frozenset(("ready", "ringing", "busy", "wrap_up"))
ALL_STATES = ("ready", "ringing", "busy", "wrap_up", "away", "offline")
CATEGORY = "category:"
# Waiting callers' estimates are looked at again this often, as time passes (docs/routing.md).
ESTIMATE_CHECK_S = 5.0
# What a waiting caller may do (S→C `call:queued` `options`); the engine adds `keep_place` and
# `book` (an appointment) when the center offers them.
WAITING_OPTIONS = ("wait", "leave")


class RoutingError(Exception):
    """An event that does not fit the current state (answered as 409 / ok:false)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class _Specialist:
    id: int
    skills: dict[str, int]  # target -> proficiency 1..5
    state: str = "away"
    auto_answer: bool = False
    idle_since: float = 0.0
    call_id: str | None = None  # ringing for, busy with, or wrapping up
    missed_in_row: int = 0
    busy_queue: str | None = None
    busy_since: float = 0.0
    present: bool = True  # False while the console is gone mid-call or in wrap-up (it may come back)
    free_by: float = 0.0  # when its wrap-up ends by itself
    invited: bool = False  # ringing for, or busy in, another specialist's call (issue 13), not its own


@dataclass
class _Stats:
    """Per specialist, kept across logins until `new_day()`."""

    calls: int = 0
    talk_s: float = 0.0


@dataclass
class _Session:
    call_id: str
    service_item: str  # what the caller asked for
    queue: str  # the queue it waits in (differs after an overflow)
    category: str
    priority: int
    seq: int
    enqueued_at: float
    queue_entered_at: float
    min_proficiency: int
    scope: str
    offers: dict[int, float] = field(default_factory=dict)  # specialist id -> ring deadline
    specialist_id: int | None = None  # answered by
    answered: bool = False
    answered_at: float = 0.0
    passed: dict[int, float] = field(default_factory=dict)  # specialist -> declined/timed out at
    visited: set[str] = field(default_factory=set)
    version: int = 0  # bumped when the session changes queue (stale timers are ignored)
    only_specialist: int | None = None  # a transfer to a named specialist: nobody else is offered it
    # What the caller was last told (see `_flush_positions`): the parts sent at once when they
    # change, the estimate and when it was sent, and when the wait ends by a queue limit.
    told: tuple | None = None
    told_wait: int | None = None
    told_at: float = 0.0
    told_ends: float | None = None
    caller_away: bool = False  # the caller dropped out: keeps its place, is offered to nobody
    # Keep my place: `held` (offered to nobody; alerted when its turn comes), then `alerted` until
    # `callback_until` (the caller comes back: routed at once; else it ends missed). None: waits.
    callback: str | None = None
    callback_until: float = 0.0

    @property
    def key(self) -> tuple[int, int, str]:
        return (-self.priority, self.seq, self.call_id)


class Router:
    def __init__(
        self,
        *,
        offer_timeout_s: float = 15.0,
        retry_s: float = 5.0,
        default_handle_s: float = 180.0,
        wrap_up_s: float = 120.0,
        rona_offers: int = 3,
        max_wait_s: float | None = None,
        max_wait_no_agent_s: float | None = None,
        queues: Iterable[QueueSettings] = (),
        callback_accept_s: float = 120.0,
        waiting_options: tuple[str, ...] = WAITING_OPTIONS,
    ):
        # Keep my place: how long an alerted caller has to come back (VW_CALLBACK_ACCEPT_S), and
        # what a waiting caller is offered meanwhile (S→C call:queued `options`).
        self.callback_accept_s = callback_accept_s
        self.waiting_options = waiting_options
        # A specialist who declined a session or let it time out is not offered
        # the same session again this soon; others qualified get it first.
        self.retry_s = retry_s
        # The defaults of a queue without settings of its own; a queue's maximum waits left
        # unset take these too (the center's defaults, VW_MAX_WAIT_S and VW_MAX_WAIT_NO_AGENT_S).
        self.defaults = QueueSettings(offer_timeout_s=offer_timeout_s, wrap_up_s=wrap_up_s, rona_offers=rona_offers,
                                      max_wait_s=max_wait_s, max_wait_no_agent_s=max_wait_no_agent_s)
        self._settings: dict[str, QueueSettings] = {}
        self._category_of: dict[str, str] = {}
        self._handle = HandleTimes(default_handle_s)
        self._specialists: dict[int, _Specialist] = {}
        self._stats: dict[int, _Stats] = {}
        self._sessions: dict[str, _Session] = {}
        self._seq = itertools.count()
        self._front_seq = itertools.count(-(1 << 62))  # re-queued at the front: before every arrival
        # indexes
        self._ready: dict[str, set[int]] = {}
        self._staffed: dict[str, set[int]] = {}
        self._by_queue: dict[str, list[tuple]] = {}
        self._by_category: dict[str, list[tuple]] = {}
        self._active_by_category: dict[str, set[str]] = {}
        self._unstaffed_since: dict[str, float] = {}
        self._state_counts = {s: 0 for s in ALL_STATES}
        self._rr_last: dict[str, int] = {}
        self._timers: list[tuple] = []
        self._timer_seq = itertools.count()
        self._dirty: set[str] = set()
        self._stale: set[str] = set()
        self._estimates_at: dict[str, float] = {}  # queue -> the next look at its estimates
        self._now = 0.0  # the latest event's clock
        self._pending: list[Decision] = []
        self.configure(queues)

    @property
    def offer_timeout_s(self) -> float:
        return self.defaults.offer_timeout_s

    # -- configuration -----------------------------------------------------

    def configure(
        self,
        queues: Iterable[QueueSettings],
        categories: Mapping[str, str] | None = None,
        now: float | None = None,
    ) -> list[Decision]:
        """Replace the configured queues (others use `defaults`) and learn item categories.

        Waiting sessions keep their escalation stage; new limits apply from now on."""
        # The rest default, cached on first use.
        self._settings = {q.service_item: q.with_default_limits(self.defaults) for q in queues}
        if now is not None:
            self._now = max(self._now, now)
            self._stale.update(self._by_queue)  # new limits
        if categories:
            self._category_of.update(categories)
        if now is None:
            return []
        decisions: list[Decision] = []
        for sess in list(self._sessions.values()):
            if not sess.answered:
                self._schedule_queue_timers(sess, now, fresh=False)
                decisions += self._match_session(sess, now)
        return self._finish(decisions, now)

    def settings_for(self, service_item: str) -> QueueSettings:
        q = self._settings.get(service_item)
        if q is None:
            q = self._settings[service_item] = replace(self.defaults, service_item=service_item)
        return q

    # -- queries -------------------------------------------------------------

    def specialist_state(self, specialist_id: int) -> str:
        spec = self._specialists.get(specialist_id)
        return spec.state if spec else "offline"

    def specialist_call(self, specialist_id: int) -> str | None:
        spec = self._specialists.get(specialist_id)
        return spec.call_id if spec else None

    def session_specialist(self, call_id: str) -> int | None:
        """Who answered the session, or (single offer) who it is offered to."""
        sess = self._sessions.get(call_id)
        if sess is None:
            return None
        if sess.specialist_id is not None:
            return sess.specialist_id
        return next(iter(sess.offers), None) if len(sess.offers) == 1 else None

    def session_queue(self, call_id: str) -> str | None:
        sess = self._sessions.get(call_id)
        return sess.queue if sess else None

    def callback_state(self, call_id: str) -> str | None:
        """`held` or `alerted` while the session's caller keeps its place, else None."""
        sess = self._sessions.get(call_id)
        return sess.callback if sess is not None else None

    def has_session(self, call_id: str) -> bool:
        return call_id in self._sessions

    def counts_by_state(self) -> dict[str, int]:
        return {s: self._state_counts[s] for s in ("ready", "ringing", "busy", "wrap_up", "away")}

    def has_skill(self, specialist_id: int, service_item: str, category: str) -> bool:
        """Whether a signed-in specialist holds the item's skill or its category's (any proficiency)."""
        spec = self._specialists.get(specialist_id)
        return spec is not None and (service_item in spec.skills or CATEGORY + category in spec.skills)

    def waiting_count(self) -> int:
        return sum(len(v) for v in self._by_queue.values())

    def queues(self, now: float) -> list[dict]:
        """Waiting sessions per queue with the longest wait."""
        out = []
        for item, keys in sorted(self._by_queue.items()):
            if keys:
                oldest = min(self._sessions[k[2]].enqueued_at for k in keys)
                out.append({"service_item": item, "waiting": len(keys), "longest_wait_s": round(now - oldest, 1)})
        return out

    def queue_live(self, service_item: str, now: float) -> dict:
        keys = self._by_queue.get(service_item, [])
        oldest = min((self._sessions[k[2]].enqueued_at for k in keys), default=None)
        return {
            "waiting": len(keys),
            "longest_wait_s": 0.0 if oldest is None else round(now - oldest, 1),
            "staffed": self._staffed_count(service_item),
            "ready": len(self._ready.get(service_item, ())) + len(self._ready.get(CATEGORY + self._category_of.get(service_item, ""), ())),
            "average_handle_s": round(self._handle.average(service_item, now), 1),
        }

    def next_deadline(self) -> float | None:
        return self._timers[0][0] if self._timers else None

    # -- specialists -----------------------------------------------------------

    def login(self, specialist_id: int, skills: Iterable[str] | Mapping[str, int], now: float) -> list[Decision]:
        """A specialist connected; they start `away` until they choose ready.

        `skills` are `CODE`, `CODE@N`, `category:NAME[@N]` strings or a mapping target → proficiency."""
        decisions = self._begin(now)
        levels = parse_skills(skills)
        spec = self._specialists.get(specialist_id)
        if spec is None:
            spec = _Specialist(id=specialist_id, skills=levels, idle_since=now)
            self._specialists[specialist_id] = spec
            self._stats.setdefault(specialist_id, _Stats())
            self._state_counts[spec.state] += 1
            decisions.append(StateChanged(specialist_id, spec.state))
            return self._finish(decisions, now)
        self._unindex(spec, now)
        spec.skills = levels
        spec.present = True
        self._index(spec, now)
        decisions.append(StateChanged(specialist_id, spec.state, spec.call_id))
        if spec.state == "ready":
            decisions += self._match_specialist(spec, now)
        return self._finish(decisions, now)

    def set_state(
        self, specialist_id: int, state: str, now: float, auto_answer: bool | None = None
    ) -> list[Decision]:
        self._pending = self._begin(now)  # kept for the next event if this one is refused
        spec = self._require_specialist(specialist_id)
        if state not in CHOSEN_STATES:
            raise RoutingError("invalid_state", f"state must be one of {', '.join(CHOSEN_STATES)}")
        if spec.state == "busy":
            raise RoutingError("busy", "finish the call before changing state")
        if spec.invited:  # the engine ends an invitation first (engine/invitations.py)
            raise RoutingError("invited", "answer or decline the invitation first")
        decisions, self._pending = self._pending, []
        if auto_answer is not None:
            spec.auto_answer = auto_answer
        passed_on: _Session | None = None
        if spec.state == "ringing":
            if state == "ready":
                decisions.append(StateChanged(spec.id, spec.state, spec.call_id))
                return self._finish(decisions, now)
            passed_on = self._sessions[spec.call_id]
            decisions += self._end_offer(spec, now, "declined")
        if spec.state != state:
            if state == "ready":
                spec.idle_since = now
                spec.missed_in_row = 0
            spec.call_id, spec.busy_queue = None, None
            self._set_state(spec, state, now)
        decisions.append(StateChanged(spec.id, spec.state))
        if passed_on is not None:
            decisions += self._match_session(passed_on, now)
        if spec.state == "ready":
            decisions += self._match_specialist(spec, now)
        return self._finish(decisions, now)

    def logout(self, specialist_id: int, now: float) -> list[Decision]:
        """The specialist disconnected. A call they were on must be ended first."""
        self._pending = self._begin(now)  # kept for the next event if this one is refused
        spec = self._specialists.get(specialist_id)
        if spec is not None and (spec.state == "busy" or spec.invited):
            raise RoutingError("busy", "end the call (or the invitation) before logging out")
        decisions, self._pending = self._pending, []
        if spec is None:
            return self._finish(decisions, now)
        passed_on: _Session | None = None
        if spec.state == "ringing":
            passed_on = self._sessions[spec.call_id]
            decisions += self._end_offer(spec, now, "specialist_left")
        spec.call_id = None
        self._set_state(spec, "offline", now)
        self._unindex(spec, now)
        self._state_counts["offline"] -= 1
        del self._specialists[specialist_id]
        decisions.append(StateChanged(specialist_id, "offline"))
        if passed_on is not None:
            decisions += self._match_session(passed_on, now)
        return self._finish(decisions, now)

    def specialist_gone(self, specialist_id: int, now: float) -> list[Decision]:
        """The console dropped while busy or in wrap-up: keep the state (it may come back),
        but when the call and wrap-up end, set it away rather than ready, so nothing is offered."""
        decisions = self._begin(now)
        spec = self._specialists.get(specialist_id)
        if spec is not None:
            spec.present = False
            for target in spec.skills:  # the callers it would have taken next are told
                self._stale.update(self._waiting_queues(target))
        return self._finish(decisions, now)

    def caller_gone(self, call_id: str, now: float) -> list[Decision]:
        """The caller of a waiting session dropped out: it keeps its place in the queue but is
        offered to nobody until `caller_back`; an open offer is withdrawn (not counted as RONA)."""
        decisions = self._begin(now)
        sess = self._sessions.get(call_id)
        if sess is None or sess.answered:
            return self._finish(decisions, now)
        sess.caller_away = True
        freed = self._withdraw_offers(sess, decisions, now, reason="caller_left")
        for spec in freed:
            decisions += self._match_specialist(spec, now)
        return self._finish(decisions, now)

    def caller_back(self, call_id: str, now: float) -> list[Decision]:
        decisions = self._begin(now)
        sess = self._sessions.get(call_id)
        if sess is not None and sess.caller_away:
            sess.caller_away = False
            decisions += self._match_session(sess, now)
        return self._finish(decisions, now)

    def keep_place(self, call_id: str, now: float) -> list[Decision]:
        """The caller keeps its place and may leave: the session stays in line, offered to nobody
        and free of the queue's maximum waits; when it is first in line for a free specialist,
        the caller is alerted (`CallbackDue`) and has `callback_accept_s` to come back."""
        self._pending = self._begin(now)
        sess = self._sessions.get(call_id)
        if sess is None or sess.answered:
            raise RoutingError("not_waiting", "this call is not waiting")
        if sess.offers:
            raise RoutingError("already_offered", "a specialist is being connected; please stay")
        decisions, self._pending = self._pending, []
        if sess.callback is None:
            sess.callback = "held"
            self._dirty.add(sess.queue)
            decisions += self._match_session(sess, now)
        return self._finish(decisions, now)

    def callback_accept(self, call_id: str, now: float) -> list[Decision]:
        """The caller who kept its place is back ("I'm here", or it opened its resume link): it
        waits as usual again, at its place, and is routed at once if a specialist is free."""
        self._pending = self._begin(now)
        sess = self._sessions.get(call_id)
        if sess is None or sess.answered or sess.callback is None:
            raise RoutingError("not_held", "this call is not keeping its place")
        decisions, self._pending = self._pending, []
        sess.callback, sess.caller_away = None, False
        sess.told = None
        self._dirty.add(sess.queue)
        decisions += self._match_session(sess, now)
        return self._finish(decisions, now)

    def accept(self, specialist_id: int, call_id: str, now: float) -> list[Decision]:
        self._pending = self._begin(now)  # kept for the next event if this one is refused
        spec = self._require_specialist(specialist_id)
        sess = self._sessions.get(call_id)
        if sess is None or spec.state != "ringing" or spec.call_id != call_id:
            raise RoutingError("not_offered", "this call is not offered to you")
        decisions, self._pending = self._pending, []
        return self._finish(decisions + self._answer(spec, sess, now), now)

    def decline(self, specialist_id: int, call_id: str, now: float) -> list[Decision]:
        self._pending = self._begin(now)
        spec = self._require_specialist(specialist_id)
        if spec.state != "ringing" or spec.call_id != call_id:
            raise RoutingError("not_offered", "this call is not offered to you")
        spec.missed_in_row = 0
        decisions, self._pending = self._pending, []
        decisions += self._end_offer(spec, now, "declined")
        decisions.append(StateChanged(spec.id, spec.state))
        sess = self._sessions[call_id]
        decisions += self._match_session(sess, now)
        decisions += self._match_specialist(spec, now)
        return self._finish(decisions, now)

    def wrap_up_done(self, specialist_id: int, now: float) -> list[Decision]:
        self._pending = self._begin(now)
        spec = self._require_specialist(specialist_id)
        if spec.state != "wrap_up":
            raise RoutingError("not_in_wrap_up", "there is no wrap-up to finish")
        decisions, self._pending = self._pending, []
        return self._finish(decisions + self._end_wrap_up(spec, now), now)

    def new_day(self) -> None:
        """Reset the per-day counters used by fewest_calls and least_talk_time."""
        for stats in self._stats.values():
            stats.calls, stats.talk_s = 0, 0.0

    # -- invited specialists (issue 13) -------------------------------------------

    def invite_candidates(self, service_item: str, category: str) -> list[Candidate]:
        """Ready specialists with the item's skill or its category's (routing/invites.py picks one)."""
        out = []
        for spec_id in self._ready.get(service_item, set()) | self._ready.get(CATEGORY + category, set()):
            spec = self._specialists[spec_id]
            level = max(spec.skills.get(service_item, 0), spec.skills.get(CATEGORY + category, 0))
            out.append(Candidate(spec_id, level, spec.idle_since))
        return out

    def reserve(self, specialist_id: int, call_id: str, now: float) -> list[Decision]:
        """A ready specialist is invited into `call_id` (answered by someone else): it rings for it and
        is offered nothing else. The invitation's timeout is the engine's (engine/invitations.py)."""
        self._pending = self._begin(now)
        spec = self._require_specialist(specialist_id)
        sess = self._sessions.get(call_id)
        if sess is None or not sess.answered:
            raise RoutingError("not_connected", "only a connected call takes invited specialists")
        if spec.state != "ready" or not spec.present:
            raise RoutingError("specialist_unavailable", "that specialist is not ready")
        decisions, self._pending = self._pending, []
        spec.call_id, spec.invited = call_id, True
        self._set_state(spec, "ringing", now)
        decisions.append(StateChanged(spec.id, "ringing", call_id))
        return self._finish(decisions, now)

    def join(self, specialist_id: int, call_id: str, now: float) -> list[Decision]:
        """The invited specialist accepted: busy in the call (its talk time counts from now)."""
        self._pending = self._begin(now)
        spec = self._require_specialist(specialist_id)
        if not spec.invited or spec.call_id != call_id or spec.state != "ringing":
            raise RoutingError("not_offered", "this call is not offered to you")
        decisions, self._pending = self._pending, []
        spec.busy_since = now
        self._set_state(spec, "busy", now)
        decisions.append(StateChanged(spec.id, "busy", call_id))
        return self._finish(decisions, now)

    def release(self, specialist_id: int, call_id: str, now: float) -> list[Decision]:
        """The invited specialist is out of the call (declined, timed out, cancelled, left, or the call
        ended): ready again at once (no wrap-up: the owner writes it), or away if its console is gone."""
        decisions = self._begin(now)
        spec = self._specialists.get(specialist_id)
        if spec is None or not spec.invited or spec.call_id != call_id:
            return self._finish(decisions, now)
        if spec.state == "busy":
            self._stats[spec.id].talk_s += max(0.0, now - spec.busy_since)
        spec.call_id, spec.invited, spec.idle_since = None, False, now
        state = "ready" if spec.present else "away"
        self._set_state(spec, state, now)
        decisions.append(StateChanged(spec.id, state))
        if state == "ready":
            decisions += self._match_specialist(spec, now)
        return self._finish(decisions, now)

    def hand_over(self, call_id: str, new_call_id: str, specialist_id: int, now: float) -> list[Decision]:
        """A warm transfer: the invited specialist, busy in `call_id`, now owns `new_call_id` (answered at
        once, same queue). `call_id` is ended next with `hangup` (its owner goes to wrap-up)."""
        self._pending = self._begin(now)
        spec = self._require_specialist(specialist_id)
        sess = self._sessions.get(call_id)
        if sess is None or not spec.invited or spec.call_id != call_id or spec.state != "busy":
            raise RoutingError("not_invited", "that specialist is not in this call")
        if new_call_id in self._sessions:
            raise RoutingError("duplicate_call", "this call already exists")
        decisions, self._pending = self._pending, []
        self._sessions[new_call_id] = _Session(
            call_id=new_call_id, service_item=sess.service_item, queue=sess.queue, category=sess.category,
            priority=sess.priority, seq=next(self._seq), enqueued_at=now, queue_entered_at=now,
            min_proficiency=sess.min_proficiency, scope=sess.scope, specialist_id=spec.id, answered=True,
            answered_at=now, visited=set(sess.visited),
        )
        self._stats[spec.id].talk_s += max(0.0, now - spec.busy_since)
        spec.call_id, spec.invited = new_call_id, False
        spec.busy_queue, spec.busy_since = sess.queue, now
        self._stats[spec.id].calls += 1
        decisions.append(StateChanged(spec.id, "busy", new_call_id))
        return self._finish(decisions, now)

    # -- sessions ----------------------------------------------------------------

    def request(
        self, call_id: str, service_item: str, category: str, now: float, priority: int | None = None,
        only_specialist: int | None = None, front: bool = False, prefer_specialist: int | None = None,
        prefer_s: float = 0.0,
    ) -> list[Decision]:
        """A session waits for `service_item`. `front`: it goes before every session waiting in its
        queue (a caller whose answered call ended because the specialist's console did not come
        back: it is given its place back, docs/routing.md; an appointment). `prefer_specialist`:
        only that specialist is offered it for `prefer_s`, then anyone qualified (an appointment
        with a booked specialist; ignored when that specialist is not signed in)."""
        self._pending = self._begin(now)  # kept for the next event if this one is refused
        if call_id in self._sessions:
            raise RoutingError("duplicate_call", "this call is already queued")
        decisions, self._pending = self._pending, []
        self._category_of.setdefault(service_item, category)
        # An item configured with a shared queue waits in that item's queue (one level only).
        queue = self.settings_for(service_item).shared_queue or service_item
        if queue != service_item:
            category = self._category_of.get(queue, category)
        q = self.settings_for(queue)
        if priority is None:
            priority = q.priority
        if front:
            ahead = self._by_queue.get(queue)
            priority = max(priority, -ahead[0][0]) if ahead else priority
        sess = _Session(
            call_id=call_id,
            service_item=service_item,
            queue=queue,
            category=category,
            priority=priority,
            seq=next(self._front_seq if front else self._seq),
            enqueued_at=now,
            queue_entered_at=now,
            min_proficiency=q.min_proficiency,
            scope=q.scope,
            visited={service_item, queue},
            only_specialist=only_specialist,
        )
        if prefer_specialist is not None and only_specialist is None and prefer_s > 0:
            spec = self._specialists.get(prefer_specialist)
            if spec is not None and spec.present:  # signed in (ready, busy, or away for a moment)
                sess.only_specialist = prefer_specialist
                self._push(now + prefer_s, "prefer_ends", call_id, prefer_specialist)
        self._sessions[call_id] = sess
        self._enqueue(sess, now)
        self._schedule_queue_timers(sess, now, fresh=True)
        decisions += self._match_session(sess, now)
        return self._finish(decisions, now)

    def hangup(self, call_id: str, now: float) -> list[Decision]:
        """The session ends (caller left, either side hung up, or the server ended it).

        Before answer this is an abandon; after answer the specialist goes to wrap-up."""
        decisions = self._begin(now)
        sess = self._sessions.pop(call_id, None)
        if sess is None:
            return self._finish(decisions, now)
        if sess.answered:
            spec = self._specialists.get(sess.specialist_id)
            if spec is not None and spec.call_id == call_id and spec.state == "busy":
                self._stats[spec.id].talk_s += max(0.0, now - sess.answered_at)
                self._set_state(spec, "wrap_up", now)
                decisions.append(StateChanged(spec.id, "wrap_up", call_id))
                wrap = self.settings_for(sess.queue).wrap_up_s
                spec.free_by = now + wrap
                self._push(now + wrap, "wrap_up", spec.id, call_id)
            return self._finish(decisions, now)
        self._dequeue(sess)
        freed = self._withdraw_offers(sess, decisions, now)
        for spec in freed:
            decisions += self._match_specialist(spec, now)
        return self._finish(decisions, now)

    def refresh_position(self, call_id: str, now: float | None = None) -> list[Decision]:
        """Tell a waiting caller its position again (it reconnected)."""
        if now is not None:
            self._now = max(self._now, now)
        sess = self._sessions.get(call_id)
        if sess is not None and not sess.answered:
            sess.told = None
            self._dirty.add(sess.queue)
        return self._flush_positions()

    def tick(self, now: float) -> list[Decision]:
        """Run what is due: ring timeouts, retries, escalation steps, maximum waits, wrap-up ends."""
        return self._finish(self._begin(now), now)

    # -- internals: timers -----------------------------------------------------------

    def _push(self, at: float, kind: str, a, b=None, c=None) -> None:
        heapq.heappush(self._timers, (at, next(self._timer_seq), kind, a, b, c))

    def _begin(self, now: float) -> list[Decision]:
        """Decisions left over from a refused event, then every timer that is due."""
        decisions, self._pending = self._pending, []
        self._now = max(self._now, now)
        timers = self._timers
        while timers and timers[0][0] <= now:
            at, _, kind, a, b, c = heapq.heappop(timers)
            decisions += getattr(self, "_fire_" + kind)(now, a, b, c)
        return decisions

    def _finish(self, decisions: list[Decision], now: float) -> list[Decision]:
        if self._dirty or self._stale:
            decisions += self._flush_positions()
        return decisions

    def _fire_offer(self, now: float, call_id: str, spec_id: int, deadline: float) -> list[Decision]:
        sess = self._sessions.get(call_id)
        spec = self._specialists.get(spec_id)
        if sess is None or spec is None or sess.offers.get(spec_id) != deadline or spec.call_id != call_id:
            return []
        decisions = self._end_offer(spec, now, "timeout")
        spec.missed_in_row += 1
        limit = self.settings_for(sess.queue).rona_offers
        if limit and spec.missed_in_row >= limit:
            missed, spec.missed_in_row = spec.missed_in_row, 0
            self._set_state(spec, "away", now)
            decisions.append(StateChanged(spec.id, "away", None, "rona"))
            decisions.append(Rona(spec.id, call_id, missed))
        else:
            decisions.append(StateChanged(spec.id, spec.state))
        decisions += self._match_session(sess, now)
        if spec.state == "ready":
            decisions += self._match_specialist(spec, now)
        return decisions

    def _fire_estimates(self, now: float, queue: str, _b, _c) -> list[Decision]:
        """Time passes: look at the queue's estimates again (each sent only if it changed enough)."""
        del self._estimates_at[queue]
        if self._by_queue.get(queue):
            self._stale.add(queue)
            self._schedule_estimates(queue, now)
        return []

    def _schedule_estimates(self, queue: str, now: float) -> None:
        """The queue's next look, on a 5 s grid of its own phase: queues are looked at in turn,
        not all in the same tick."""
        if queue not in self._estimates_at:
            phase = zlib.crc32(queue.encode()) % 1000 / 1000 * ESTIMATE_CHECK_S
            at = phase + (math.floor((now - phase) / ESTIMATE_CHECK_S) + 1) * ESTIMATE_CHECK_S
            self._estimates_at[queue] = at
            self._push(at, "estimates", queue)

    def _fire_prefer_ends(self, now: float, call_id: str, spec_id: int, _c) -> list[Decision]:
        """The booked specialist did not take the appointment in time: anyone qualified may."""
        sess = self._sessions.get(call_id)
        if sess is None or sess.answered or sess.only_specialist != spec_id:
            return []
        sess.only_specialist = None
        self._dirty.add(sess.queue)
        return self._match_session(sess, now)

    def _fire_callback(self, now: float, call_id: str, until: float, _c) -> list[Decision]:
        """An alerted caller did not come back in time: the place passes on."""
        sess = self._sessions.get(call_id)
        if sess is None or sess.answered or sess.callback != "alerted" or sess.callback_until != until:
            return []
        return self._miss(sess, now, "callback_not_taken")

    def _alert(self, sess: _Session, now: float) -> list[Decision]:
        sess.callback, sess.callback_until = "alerted", now + self.callback_accept_s
        self._push(sess.callback_until, "callback", sess.call_id, sess.callback_until)
        self._dirty.add(sess.queue)
        return [CallbackDue(sess.call_id, self.callback_accept_s)]

    def _fire_retry(self, now: float, call_id: str, _b, _c) -> list[Decision]:
        sess = self._sessions.get(call_id)
        if sess is None or sess.answered:
            return []
        return self._match_session(sess, now)

    def _fire_escalate(self, now: float, call_id: str, version: int, index: int) -> list[Decision]:
        sess = self._sessions.get(call_id)
        if sess is None or sess.answered or sess.version != version:
            return []
        q = self.settings_for(sess.queue)
        if index >= len(q.escalation):
            return []
        step = q.escalation[index]
        decisions: list[Decision] = []
        if step.min_proficiency is not None:
            sess.min_proficiency = min(sess.min_proficiency, step.min_proficiency)
        if step.scope == "category":
            sess.scope = "category"
        if step.priority is not None and step.priority > sess.priority:
            self._dequeue(sess)
            sess.priority = step.priority
            self._enqueue(sess, now)
        decisions.append(Escalated(call_id, sess.queue, index + 1, sess.min_proficiency, sess.scope, sess.priority))
        if step.overflow_to:
            return decisions + self._overflow(sess, step.overflow_to, now, "escalation")
        return decisions + self._match_session(sess, now)

    def _fire_max_wait(self, now: float, call_id: str, version: int, _c) -> list[Decision]:
        sess = self._sessions.get(call_id)
        if sess is None or sess.answered or sess.version != version or sess.callback:
            return []
        q = self.settings_for(sess.queue)
        if q.max_wait_s is None:
            return []
        due = sess.queue_entered_at + q.max_wait_s
        if due > now:  # the limit was raised meanwhile
            self._push(due, "max_wait", call_id, version)
            return []
        return self._give_up(sess, q, now, "max_wait")

    def _fire_no_agent(self, now: float, call_id: str, version: int, _c) -> list[Decision]:
        sess = self._sessions.get(call_id)
        if sess is None or sess.answered or sess.version != version or sess.callback:
            return []
        q = self.settings_for(sess.queue)
        if q.max_wait_no_agent_s is None or self._staffed_count(sess.queue):
            return []
        since = max(sess.queue_entered_at, self._unstaffed_since.get(sess.queue, now))
        due = since + q.max_wait_no_agent_s
        if due > now:
            self._push(due, "no_agent", call_id, version)
            return []
        return self._give_up(sess, q, now, "no_specialist")

    def _fire_wrap_up(self, now: float, spec_id: int, call_id: str, _c) -> list[Decision]:
        spec = self._specialists.get(spec_id)
        if spec is None or spec.state != "wrap_up" or spec.call_id != call_id:
            return []
        return [WrapUpEnded(spec_id, call_id)] + self._end_wrap_up(spec, now, reason="wrap_up_expired")

    def _schedule_queue_timers(self, sess: _Session, now: float, *, fresh: bool) -> None:
        q = self.settings_for(sess.queue)
        if fresh:
            for i, step in enumerate(q.escalation):
                self._push(sess.queue_entered_at + step.after_s, "escalate", sess.call_id, sess.version, i)
        if q.max_wait_s is not None:
            self._push(max(now, sess.queue_entered_at + q.max_wait_s), "max_wait", sess.call_id, sess.version)
        if q.max_wait_no_agent_s is not None and not self._staffed_count(sess.queue):
            self._unstaffed_since.setdefault(sess.queue, now)
            since = max(sess.queue_entered_at, self._unstaffed_since[sess.queue])
            self._push(max(now, since + q.max_wait_no_agent_s), "no_agent", sess.call_id, sess.version)

    # -- internals: matching ---------------------------------------------------------

    def _proficiency(self, spec: _Specialist, sess: _Session) -> int:
        if sess.only_specialist is not None and spec.id != sess.only_specialist:
            return -1  # below any min_proficiency: a named transfer waits for its specialist
        level = spec.skills.get(sess.queue, 0)
        if sess.scope == "category":
            level = max(level, spec.skills.get(CATEGORY + sess.category, 0))
        return level

    def _eligible(self, spec: _Specialist, sess: _Session, now: float) -> bool:
        """May `spec` be offered `sess` now (skills, proficiency, retry pause)?"""
        if self._proficiency(spec, sess) < sess.min_proficiency:
            return False
        passed = sess.passed.get(spec.id)
        return passed is None or now >= passed + self.retry_s

    def _qualified(self, spec: _Specialist, sess: _Session) -> bool:
        return self._proficiency(spec, sess) >= sess.min_proficiency

    def _candidates(self, sess: _Session, now: float) -> list[_Specialist]:
        ids = self._ready.get(sess.queue, set())
        if sess.scope == "category":
            more = self._ready.get(CATEGORY + sess.category)
            if more:
                ids = ids | more
        out = []
        for spec_id in ids:
            if spec_id in sess.offers:
                continue
            spec = self._specialists[spec_id]
            if self._eligible(spec, sess, now):
                out.append(spec)
        return out

    def _match_session(self, sess: _Session, now: float) -> list[Decision]:
        """Offer a waiting session to the ready specialist its queue's strategy picks."""
        if sess.answered or sess.call_id not in self._sessions or sess.callback == "alerted":
            return []
        if sess.callback == "held":  # its turn with a specialist free: the caller is alerted
            return self._alert(sess, now) if self._candidates(sess, now) else []
        if sess.caller_away:
            return []
        q = self.settings_for(sess.queue)
        if sess.offers and q.strategy != "ring_all":
            return []
        candidates = self._candidates(sess, now)
        self._schedule_retry(sess, now)
        if not candidates:
            return []
        if q.strategy == "ring_all":
            candidates.sort(key=lambda p: (not p.auto_answer, p.idle_since, p.id))
            decisions: list[Decision] = []
            for spec in candidates:
                decisions += self._offer(sess, spec, now, q)
                if sess.answered:
                    break
            return decisions
        return self._offer(sess, min(candidates, key=self._strategy_key(q)), now, q)

    def _schedule_retry(self, sess: _Session, now: float) -> None:
        """Look at the session again when the retry pause of a ready specialist who passed on it ends."""
        for spec_id, at in sess.passed.items():
            if now < at + self.retry_s:
                spec = self._specialists.get(spec_id)
                if spec is not None and spec.state == "ready":
                    self._push(at + self.retry_s, "retry", sess.call_id)

    def _strategy_key(self, q: QueueSettings):
        stats = self._stats
        if q.strategy == "fewest_calls":
            return lambda p: (stats[p.id].calls, p.idle_since, p.id)
        if q.strategy == "least_talk_time":
            return lambda p: (stats[p.id].talk_s, p.idle_since, p.id)
        if q.strategy == "round_robin":
            last = self._rr_last.get(q.service_item, -math.inf)
            return lambda p: (p.id <= last, p.id)
        return lambda p: (p.idle_since, p.id)  # longest_idle

    def _match_specialist(self, spec: _Specialist, now: float) -> list[Decision]:
        """Give a ready specialist the best waiting session it may take (priority, then arrival)."""
        if spec.state != "ready":
            return []
        best: _Session | None = None
        alerts: list[Decision] = []
        sessions = self._sessions
        for target in spec.skills:
            keys = self._by_category.get(target[len(CATEGORY):]) if target.startswith(CATEGORY) else self._by_queue.get(target)
            if not keys:
                continue
            for key in keys:
                if best is not None and key >= best.key:
                    break
                sess = sessions[key[2]]
                if sess.callback == "alerted" or (sess.caller_away and sess.callback is None):
                    continue
                if sess.offers and (spec.id in sess.offers or self.settings_for(sess.queue).strategy != "ring_all"):
                    continue
                if self._proficiency(spec, sess) < sess.min_proficiency:
                    continue
                passed = sess.passed.get(spec.id)
                if passed is not None and now < passed + self.retry_s:
                    self._push(passed + self.retry_s, "retry", sess.call_id)
                    continue
                if sess.callback == "held":  # its turn: alerted; this specialist looks further
                    alerts += self._alert(sess, now)
                    continue
                best = sess
                break
        if best is None:
            return alerts
        return alerts + self._offer(best, spec, now, self.settings_for(best.queue))

    def _offer(self, sess: _Session, spec: _Specialist, now: float, q: QueueSettings) -> list[Decision]:
        deadline = now + q.offer_timeout_s
        sess.offers[spec.id] = deadline
        spec.call_id = sess.call_id
        self._set_state(spec, "ringing", now)
        self._rr_last[q.service_item] = spec.id
        self._dirty.add(sess.queue)
        decisions: list[Decision] = [Offer(sess.call_id, spec.id, q.offer_timeout_s)]
        if spec.auto_answer:
            return decisions + self._answer(spec, sess, now)
        self._push(deadline, "offer", sess.call_id, spec.id, deadline)
        decisions.append(StateChanged(spec.id, "ringing", sess.call_id))
        return decisions

    def _answer(self, spec: _Specialist, sess: _Session, now: float) -> list[Decision]:
        del sess.offers[spec.id]
        decisions: list[Decision] = []
        freed = self._withdraw_offers(sess, decisions, now)
        self._dequeue(sess)
        sess.answered, sess.answered_at, sess.specialist_id = True, now, spec.id
        spec.missed_in_row = 0
        spec.busy_queue, spec.busy_since = sess.queue, now
        self._stats[spec.id].calls += 1
        self._set_state(spec, "busy", now)
        decisions += [Answered(sess.call_id, spec.id), StateChanged(spec.id, "busy", sess.call_id)]
        for other in freed:
            decisions += self._match_specialist(other, now)
        return decisions

    def _withdraw_offers(
        self, sess: _Session, decisions: list[Decision], now: float, reason: str = "withdrawn"
    ) -> list[_Specialist]:
        """End every open offer of `sess` at once; the specialists are ready again."""
        freed = []
        for spec_id in list(sess.offers):
            del sess.offers[spec_id]
            spec = self._specialists.get(spec_id)
            if spec is None or spec.call_id != sess.call_id:
                continue
            spec.call_id = None
            self._set_state(spec, "ready", now)
            decisions.append(OfferEnded(sess.call_id, spec_id, reason))
            decisions.append(StateChanged(spec_id, "ready"))
            freed.append(spec)
        return freed

    def _end_offer(self, spec: _Specialist, now: float, reason: str) -> list[Decision]:
        sess = self._sessions[spec.call_id]
        sess.offers.pop(spec.id, None)
        sess.passed[spec.id] = now
        spec.call_id = None
        self._set_state(spec, "ready", now)
        self._dirty.add(sess.queue)
        return [OfferEnded(sess.call_id, spec.id, reason)]

    def _end_wrap_up(self, spec: _Specialist, now: float, reason: str | None = None) -> list[Decision]:
        if spec.busy_queue is not None:
            queue = spec.busy_queue
            self._handle.add(queue, now - spec.busy_since, now)
            if self._by_queue.get(queue):
                self._stale.add(queue)  # a new average handle time
            spec.busy_queue = None
        spec.call_id, spec.idle_since = None, now
        if not spec.present:  # its console is gone: nothing may be offered to it
            self._set_state(spec, "away", now)
            return [StateChanged(spec.id, "away", None, reason)]
        self._set_state(spec, "ready", now)
        return [StateChanged(spec.id, "ready", None, reason)] + self._match_specialist(spec, now)

    def _give_up(self, sess: _Session, q: QueueSettings, now: float, reason: str) -> list[Decision]:
        if q.overflow_to:
            return self._overflow(sess, q.overflow_to, now, reason)
        return self._miss(sess, now, reason)

    def _miss(self, sess: _Session, now: float, reason: str) -> list[Decision]:
        decisions: list[Decision] = []
        self._dequeue(sess)
        del self._sessions[sess.call_id]
        freed = self._withdraw_offers(sess, decisions, now)
        decisions.append(Missed(sess.call_id, reason))
        for spec in freed:
            decisions += self._match_specialist(spec, now)
        return decisions

    def _overflow(self, sess: _Session, target: str, now: float, reason: str) -> list[Decision]:
        category = self._category_of.get(target)
        if target in sess.visited or category is None:
            return self._miss(sess, now, reason)  # no loops, and nowhere unknown
        decisions: list[Decision] = []
        self._dequeue(sess)
        freed = self._withdraw_offers(sess, decisions, now)
        q = self.settings_for(target)
        source = sess.queue
        sess.queue, sess.category = target, category
        sess.priority = max(sess.priority, q.priority)
        sess.min_proficiency, sess.scope = q.min_proficiency, q.scope
        sess.queue_entered_at = now
        sess.version += 1
        sess.visited.add(target)
        sess.passed.clear()
        sess.told = None
        self._enqueue(sess, now)
        self._schedule_queue_timers(sess, now, fresh=True)
        decisions.append(Overflowed(sess.call_id, source, target, reason))
        decisions += self._match_session(sess, now)
        for spec in freed:
            decisions += self._match_specialist(spec, now)
        return decisions

    # -- internals: indexes -------------------------------------------------------------

    def _enqueue(self, sess: _Session, now: float) -> None:
        key = sess.key
        keys = self._by_queue.get(sess.queue)
        if not keys:
            keys = self._by_queue[sess.queue] = []
            # Staffing is tracked for queues with waiting sessions only: start afresh.
            self._unstaffed_since.pop(sess.queue, None)
            self._category_of.setdefault(sess.queue, sess.category)
            if not self._staffed_count(sess.queue):
                self._unstaffed_since[sess.queue] = now
        insort(keys, key)
        self._schedule_estimates(sess.queue, now)
        insort(self._by_category.setdefault(sess.category, []), key)
        self._active_by_category.setdefault(sess.category, set()).add(sess.queue)
        self._dirty.add(sess.queue)

    def _dequeue(self, sess: _Session) -> None:
        key = sess.key
        keys = self._by_queue.get(sess.queue)
        if not keys:
            return
        i = bisect_left(keys, key)
        if i == len(keys) or keys[i] != key:
            return
        del keys[i]
        cat = self._by_category[sess.category]
        del cat[bisect_left(cat, key)]
        if not keys:
            del self._by_queue[sess.queue]
            self._unstaffed_since.pop(sess.queue, None)
            active = self._active_by_category.get(sess.category)
            if active is not None:
                active.discard(sess.queue)
        else:
            self._dirty.add(sess.queue)
        if not cat:
            del self._by_category[sess.category]

    def _set_state(self, spec: _Specialist, state: str, now: float) -> None:
        old = spec.state
        if old == state:
            return
        self._state_counts[old] -= 1
        self._state_counts[state] += 1
        spec.state = state
        if (old == "ready") != (state == "ready"):
            for target in spec.skills:
                if state == "ready":
                    self._ready.setdefault(target, set()).add(spec.id)
                else:
                    self._ready[target].discard(spec.id)
        was, now_staffed = old in STAFFED_STATES, state in STAFFED_STATES
        if was != now_staffed:
            for target in spec.skills:
                self._staffing(spec.id, target, now_staffed, now)

    def _index(self, spec: _Specialist, now: float) -> None:
        for target in spec.skills:
            if spec.state == "ready":
                self._ready.setdefault(target, set()).add(spec.id)
            if spec.state in STAFFED_STATES:
                self._staffing(spec.id, target, True, now)

    def _unindex(self, spec: _Specialist, now: float) -> None:
        for target in spec.skills:
            self._ready.get(target, set()).discard(spec.id)
            if spec.state in STAFFED_STATES:
                self._staffing(spec.id, target, False, now)

    def _staffing(self, spec_id: int, target: str, on: bool, now: float) -> None:
        members = self._staffed.setdefault(target, set())
        if on:
            members.add(spec_id)
        else:
            members.discard(spec_id)
        for item in self._waiting_queues(target):
            self._dirty.add(item)
            if on:
                self._unstaffed_since.pop(item, None)
            elif not self._staffed_count(item) and item not in self._unstaffed_since:
                self._unstaffed_since[item] = now
                if self.settings_for(item).max_wait_no_agent_s is not None:
                    limit = self.settings_for(item).max_wait_no_agent_s
                    for key in self._by_queue.get(item, ()):
                        sess = self._sessions[key[2]]
                        self._push(max(now, sess.queue_entered_at) + limit, "no_agent", sess.call_id, sess.version)

    def _waiting_queues(self, target: str) -> Iterable[str]:
        """The queues with waiting sessions that a skill target (item or category) serves."""
        if target.startswith(CATEGORY):
            return self._active_by_category.get(target[len(CATEGORY):], ())
        return (target,) if self._by_queue.get(target) else ()

    def _staffed_ids(self, item: str) -> set[int]:
        a = self._staffed.get(item, set())
        b = self._staffed.get(CATEGORY + self._category_of.get(item, ""))
        return a | b if b else a

    def _staffed_count(self, item: str) -> int:
        a = self._staffed.get(item)
        b = self._staffed.get(CATEGORY + self._category_of.get(item, ""))
        if not b:
            return len(a) if a else 0
        if not a:
            return len(b)
        return len(a | b)

    def _require_specialist(self, specialist_id: int) -> _Specialist:
        spec = self._specialists.get(specialist_id)
        if spec is None:
            raise RoutingError("not_logged_in", "specialist is not connected")
        return spec

    # -- internals: positions -------------------------------------------------------------

    def _flush_positions(self) -> list[Decision]:
        """Where each waiting session of a queue that changed stands, told to its caller when that
        changed: its position, the staffing, an offer or a queue limit at once; the estimate alone,
        looked at when the queue is stale, when it moved enough from what the caller's page shows
        by now (`worth_resending`)."""
        decisions: list[Decision] = []
        dirty, self._dirty = self._dirty, set()
        stale, self._stale = self._stale, set()
        now = self._now
        for item in dirty | stale:
            keys = self._by_queue.get(item)
            if not keys:
                continue
            full = item in stale
            queue = [self._sessions[key[2]] for key in keys]
            staffed = self._staffed_count(item)
            max_wait, no_agent = self._limits(item, staffed, now)
            waits: dict[str, int | None] | None = None
            for position, sess in enumerate(queue, start=1):
                if sess.caller_away:
                    continue  # offered to nobody and told nothing until it resumes (then afresh)
                # When a queue limit ends the wait, and why.
                ends_at, reason = None, None
                if sess.callback:
                    pass  # keeping its place: no queue limit ends it
                elif max_wait is not None:
                    ends_at, reason = sess.queue_entered_at + max_wait, "max_wait"
                if no_agent is not None and not sess.callback:
                    at = max(sess.queue_entered_at, no_agent[0]) + no_agent[1]
                    if ends_at is None or at < ends_at:
                        ends_at, reason = at, "no_specialist"
                # What is sent at once when it changes; the rest (the estimate, how many are
                # staffed) when the queue is looked at again.
                told = (position, staffed == 0, bool(sess.offers), reason, sess.callback)
                changed = sess.told != told or (ends_at is not None and abs(ends_at - (sess.told_ends or ends_at)) > 2)
                if not changed and not full:
                    continue
                if sess.offers:  # it rings: at most this long until answered (or back in line)
                    wait = max(1, whole_seconds(max(sess.offers.values()) - now))
                else:
                    if waits is None:
                        waits = self._estimates(item, queue, now)
                    wait = waits.get(sess.call_id)  # None while alerted: its turn is now
                if not changed and not worth_resending(sess.told_wait, sess.told_at, wait, now):
                    continue
                sess.told, sess.told_wait, sess.told_at, sess.told_ends = told, wait, now, ends_at
                decisions.append(Position(
                    sess.call_id, position, wait, staffed=staffed, offered=bool(sess.offers),
                    ends_in_s=None if ends_at is None else whole_seconds(max(0.0, ends_at - now)),
                    ends_reason=reason, options=self.waiting_options, callback=sess.callback,
                ))
        return decisions

    def _limits(self, item: str, staffed: int, now: float) -> tuple[float | None, tuple[float, float] | None]:
        """The queue's limits that end a wait (none when it overflows instead): its maximum wait,
        and, while nobody is staffed, (since when, how long) for the maximum wait with nobody."""
        q = self.settings_for(item)
        if q.overflow_to or any(step.overflow_to for step in q.escalation):
            return None, None
        no_agent = None
        if not staffed and q.max_wait_no_agent_s is not None:
            no_agent = (self._unstaffed_since.get(item, now), q.max_wait_no_agent_s)
        return q.max_wait_s, no_agent

    def _estimates(self, item: str, queue: list[_Session], now: float) -> dict[str, int | None]:
        """Each waiting (not offered) session's estimated wait (the model: estimate.py, docs/routing.md).

        The specialists staffed with the queue's skill, present and qualified for the first
        session in line, each free at once (ready), after its retry pause (ready, but it passed
        on these sessions a moment ago), after what is left of its call (busy, wrap-up:
        `left_of_call`, inlined as this runs at every change), or after its offer and a whole
        call (ringing); the waiting sessions take them in order."""
        aht = self._handle.average(item, now)
        least = least_left(aht)
        out: dict[str, int | None] = {}
        waiting = [sess for sess in queue if not sess.offers and not sess.caller_away and sess.callback != "alerted"]
        if not waiting:
            return out
        # Who may take the first session in line (`_proficiency`, inlined): with the lowest
        # proficiency needed, every specialist staffed with the skill its scope counts.
        head = waiting[0]
        need, only, code = head.min_proficiency, head.only_specialist, head.queue
        category = CATEGORY + head.category if head.scope == "category" else None
        check = need > 1 or only is not None
        if category is None:
            ids: Iterable[int] = self._staffed.get(code, ())
        else:
            ids = self._staffed_ids(item)
        free_in: list[float] = []
        ringing_ahead: set[str] = set()  # ring-all: one of its ringing specialists takes it
        specialists, sessions = self._specialists, self._sessions
        for spec_id in ids:
            spec = specialists[spec_id]
            if not spec.present:
                continue  # its console is gone: it takes no next call
            if check:
                if only is not None and spec_id != only:
                    continue  # a transfer to a named specialist
                skills = spec.skills
                level = skills.get(code, 0)
                if category is not None and skills.get(category, 0) > level:
                    level = skills[category]
                if level < need:
                    continue
            state = spec.state
            if state == "ready":
                free_in.append(self._pause_left(spec, waiting, now))
                continue
            if state == "ringing":
                offered = sessions.get(spec.call_id or "")
                if offered is None:
                    left = aht
                else:
                    left = max(0.0, offered.offers.get(spec_id, now) - now)
                    if offered.call_id not in ringing_ahead:
                        ringing_ahead.add(offered.call_id)
                        left += aht
            else:  # busy or wrap-up: what is left of its call; wrap-up ends by itself at free_by
                left = aht - (now - spec.busy_since)
                if left < least:
                    left = least
                if state == "wrap_up" and spec.free_by - now < left:
                    left = spec.free_by - now
            free_in.append(left if left > 1.0 else 1.0)  # not ready: never "now"
        waits = waits_in_order(free_in, len(waiting), aht)
        for i, sess in enumerate(waiting):
            out[sess.call_id] = None if waits is None else whole_seconds(waits[i])
        return out

    def _pause_left(self, spec: _Specialist, waiting: list[_Session], now: float) -> float:
        """How soon a ready specialist may be offered one of these sessions (0: now)."""
        left = math.inf
        for sess in waiting:
            passed = sess.passed.get(spec.id)
            left = min(left, 0.0 if passed is None else max(0.0, passed + self.retry_s - now))
            if left == 0.0:
                break
        return left
