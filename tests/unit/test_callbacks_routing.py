"""Keep my place and appointments in the routing core (pure, explicit clock)."""

import pytest

from signaling.routing import CallbackDue, Missed, Offer, Position, Router, RoutingError


def offers(decisions):
    return [(d.call_id, d.specialist_id) for d in decisions if isinstance(d, Offer)]


def dues(decisions):
    return [d.call_id for d in decisions if isinstance(d, CallbackDue)]


@pytest.fixture
def router():
    r = Router(offer_timeout_s=10, retry_s=5, callback_accept_s=30, max_wait_s=60, max_wait_no_agent_s=20)
    r.login(1, ["SI-001"], now=0)
    r.login(2, ["SI-001"], now=0)
    return r


def test_a_held_place_is_offered_to_nobody_and_alerted_at_its_turn(router):
    router.request("held", "SI-001", "si", now=1)
    router.request("walkin", "SI-001", "si", now=2)
    d = router.keep_place("held", now=3)
    told = [p for p in d if isinstance(p, Position) and p.call_id == "held"]
    assert told and told[0].callback == "held" and told[0].ends_in_s is None  # no queue limit ends it
    router.caller_gone("held", now=4)
    d = router.set_state(1, "ready", now=5)
    assert dues(d) == ["held"]  # its turn: the caller is alerted ...
    assert offers(d) == [("walkin", 1)]  # ... and the free specialist serves the next meanwhile
    assert router.callback_state("held") == "alerted"


def test_the_caller_who_comes_back_is_routed_first(router):
    router.request("held", "SI-001", "si", now=1)
    router.keep_place("held", now=1)
    router.request("walkin", "SI-001", "si", now=2)
    assert dues(router.set_state(1, "ready", now=3)) == ["held"]
    router.hangup("walkin", now=4)  # specialist 1 is free again (the walk-in left)
    d = router.callback_accept("held", now=5)
    assert offers(d) == [("held", 1)]
    assert router.callback_state("held") is None


def test_an_alert_not_taken_passes_the_place_on(router):
    router.request("held", "SI-001", "si", now=1)
    router.keep_place("held", now=1)
    router.caller_gone("held", now=1)
    router.set_state(1, "ready", now=2)  # alerted at 2, 30 s to accept
    assert not [m for m in router.tick(now=31) if isinstance(m, Missed)]
    assert Missed("held", "callback_not_taken") in router.tick(now=33)
    assert not router.has_session("held")
    with pytest.raises(RoutingError):
        router.callback_accept("held", now=34)


def test_keep_place_is_refused_while_an_offer_rings(router):
    router.set_state(1, "ready", now=0)
    router.request("c", "SI-001", "si", now=1)
    with pytest.raises(RoutingError) as err:
        router.keep_place("c", now=2)
    assert err.value.code == "already_offered"


def test_a_held_place_ignores_the_maximum_waits(router):
    router.request("held", "SI-001", "si", now=0)
    router.keep_place("held", now=0)
    router.request("other", "SI-001", "si", now=0)
    ended = [d for d in router.tick(now=200) if isinstance(d, Missed)]
    assert ended == [Missed("other", "no_specialist")]
    assert router.has_session("held")


def test_an_appointment_goes_first_and_to_its_booked_specialist(router):
    router.set_state(1, "away", now=0)
    router.set_state(2, "ready", now=0)
    router.request("walkin", "SI-001", "si", now=1)  # offered to 2 at once
    router.hangup("walkin", now=1)
    router.set_state(2, "away", now=1)
    router.request("walkin2", "SI-001", "si", now=2)
    router.set_state(1, "ready", now=3)  # 1 takes walkin2 now
    router.set_state(2, "ready", now=3)
    assert router.specialist_state(2) == "ready"
    # An appointment booked with specialist 1 (busy ringing): offered to nobody else for 60 s.
    d = router.request("appt", "SI-001", "si", now=4, front=True, prefer_specialist=1, prefer_s=60)
    assert offers(d) == []
    router.decline(1, "walkin2", now=5)  # 1 is free: the appointment comes before walkin2
    assert router.session_specialist("appt") == 1
    router.hangup("appt", now=6)


def test_a_booked_specialist_who_does_not_answer_hands_over_to_anyone(router):
    router.set_state(2, "ready", now=0)
    router.set_state(2, "away", now=0)
    router.set_state(1, "away", now=0)
    router.set_state(1, "ready", now=0)
    router.request("busy1", "SI-001", "si", now=0)  # 1 rings for it
    d = router.request("appt", "SI-001", "si", now=1, front=True, prefer_specialist=1, prefer_s=5)
    assert offers(d) == []
    router.set_state(2, "ready", now=2)
    assert router.session_specialist("appt") is None  # 2 may not take it yet
    d = router.tick(now=6)  # before 1's ring times out
    assert ("appt", 2) in offers(d)
