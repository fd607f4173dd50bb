"""The engine's quality watch (engine/quality.py) with legs whose counters the test sets: samples
to both parties and the writer, no sample across a hold, the summary on the session at its end."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from signaling.engine.live import LiveSession, Participant
from signaling.engine.quality import QualityWatch


class FakeTap:
    def __init__(self) -> None:
        self.frames = 0
        self.sinks: dict = {}

    def add_sink(self, key, sink) -> None:
        self.sinks[key] = sink

    def remove_sink(self, key) -> None:
        self.sinks.pop(key, None)


class FakeLeg:
    """Counters as aiortc reports them: a receiver's media stream, a sender's receiver reports."""

    state, closed = "connected", False

    def __init__(self) -> None:
        self.received = self.lost = 0  # what the server received from the party
        self.sent = self.reported_lost = 0  # what it sent, and what the party reported lost
        self.bytes_in = self.bytes_out = 0
        self.camera, self.output = FakeTap(), SimpleNamespace(frames=0)

    def advance(self, packets: int, lost_in: int = 0, lost_out: int = 0) -> None:
        self.received += packets - lost_in
        self.lost += lost_in
        self.sent += packets
        self.reported_lost += lost_out
        self.bytes_in += packets * 1000
        self.bytes_out += packets * 1000
        self.camera.frames += 30
        self.output.frames += 30

    async def rtp_stats(self):
        remote = SimpleNamespace(type="remote-inbound-rtp", id="r-audio", kind="audio", jitter=240,
                                 packetsReceived=self.sent - self.reported_lost, packetsLost=self.reported_lost,
                                 roundTripTime=0.04)
        transport = SimpleNamespace(type="transport", id="t", bytesReceived=self.bytes_in, bytesSent=self.bytes_out)
        return [remote, transport], [("audio", "0:1", self.received, self.lost, 480)]

    def inputs(self):
        return {("video", 0): self.camera}

    def outputs(self):
        return {("video", 0): self.output}


class FakeWriter:
    def __init__(self) -> None:
        self.samples: list[dict] = []

    def quality_samples(self, session_id, samples) -> None:
        self.samples += samples


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict]] = []

    async def to_caller(self, session, event, data) -> None:
        self.sent.append(("caller", data))

    async def to_specialist(self, specialist_id, event, data) -> None:
        self.sent.append(("specialist", data))


def world():
    legs = {"caller": FakeLeg(), "specialist": FakeLeg()}
    parts = {role: Participant(sid=role, role=role, leg=leg) for role, leg in legs.items()}
    presence = Outbox()
    presence.get = lambda sid: parts.get(sid)
    presence.specialist = lambda spec_id: parts["specialist"]
    session = LiveSession(id="s1", token="t", service_item={}, category="c", caller={}, caller_sid="caller",
                          created_at=None, created_mono=0.0, specialist_id=7, answered=True, media_flowing=True,
                          bridge=object())
    machine = SimpleNamespace(live={"s1": session}, presence=presence, writer=FakeWriter(), on_end=[])
    watch = QualityWatch(machine, asyncio.Lock(), interval_s=2)
    return watch, machine, session, legs


async def test_samples_go_to_both_parties_and_the_summary_to_the_session_at_its_end():
    watch, machine, session, legs = world()
    await watch.sample_all()  # starting counters only
    assert machine.presence.sent == []
    for leg in legs.values():
        leg.advance(100)
    legs["caller"].advance(100, lost_out=30)  # the caller's downlink loses 15 % of 200 sent
    await watch.sample_all()
    sent = machine.presence.sent
    assert sorted((who, m["party"]) for who, m in sent) == [
        ("caller", "caller"), ("caller", "specialist"), ("specialist", "caller"), ("specialist", "specialist")]
    caller = next(m for _, m in sent if m["party"] == "caller")
    assert caller["out"]["loss_pct"] == 15.0 and caller["in"]["loss_pct"] == 0.0
    assert caller["level"] == "poor" and caller["direction"] == "out"  # the first sample sets the level
    assert caller["rtt_ms"] == 40 and caller["jitter_ms"] == 10.0  # 480 / 48 kHz; the party's 240 is 5 ms
    assert watch.ended in machine.on_end
    await watch.ended(session)
    assert session.quality["caller"]["level"] == "poor" and session.quality["specialist"]["level"] == "good"
    assert session.quality_level == "poor"
    assert len(machine.writer.samples) == 2  # flushed at the end
    assert legs["caller"].camera.sinks == {}  # the freeze watch left the camera's tap


async def test_no_sample_spans_a_hold():
    watch, machine, session, legs = world()
    await watch.sample_all()
    legs["caller"].advance(100)
    await watch.sample_all()
    assert len(watch.calls["s1"].parties["caller"].samples) == 1
    session.held = True
    legs["caller"].advance(1000, lost_in=500)  # whatever happens meanwhile is not the call's
    await watch.sample_all()
    session.held = False
    await watch.sample_all()  # afresh: starting counters only
    assert len(watch.calls["s1"].parties["caller"].samples) == 1
    legs["caller"].advance(100)
    await watch.sample_all()
    samples = watch.calls["s1"].parties["caller"].samples
    assert len(samples) == 2 and samples[-1]["loss_in_pct"] == 0.0


async def test_a_session_without_samples_gets_no_summary():
    watch, machine, session, legs = world()
    await watch.sample_all()  # one round: starting counters, no sample yet
    await watch.ended(session)
    assert session.quality is None and session.quality_level is None and machine.writer.samples == []
