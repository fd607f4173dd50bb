"""The routing core: a pure state machine, driven with an explicit clock."""

import pytest

from signaling.routing import Answered, Offer, OfferEnded, Position, Router, RoutingError, StateChanged


def offers(decisions):
    return [d for d in decisions if isinstance(d, Offer)]


def positions(decisions):
    return {d.call_id: d.position for d in decisions if isinstance(d, Position)}


@pytest.fixture
def router():
    r = Router(offer_timeout_s=10, retry_s=5)
    r.login(1, ["SI-001"], now=0)
    r.login(2, ["category:tax"], now=0)
    return r


def test_specialist_starts_away_and_gets_no_offer(router):
    assert router.specialist_state(1) == "away"
    assert offers(router.request("c1", "SI-001", "social_insurance", now=1)) == []


def test_offer_goes_to_qualified_ready_specialist(router):
    router.set_state(1, "ready", now=1)
    router.set_state(2, "ready", now=1)
    d = router.request("c1", "TAX-001", "tax", now=2)
    assert offers(d) == [Offer("c1", 2, 10)]
    assert router.specialist_state(2) == "ringing"


def test_longest_idle_first():
    r = Router()
    for spec in (1, 2, 3):
        r.login(spec, ["SI-001"], now=0)
    r.set_state(2, "ready", now=1)
    r.set_state(3, "ready", now=2)
    r.set_state(1, "ready", now=3)
    assert offers(r.request("c1", "SI-001", "si", now=4))[0].specialist_id == 2
    assert offers(r.request("c2", "SI-001", "si", now=4))[0].specialist_id == 3


def test_accept_makes_busy_and_hangup_wrap_up(router):
    router.set_state(1, "ready", now=0)
    router.request("c1", "SI-001", "si", now=1)
    d = router.accept(1, "c1", now=2)
    assert Answered("c1", 1) in d
    assert router.specialist_state(1) == "busy"
    d = router.hangup("c1", now=30)
    assert StateChanged(1, "wrap_up", "c1") in d
    d = router.wrap_up_done(1, now=40)
    assert router.specialist_state(1) == "ready"


def test_auto_answer_accepts_at_once(router):
    router.set_state(1, "ready", now=0, auto_answer=True)
    d = router.request("c1", "SI-001", "si", now=1)
    assert offers(d) and Answered("c1", 1) in d
    assert router.specialist_state(1) == "busy"


def test_decline_reoffers_to_next_specialist():
    r = Router(retry_s=5)
    r.login(1, ["SI-001"], now=0)
    r.login(2, ["SI-001"], now=0)
    r.set_state(1, "ready", now=0)
    r.set_state(2, "ready", now=1)
    assert offers(r.request("c1", "SI-001", "si", now=2))[0].specialist_id == 1
    d = r.decline(1, "c1", now=3)
    assert OfferEnded("c1", 1, "declined") in d
    assert offers(d) == [Offer("c1", 2, r.offer_timeout_s)]


def test_decline_by_only_specialist_retries_after_retry_time():
    r = Router(retry_s=5)
    r.login(1, ["SI-001"], now=0)
    r.set_state(1, "ready", now=0)
    r.request("c1", "SI-001", "si", now=1)
    assert offers(r.decline(1, "c1", now=2)) == []
    assert offers(r.tick(now=4)) == []
    assert offers(r.tick(now=7.1)) == [Offer("c1", 1, r.offer_timeout_s)]


def test_offer_timeout_reoffers(router):
    router.login(3, ["SI-001"], now=0)
    router.set_state(1, "ready", now=0)
    router.set_state(3, "ready", now=1)
    router.request("c1", "SI-001", "si", now=2)
    assert offers(router.tick(now=11)) == []
    d = router.tick(now=12)
    assert OfferEnded("c1", 1, "timeout") in d
    assert offers(d) == [Offer("c1", 3, 10)]


def test_positions_and_estimated_wait(router):
    d1 = router.request("c1", "SI-001", "si", now=0)
    d2 = router.request("c2", "SI-001", "si", now=1)
    assert positions(d1) == {"c1": 1}
    assert positions(d2) == {"c2": 2}  # c1 unchanged, not repeated
    # Both specialists are away: nobody is staffed, so there is no estimate (never a made-up one).
    assert [(d.estimated_wait_s, d.staffed) for d in d2 if isinstance(d, Position)] == [(None, 0)]
    d = router.hangup("c1", now=2)  # c1 abandons
    assert positions(d) == {"c2": 1}


def test_abandon_while_ringing_frees_specialist(router):
    router.set_state(1, "ready", now=0)
    router.request("c1", "SI-001", "si", now=1)
    d = router.hangup("c1", now=2)
    assert OfferEnded("c1", 1, "withdrawn") in d
    assert router.specialist_state(1) == "ready"


def test_wrong_state_events_are_refused(router):
    with pytest.raises(RoutingError) as exc:
        router.accept(1, "nope", now=0)
    assert exc.value.code == "not_offered"
    with pytest.raises(RoutingError):
        router.set_state(1, "busy", now=0)
    router.set_state(1, "ready", now=0)
    router.request("c1", "SI-001", "si", now=1)
    router.accept(1, "c1", now=1)
    with pytest.raises(RoutingError) as exc:
        router.set_state(1, "away", now=2)
    assert exc.value.code == "busy"


def test_logout_while_ringing_requeues(router):
    router.login(3, ["SI-001"], now=0)
    router.set_state(1, "ready", now=0)
    router.set_state(3, "ready", now=1)
    router.request("c1", "SI-001", "si", now=2)
    d = router.logout(1, now=3)
    assert offers(d) == [Offer("c1", 3, 10)]


# The invariants over random event sequences are in test_routing_invariants.py.
