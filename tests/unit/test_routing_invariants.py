"""The router's invariants under random sequences of events (hypothesis).

Each example draws queue settings (strategy, priority, proficiency, scope,
escalation, maximum waits, overflow, RONA) and a sequence of events —
requests, ready/away/offline, accept, decline, timeouts (ticks), hang-ups from
either side, wrap-up, disconnects and reconnects at any step — and checks
after every event:

- a specialist never holds two offers or two sessions, and the session agrees;
- a session is never answered by (bridged to) two specialists;
- every session ends in exactly one terminal outcome, and nothing is decided
  about it afterwards;
- no qualified ready specialist stays idle while a session it may take waits;
- FIFO within priority: an offer goes to the best waiting session the
  specialist may take (higher priority first, then earlier arrival);
- nothing is lost: every session not ended is either waiting in its queue's
  index or answered by a connected specialist.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings, strategies as st

from signaling.routing import (
    Answered,
    EscalationStep,
    Missed,
    Offer,
    OfferEnded,
    Position,
    QueueSettings,
    Router,
    RoutingError,
    StateChanged,
    WrapUpEnded,
)
from signaling.routing.settings import STRATEGIES

EXAMPLES = int(os.environ.get("VW_HYPOTHESIS_EXAMPLES", "300"))

ITEMS = {"A": "x", "B": "x", "C": "y"}
SPECS = [1, 2, 3, 4]
CALLS = [f"c{i}" for i in range(8)]

skills_st = st.dictionaries(
    st.sampled_from(["A", "B", "C", "category:x", "category:y"]), st.integers(1, 5), min_size=1, max_size=3
)

step_st = st.builds(
    EscalationStep,
    after_s=st.sampled_from([3.0, 8.0, 15.0]),
    min_proficiency=st.none() | st.integers(1, 3),
    scope=st.none() | st.just("category"),
    priority=st.none() | st.integers(0, 3),
    overflow_to=st.none() | st.sampled_from(list(ITEMS)),
)


@st.composite
def queue_st(draw, item):
    steps = sorted(draw(st.lists(step_st, max_size=2)), key=lambda s: s.after_s)
    steps = [s for i, s in enumerate(steps) if i == 0 or s.after_s > steps[i - 1].after_s]
    steps = [s for s in steps if s.overflow_to != item]
    overflow = draw(st.none() | st.sampled_from([i for i in ITEMS if i != item]))
    return QueueSettings(
        service_item=item,
        strategy=draw(st.sampled_from(STRATEGIES)),
        priority=draw(st.integers(0, 3)),
        offer_timeout_s=draw(st.sampled_from([2.0, 5.0, 10.0])),
        wrap_up_s=draw(st.sampled_from([0.0, 3.0, 30.0])),
        max_wait_s=draw(st.none() | st.sampled_from([10.0, 25.0])),
        max_wait_no_agent_s=draw(st.none() | st.sampled_from([4.0, 12.0])),
        overflow_to=overflow,
        min_proficiency=draw(st.integers(1, 4)),
        scope=draw(st.sampled_from(["item", "category"])),
        rona_offers=draw(st.integers(0, 3)),
        escalation=tuple(steps),
    )


event_st = st.one_of(
    st.tuples(st.just("request"), st.sampled_from(CALLS), st.sampled_from(list(ITEMS))),
    st.tuples(st.just("state"), st.sampled_from(SPECS), st.sampled_from(["ready", "ready", "away", "offline"])),
    st.tuples(st.just("accept"), st.sampled_from(SPECS), st.none()),
    st.tuples(st.just("accept_any"), st.sampled_from(SPECS), st.sampled_from(CALLS)),
    st.tuples(st.just("decline"), st.sampled_from(SPECS), st.none()),
    st.tuples(st.just("caller_hangup"), st.sampled_from(CALLS), st.none()),
    st.tuples(st.just("specialist_hangup"), st.sampled_from(SPECS), st.none()),
    st.tuples(st.just("wrapup"), st.sampled_from(SPECS), st.none()),
    st.tuples(st.just("disconnect"), st.sampled_from(SPECS), st.none()),
    st.tuples(st.just("login"), st.sampled_from(SPECS), st.none()),
    st.tuples(st.just("auto_answer"), st.sampled_from(SPECS), st.booleans()),
    st.tuples(st.just("tick"), st.sampled_from([0.5, 1.0, 2.0, 4.0, 11.0]), st.none()),
)


class Model:
    """What the center would see: decisions applied, outcomes recorded once."""

    def __init__(self, router: Router):
        self.r = router
        self.outcome: dict[str, str] = {}
        self.answered_by: dict[str, int] = {}
        self.requested: set[str] = set()

    def apply(self, decisions, before_waiting):
        ended_now = set()
        for d in decisions:
            call = getattr(d, "call_id", None)
            if call is not None and call in self.outcome and not isinstance(d, (OfferEnded, StateChanged, WrapUpEnded)):
                raise AssertionError(f"decision {d} about {call} after it ended ({self.outcome[call]})")
            if isinstance(d, Answered):
                assert d.call_id not in self.answered_by, "a session answered by two specialists"
                self.answered_by[d.call_id] = d.specialist_id
            elif isinstance(d, Missed):
                self.end(d.call_id, "missed")
                ended_now.add(d.call_id)
            elif isinstance(d, Position):
                self.check_estimate(d)
        self.check_fifo(decisions, before_waiting)

    def check_estimate(self, d):
        """Never "now" unless a specialist with the skill is ready; never made up when nobody is
        staffed; a session being offered is not "now" either (it may ring out)."""
        r = self.r
        sess = r._sessions[d.call_id]
        assert d.staffed == r._staffed_count(sess.queue)
        if d.staffed == 0:
            assert d.estimated_wait_s is None
        if d.offered:
            assert d.estimated_wait_s >= 1
        if d.estimated_wait_s == 0:
            assert any(r._specialists[s].state == "ready" for s in r._staffed_ids(sess.queue)), d

    def end(self, call, outcome):
        assert call not in self.outcome, f"{call} ended twice ({self.outcome[call]}, then {outcome})"
        self.outcome[call] = outcome

    def hangup(self, call, now):
        # What was due happens first (the center's tick), so the outcome is decided in order.
        self.apply(self.r.tick(now), {})
        if call not in self.requested or call in self.outcome:
            return self.r.hangup(call, now)  # nothing to end; due timers still run
        self.end(call, "answered" if call in self.answered_by else "abandoned")
        return self.r.hangup(call, now)

    def check_fifo(self, decisions, before_waiting):
        r = self.r
        for d in decisions:
            if not isinstance(d, Offer):
                continue
            spec = r._specialists.get(d.specialist_id)
            sess = r._sessions.get(d.call_id)
            if spec is None or sess is None or spec.call_id != d.call_id:
                continue  # the offer ended in the same event
            for other_id, was in before_waiting.items():
                other = r._sessions.get(other_id)
                if other is None or other is sess or other.answered or other.offers:
                    continue
                if was != _rules(other):
                    continue  # escalated or overflowed later in the same event
                if other.key < sess.key:
                    assert not r._eligible(spec, other, r_now[0]), (
                        f"offered {sess.call_id} {sess.key} to {spec.id} while {other.call_id} {other.key} waited"
                    )


r_now = [0.0]


def _rules(sess):
    return (sess.key, sess.queue, sess.min_proficiency, sess.scope, sess.version)


def check_state(r: Router, model: Model, now: float) -> None:
    holders: dict[str, int] = {}
    for spec_id, spec in r._specialists.items():
        if spec.state in ("ringing", "busy"):
            assert spec.call_id is not None
            sess = r._sessions[spec.call_id]
            if spec.state == "ringing":
                assert spec_id in sess.offers and not sess.answered
            else:
                assert sess.answered and sess.specialist_id == spec_id
                assert spec.call_id not in holders, "two specialists hold one answered session"
                holders[spec.call_id] = spec_id
        for target in spec.skills:
            assert (spec_id in r._ready.get(target, ())) == (spec.state == "ready")
    waiting_index = {k[2] for keys in r._by_queue.values() for k in keys}
    by_cat = {k[2] for keys in r._by_category.values() for k in keys}
    assert waiting_index == by_cat
    for call_id, sess in r._sessions.items():
        assert call_id in model.requested and call_id not in model.outcome, "a session the router should have let go"
        for spec_id in sess.offers:
            assert r._specialists[spec_id].call_id == call_id and r._specialists[spec_id].state == "ringing"
        if sess.answered:
            assert call_id not in waiting_index and not sess.offers
            spec = r._specialists.get(sess.specialist_id)
            assert spec is not None and spec.call_id == call_id and spec.state == "busy"
        else:
            assert call_id in waiting_index, "a waiting session fell out of its queue"
            assert r._by_queue[sess.queue] == sorted(r._by_queue[sess.queue])
            ring_all = r.settings_for(sess.queue).strategy == "ring_all"
            if sess.offers and not ring_all:
                continue
            for spec in r._specialists.values():
                if spec.state == "ready" and spec.id not in sess.offers:
                    assert not r._eligible(spec, sess, now), (
                        f"specialist {spec.id} ready and qualified while {call_id} waits"
                    )
    # Nothing lost: every session requested and not ended is still known.
    for call in model.requested - set(model.outcome):
        assert call in r._sessions, f"{call} vanished without an outcome"


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    queues=st.tuples(*(queue_st(item) for item in ITEMS)),
    skills=st.fixed_dictionaries({s: skills_st for s in SPECS}),
    initially_ready=st.sets(st.sampled_from(SPECS)),
    seq=st.lists(event_st, max_size=80),
)
def test_invariants_hold(queues, skills, initially_ready, seq):
    r = Router(offer_timeout_s=10, retry_s=3, queues=queues)
    r.configure(queues, categories=ITEMS)
    model = Model(r)
    now = 0.0
    for spec in SPECS:
        r.login(spec, skills[spec], now)
        if spec in initially_ready:
            r.set_state(spec, "ready", now)
    for kind, x, y in seq:
        now += 0.25
        r_now[0] = now
        before = {c: _rules(s) for c, s in r._sessions.items() if not s.answered and not s.offers}
        decisions = []
        try:
            if kind == "request":
                if x in model.requested:
                    continue
                model.requested.add(x)
                decisions = r.request(x, y, ITEMS[y], now)
            elif kind == "state":
                decisions = r.set_state(x, y, now)
            elif kind == "accept":
                call = r.specialist_call(x)
                if call is not None:
                    decisions = r.accept(x, call, now)
            elif kind == "accept_any":
                decisions = r.accept(x, y, now)
            elif kind == "decline":
                call = r.specialist_call(x)
                if call is not None:
                    decisions = r.decline(x, call, now)
            elif kind == "caller_hangup":
                decisions = model.hangup(x, now)
            elif kind == "specialist_hangup":
                if r.specialist_state(x) == "busy":
                    decisions = model.hangup(r.specialist_call(x), now)
            elif kind == "wrapup":
                decisions = r.wrap_up_done(x, now)
            elif kind == "disconnect":
                if r.specialist_state(x) == "busy":  # the center ends the call first
                    model.apply(model.hangup(r.specialist_call(x), now), before)
                decisions = r.logout(x, now)
            elif kind == "login":
                decisions = r.login(x, skills[x], now)
            elif kind == "auto_answer":
                if r.specialist_state(x) not in ("busy", "offline"):
                    decisions = r.set_state(x, "ready" if r.specialist_state(x) != "away" else "away", now, auto_answer=y)
            elif kind == "tick":
                now += x
                r_now[0] = now
                decisions = r.tick(now)
        except RoutingError:
            decisions = r.tick(now)  # what was left pending is delivered with the next event
        model.apply(decisions, before)
        check_state(r, model, now)
    # End everything: every requested session gets exactly one outcome.
    for call in sorted(model.requested):
        if call not in model.outcome:
            model.apply(model.hangup(call, now), {})
    assert set(model.outcome) == model.requested
    assert not r._sessions and not any(r._by_queue.values())


@settings(max_examples=EXAMPLES // 2, deadline=None)
@given(
    priorities=st.lists(st.integers(0, 3), min_size=1, max_size=25),
    strategy=st.sampled_from(STRATEGIES),
)
def test_fifo_within_priority(priorities, strategy):
    """One queue, specialists answering one by one: higher priority first, FIFO within."""
    r = Router(offer_timeout_s=10, queues=[QueueSettings(service_item="A", strategy=strategy)])
    for spec in (1, 2):
        r.login(spec, ["A"], now=0)
    for i, p in enumerate(priorities):
        r.request(f"c{i}", "A", "x", now=i * 0.01, priority=p)
    answered = []
    now = 1.0
    for spec in (1, 2):
        r.set_state(spec, "ready", now)
    while len(answered) < len(priorities):
        now += 1
        for spec in (1, 2):
            call = r.specialist_call(spec)
            if call is None:
                continue
            if r.specialist_state(spec) == "ringing":
                r.accept(spec, call, now)
                answered.append(call)
                r.hangup(call, now)
                r.wrap_up_done(spec, now)
    expected = [f"c{i}" for i, _ in sorted(enumerate(priorities), key=lambda ip: (-ip[1], ip[0]))]
    assert answered == expected


@settings(max_examples=EXAMPLES // 2, deadline=None)
@given(n_ready=st.integers(1, 6), winner=st.integers(0, 5))
def test_ring_all_first_accept_wins_others_withdrawn_at_once(n_ready, winner):
    winner %= n_ready
    r = Router(queues=[QueueSettings(service_item="A", strategy="ring_all")])
    for spec in range(n_ready):
        r.login(spec, ["A"], now=0)
        r.set_state(spec, "ready", now=0)
    d = r.request("c1", "A", "x", now=1)
    assert sorted(o.specialist_id for o in d if isinstance(o, Offer)) == list(range(n_ready))
    d = r.accept(winner, "c1", now=2)
    withdrawn = {o.specialist_id for o in d if isinstance(o, OfferEnded) and o.reason == "withdrawn"}
    assert withdrawn == set(range(n_ready)) - {winner}
    assert [a for a in d if isinstance(a, Answered)] == [Answered("c1", winner)]
    assert all(r.specialist_state(s) == "ready" for s in withdrawn)
    assert not any(isinstance(p, Position) for p in d)
