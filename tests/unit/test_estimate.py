"""The estimated wait: the model (routing/estimate.py), worked by hand, and what the router tells
waiting callers with it (S→C `call:queued`)."""

import pytest

from signaling.routing import Missed, Offer, OfferEnded, Position, QueueSettings, Router
from signaling.routing.estimate import (
    DEFAULT_HANDLE_S,
    HandleTimes,
    left_of_call,
    waits_in_order,
    whole_seconds,
    worth_resending,
)


def busy(**settings) -> Router:
    """A router whose one specialist (1, skill A) took call "busy" at 0 (auto-answer)."""
    r = Router(**settings)
    r.login(1, ["A"], now=0)
    r.set_state(1, "ready", now=0, auto_answer=True)
    r.request("busy", "A", "x", now=0)
    return r


def told(decisions, call_id):
    found = [d for d in decisions if isinstance(d, Position) and d.call_id == call_id]
    return found[-1] if found else None


# ---- the model --------------------------------------------------------------------------


def test_handle_times_window_queue_center_and_default():
    h = HandleTimes(default_s=180, window_s=600, calls=3)
    assert h.average("A", now=0) == 180  # no history anywhere: the default
    h.add("A", 100, now=10)
    h.add("B", 300, now=20)
    assert h.average("A", now=30) == 200  # fewer than 3 calls of its own: the center's (100+300)/2
    h.add("A", 120, now=40)
    h.add("A", 140, now=50)
    assert h.average("A", now=60) == 120  # (100+120+140)/3
    h.add("A", 200, now=70)  # at most 3 kept: 100 drops out
    assert h.average("A", now=80) == pytest.approx((120 + 140 + 200) / 3)
    # 600 s later, only the call at 70 is within the window: too few, so the center's, which is
    # that same call (B's at 20 is older than the window too).
    assert h.average("A", now=669) == 200
    assert h.average("A", now=1000) == 180  # everything forgotten: the default again


def test_left_of_a_call():
    assert left_of_call(180, 60) == 120  # what is left of an average call
    assert left_of_call(180, 170) == 45  # past three quarters: at least a quarter of the average
    assert left_of_call(180, 600) == 45  # long overdue: still not "any moment now"
    assert left_of_call(20, 15) == 10  # short calls: at least 10 s


def test_waits_in_queue_order():
    # One specialist free now, one in 30 s; each call takes 100 s on average.
    assert waits_in_order([0, 30], 4, 100) == [0, 30, 100, 130]
    # Two busy specialists, 50 s and 80 s left; the third caller waits for the first to finish again.
    assert waits_in_order([80, 50], 3, 180) == [50, 80, 230]
    assert waits_in_order([], 2, 180) is None  # nobody to take them: no estimate


def test_whole_seconds_round_up():
    assert whole_seconds(0) == 0
    assert whole_seconds(0.2) == 1  # not free yet: never shown as "now"
    assert whole_seconds(45.0) == 45


def test_worth_resending():
    # The page counts 100 down: 10 s later it shows 90.
    assert not worth_resending(100, 0, 90, now=10)
    assert not worth_resending(100, 0, 120, now=3)  # not within 5 s of the last
    assert worth_resending(100, 0, 120, now=10)  # 30 s off what the page shows
    assert not worth_resending(300, 0, 340, now=10)  # 50 s off, but under a fifth of 340
    assert worth_resending(45, 0, 45, now=30)  # the page is at 15 while 45 is still left
    assert worth_resending(5, 0, 0, now=1)  # a specialist is free now: at once
    assert worth_resending(0, 0, 30, now=1)  # and no longer
    assert worth_resending(60, 0, None, now=1)  # nobody staffed any more
    assert not worth_resending(None, 0, None, now=60)


# ---- what the router tells waiting callers ------------------------------------------------


def test_nobody_staffed_no_estimate_and_the_limit_that_ends_the_wait():
    r = Router(max_wait_s=900, max_wait_no_agent_s=120)
    r.login(1, ["A"], now=0)  # signed in but away: not staffed
    p = told(r.request("c1", "A", "x", now=0), "c1")
    assert (p.position, p.estimated_wait_s, p.staffed, p.offered) == (1, None, 0, False)
    assert (p.ends_in_s, p.ends_reason) == (120, "no_specialist")
    assert p.options == ("wait", "leave")
    d = r.tick(now=120)
    assert Missed("c1", "no_specialist") in d


def test_default_limits_apply_to_queues_without_their_own():
    r = Router(max_wait_s=30, max_wait_no_agent_s=None, queues=[QueueSettings(service_item="A", priority=3),
                                                                QueueSettings(service_item="B", max_wait_s=60)])
    assert r.settings_for("A").max_wait_s == 30  # configured, but the limit left unset
    assert r.settings_for("B").max_wait_s == 60
    assert r.settings_for("C").max_wait_s == 30  # not configured at all
    r.request("c1", "A", "x", now=0)
    r.request("c2", "B", "x", now=0)
    assert [m.call_id for m in r.tick(now=30) if isinstance(m, Missed)] == ["c1"]
    assert [m.reason for m in r.tick(now=60) if isinstance(m, Missed)] == ["max_wait"]


def test_estimate_from_the_calls_in_progress_counts_down_and_is_re_sent_sparingly():
    r = Router()  # no history: calls take 180 s on average
    r.login(1, ["A"], now=0)
    r.set_state(1, "ready", now=0, auto_answer=True)
    r.request("busy", "A", "x", now=0)  # answered at once: 180 s expected
    p = told(r.request("c1", "A", "x", now=60), "c1")
    assert (p.estimated_wait_s, p.staffed) == (120, 1)  # what is left of the call in progress
    p2 = told(r.request("c2", "A", "x", now=60), "c2")
    assert p2.estimated_wait_s == 120 + 180  # then a whole call more
    assert told(r.tick(now=70), "c1") is None  # the page counts down to 110 by itself: nothing to send
    assert told(r.tick(now=90), "c1") is None
    # The call runs past the average: a quarter of it (45 s) is assumed left, not "any moment".
    d = r.tick(now=200)
    assert told(d, "c1").estimated_wait_s == 45
    assert told(r.tick(now=203), "c1") is None  # at most every 5 s
    assert told(r.tick(now=205), "c1") is None  # the page shows 40 of 45: close enough
    assert told(r.tick(now=225), "c1").estimated_wait_s == 45  # the page would be at 25


def test_a_specialist_signing_out_is_told_at_once():
    r = busy()
    assert told(r.request("c1", "A", "x", now=1), "c1").staffed == 1
    r.hangup("busy", now=2)  # wrap-up (120 s by default) ends by itself at 122
    assert told(r.tick(now=6), "c1").estimated_wait_s == 116  # re-sent at the next look (every 5 s)
    p = told(r.logout(1, now=7), "c1")
    assert (p.staffed, p.estimated_wait_s) == (0, None)


def test_while_offered_and_after_the_offer_rang_out_the_estimate_is_never_now():
    r = Router(offer_timeout_s=10, retry_s=5)
    r.login(1, ["A"], now=0)
    r.set_state(1, "ready", now=0)
    d = r.request("c1", "A", "x", now=0)
    assert Offer("c1", 1, 10) in d
    p = told(d, "c1")
    assert p.offered and p.estimated_wait_s == 10  # it rings: at most 10 s to an answer
    d = r.tick(now=10)  # nobody answered: the offer rang out
    assert OfferEnded("c1", 1, "timeout") in d
    p = told(d, "c1")
    # The specialist is ready, but is not offered the same session again for 5 s.
    assert not p.offered and p.estimated_wait_s == 5
    p = told(r.tick(now=15), "c1")
    assert p.offered and p.estimated_wait_s == 10


def test_the_next_call_after_a_wrap_up_that_ends_by_itself():
    r = busy(wrap_up_s=30)
    r.request("c1", "A", "x", now=1)
    # Wrap-up ends by itself at 50, sooner than 180 s of a call; the queue's estimates are
    # looked at again every 5 s (one is due), and this one moved by far more than the step.
    assert told(r.hangup("busy", now=20), "c1").estimated_wait_s == 30


def test_a_specialist_whose_console_dropped_takes_no_next_call():
    r = busy()
    assert told(r.request("c1", "A", "x", now=1), "c1").estimated_wait_s == 179
    p = told(r.specialist_gone(1, now=2), "c1")  # busy and still staffed, but it will not take c1
    assert (p.staffed, p.estimated_wait_s) == (1, None)


def test_re_queued_at_the_front():
    r = Router()
    r.request("c1", "A", "x", now=0)
    r.request("c2", "A", "x", now=1, priority=2)
    d = r.request("back", "A", "x", now=2, front=True)
    assert {p.call_id: p.position for p in d if isinstance(p, Position)} == {"back": 1, "c2": 2, "c1": 3}
    d = r.request("back2", "A", "x", now=3, front=True)  # first come, first served among them
    assert {p.call_id: p.position for p in d if isinstance(p, Position)} == {"back2": 2, "c2": 3, "c1": 4}
    r.login(1, ["A"], now=4)
    assert [o.call_id for o in r.set_state(1, "ready", now=4) if isinstance(o, Offer)] == ["back"]


def test_handle_times_feed_the_estimate():
    r = Router(wrap_up_s=0)
    r.login(1, ["A"], now=0)
    r.set_state(1, "ready", now=0, auto_answer=True)
    for i in range(3):  # three calls of 60 s each
        r.request(f"done{i}", "A", "x", now=i * 100)
        r.hangup(f"done{i}", now=i * 100 + 60)
        r.tick(now=i * 100 + 60)  # wrap-up 0: ready at once
    assert r.queue_live("A", now=300)["average_handle_s"] == 60
    r.request("busy", "A", "x", now=300)
    assert told(r.request("c1", "A", "x", now=300), "c1").estimated_wait_s == 60
    assert DEFAULT_HANDLE_S == 180
