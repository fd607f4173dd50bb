"""Who may wait again at the front (engine/requeue.py): the caller of a call cut off by the
specialist's console, on the same connection, once, within the window."""

from datetime import datetime, timezone

import pytest

from signaling.engine.errors import Conflict, Forbidden
from signaling.engine.live import LiveSession, Participant
from signaling.engine.requeue import Requeues


def session(answered: bool = True) -> LiveSession:
    return LiveSession(id="s1", token="t", service_item={"code": "A", "name": "a", "name_en": "a"}, category="x",
                       caller={"name": "n"}, caller_sid="sid1", created_at=datetime.now(timezone.utc),
                       created_mono=0.0, answered=answered)


def caller(sid: str = "sid1", session_id: str = "s1") -> Participant:
    return Participant(sid=sid, role="caller", session_id=session_id)


def test_only_a_call_cut_off_by_the_console_is_offered():
    r = Requeues(window_s=120)
    assert r.offer(session(), "hangup", now=0) is None
    assert r.offer(session(answered=False), "specialist_disconnected", now=0) is None
    assert r.offer(session(), "specialist_disconnected", now=0) == {"within_s": 120}
    assert Requeues(window_s=0).offer(session(), "specialist_disconnected", now=0) is None  # turned off


def test_the_same_caller_once_within_the_window():
    r = Requeues(window_s=120)
    s = session()
    r.offer(s, "specialist_disconnected", now=0)
    with pytest.raises(Forbidden):
        r.take(caller(session_id="another"), "s1", now=1)  # its connection moved on to another call
    with pytest.raises(Conflict) as refused:
        r.take(caller(sid="sid2"), "s1", now=1)  # another connection
    assert refused.value.code == "not_requeueable"
    assert r.take(caller(), "s1", now=119) is s
    with pytest.raises(Conflict):
        r.take(caller(), "s1", now=119)  # once


def test_the_window_runs_out():
    r = Requeues(window_s=120)
    r.offer(session(), "specialist_disconnected", now=0)
    with pytest.raises(Conflict) as refused:
        r.take(caller(), "s1", now=120)
    assert refused.value.code == "requeue_expired"
