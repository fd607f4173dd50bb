"""Adaptation in passthrough (media/adaptation.py and its aiortc hooks): retransmission pacing and
duplicate suppression, the REMB minimum, pausing video, audio packet by packet; on a set clock."""

from __future__ import annotations

import asyncio
import inspect
import random
import time

import pytest
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtp import (
    RTCP_PSFB_APP, RtcpPsfbPacket, RtcpReceiverInfo, RtcpRrPacket, RtpPacket, pack_remb_fci, unpack_remb_fci,
)

from signaling.media import adaptation, aiortc_hooks
from signaling.media.adaptation import (
    CONGESTED_FOR_S, DUPLICATE, GIVEN_UP, MAX_RESENDS, OVER_BUDGET, PACING_BURST_S, PACING_FACTOR,
    PACING_OVER_SENDING, RESEND, Congestion, LossWindow, NackFilter, NackShare, Pacer, QueueDelay,
    RetransmitGate, TokenBucket, VideoGate, believed_estimate, nack_loss, remb_minimum,
)
from test_media import wait_state  # tests/unit is on sys.path (pytest rootdir insertion)
from test_media_relay import bridged, peers, plane  # noqa: F401  (fixtures)

# -- retransmission ------------------------------------------------------------------------------


def test_token_bucket_spends_its_burst_then_refills_at_its_rate():
    bucket = TokenBucket(rate_bps=80_000, burst_s=0.5)  # 10 kB/s, holding 5 kB
    assert bucket.take(4000, now=0.0)
    assert not bucket.take(2000, now=0.0)  # 1 kB left
    assert bucket.take(2000, now=0.1)  # +1 kB
    assert not bucket.take(1, now=0.1)
    assert bucket.take(5000, now=100.0) and not bucket.take(1, now=100.0)  # never more than the burst


def test_one_packet_is_resent_once_per_round_trip_and_a_few_times_in_all():
    gate = RetransmitGate()
    rtt = 0.1
    outcomes = [gate.decide(7, 1200, now=t / 100, rtt_s=rtt) for t in range(0, 200, 2)]  # NACKed every 20 ms for 2 s
    assert outcomes.count(RESEND) == MAX_RESENDS
    resent_at = [i * 0.02 for i, o in enumerate(outcomes) if o == RESEND]
    assert all(b - a >= rtt - 1e-9 for a, b in zip(resent_at, resent_at[1:]))
    assert set(outcomes) == {RESEND, DUPLICATE, GIVEN_UP}
    assert gate.decide(8, 1200, now=3.0, rtt_s=rtt) == RESEND  # another packet has its own count
    assert gate.decide(9, None, now=3.0, rtt_s=rtt) == GIVEN_UP  # no longer in the history


def test_retransmissions_stay_within_a_share_of_the_receivers_estimate():
    gate = RetransmitGate()
    gate.set_estimate(300_000)  # 300 kbit/s: RTX_SHARE of it for repair
    sent = 0
    for i in range(2000):  # a storm: 2000 different packets NACKed over 2 s
        if gate.decide(i, 1000, now=i / 1000, rtt_s=0.05) == RESEND:
            sent += 1000
    allowed = adaptation.RTX_SHARE * 300_000 / 8 * (2 + adaptation.RTX_BURST_S)
    assert 0 < sent <= allowed
    assert gate.counts[OVER_BUDGET] > 0
    # Refused for the budget is not held against the packet: asked again later, it goes.
    refused = next(i for i in range(2000) if gate.limiter.times(i) == 0)
    assert gate.decide(refused, 1000, now=10.0, rtt_s=0.05) == RESEND


def test_an_uncongested_receivers_budget_repairs_all_its_random_loss():
    # 1 Mbit/s of video in 1000-byte packets, 5 % of them lost at random and each NACKed twice, while
    # aiortc's estimator says 40 kbit/s: the budget follows what gets through, and refuses nothing.
    gate = RetransmitGate()
    gate.set_estimate(believed_estimate(40_000, 1_000_000, congested=False))
    rng = random.Random(3)
    lost = [seq for seq in range(1250) if rng.random() < 0.05]  # 10 s of packets
    outcomes = [gate.decide(seq, 1000, now=seq / 125 + extra, rtt_s=0.05) for seq in lost for extra in (0.05, 0.15)]
    assert outcomes and set(outcomes) == {RESEND}
    gate.set_estimate(believed_estimate(40_000, 1_000_000, congested=True))  # the same, congested
    storm = [gate.decide(2000 + i, 1000, now=20 + i / 1000, rtt_s=0.05) for i in range(100)]
    assert OVER_BUDGET in storm


def test_congestion_is_loss_left_after_repair_and_lasts_a_while():
    congestion = Congestion()
    congestion.report(0.05, now=0.0)  # random loss that repair did not quite cover
    assert not congestion.congested(0.0)
    congestion.report(adaptation.LOSS_CONGESTED, now=1.0)  # a queue overflowing
    assert congestion.congested(1.0) and congestion.congested(1.0 + adaptation.CONGESTED_FOR_S - 0.1)
    congestion.report(0.0, now=2.0)  # one clean report does not end it
    assert congestion.congested(3.0)
    assert not congestion.congested(1.0 + adaptation.CONGESTED_FOR_S + 0.1)


def test_an_uncongested_receivers_low_estimate_is_not_believed():
    # aiortc's estimator said 40 kbit/s while 400 kbit/s of video got through: the sender may keep
    # (and raise a little) its rate; a congested receiver is believed as it is, ...
    assert believed_estimate(40_000, 400_000, congested=False) == 440_000
    assert believed_estimate(2_000_000, 400_000, congested=False) == 2_000_000
    assert believed_estimate(40_000, 400_000, congested=True) == 40_000
    # ... but never below what its reports say got through.
    assert believed_estimate(40_000, 400_000, congested=True, delivered_bps=250_000) == 250_000
    assert believed_estimate(300_000, 400_000, congested=True, delivered_bps=250_000) == 300_000


def test_nacks_upstream_ask_again_only_after_a_round_trip_and_at_most_a_few_times():
    nacks = NackFilter()
    asked = []
    for step in range(100):  # aiortc's NackGenerator re-lists every missing packet at each new gap
        asked += nacks.filter([1, 2, 3], now=step * 0.01, rtt_s=0.1)
    assert asked.count(1) == asked.count(3) == adaptation.MAX_NACKS
    assert nacks.suppressed == 300 - 3 * adaptation.MAX_NACKS


# -- bandwidth -----------------------------------------------------------------------------------


def test_remb_minimum_is_the_lowest_known_estimate():
    assert remb_minimum(900_000, [400_000, 700_000]) == 400_000
    assert remb_minimum(200_000, [400_000]) == 200_000
    assert remb_minimum(None, [None, 500_000]) == 500_000
    assert remb_minimum(None, []) is None


def test_video_gate_pauses_on_a_weak_estimate_tries_again_and_resumes():
    events = []
    gate = VideoGate(events.append)
    t = 0.0
    sending = 300_000  # the sender stays there (aiortc's VP8 floor is 250 kbit/s)
    for bps in (600_000, 400_000, 230_000, 220_000):  # falling below the video sent
        gate.estimate(bps, t, sending)
        assert gate.allows(t)
        t += 0.5
    gate.estimate(210_000, t, sending)
    assert gate.paused and events == ["paused"]
    assert not gate.allows(t + 0.1)  # paused: video held back, audio is not gated at all
    # The first try: the estimate falls again (the link is still short): paused, no new event.
    t = _video_try(gate, t + adaptation.RETRY_S)
    gate.estimate(210_000, t + 0.4, sending)
    gate.estimate(180_000, t + 0.6, sending)
    assert gate.paused and events == ["paused"]
    assert not gate.allows(t + 0.6 + adaptation.RETRY_S)  # the next try waits twice as long
    # The cap is lifted: the try does not fall, and video is back.
    t = _video_try(gate, t + 0.6 + 2 * adaptation.RETRY_S)
    for step in range(1, 5):
        gate.estimate(180_000 + step * 10_000, t + step * 0.4, sending)
    assert gate.allows(t + adaptation.PROBE_S)
    assert gate.state == adaptation.ON and events == ["paused", "resumed"]
    gate.estimate(260_000, t + 2, sending)  # rising from low is not weak
    assert gate.allows(t + 4) and gate.state == adaptation.ON


def test_a_short_dip_does_not_pause_video():
    gate = VideoGate()
    gate.estimate(100_000, 0.0, 300_000)
    gate.estimate(90_000, 0.5, 300_000)
    gate.estimate(400_000, 0.8, 300_000)
    gate.estimate(90_000, 1.2, 300_000)
    assert gate.state == adaptation.ON


def test_heavy_loss_reported_twice_pauses_video_and_fails_a_try():
    events = []
    gate = VideoGate(events.append)
    gate.loss(0.05, 0.0)  # random loss: repaired, not a reason
    gate.loss(0.3, 1.0)
    assert gate.state == adaptation.ON  # once may be a burst
    gate.loss(0.4, 2.0)
    assert gate.paused and events == ["paused"]
    t = _video_try(gate, 2.0 + adaptation.RETRY_S)
    gate.loss(0.3, t + 0.5)  # the try overflows the queue again
    assert gate.paused and events == ["paused"]


def test_heavy_loss_reported_once_at_half_or_more_pauses_video_at_once():
    events = []
    gate = VideoGate(events.append)
    gate.loss(adaptation.LOSS_PAUSE_AT_ONCE, 1.0)  # the link carries half of what is sent
    assert gate.paused and events == ["paused"]


def _video_try(gate: VideoGate, t: float) -> float:
    """The try due at `t` starts: its video flows."""
    assert gate.allows(t) and gate.state == adaptation.PROBING
    return t


def test_the_gate_counts_no_lower_than_what_got_through_except_on_a_try():
    gate = VideoGate()
    sending = 300_000
    for step in range(5):  # congested, its REMB far below, yet what is sent gets through
        gate.estimate(20_000, step * 0.5, sending, delivered=sending)
    assert gate.state == adaptation.ON
    gate.estimate(20_000, 3.0, sending)  # nothing known to have got through: low, and paused
    gate.estimate(20_000, 4.1, sending)
    assert gate.paused
    # A try: what got through before does not hold its estimate up.
    t = _video_try(gate, 4.1 + adaptation.RETRY_S)
    gate.estimate(200_000, t + 0.4, sending, delivered=sending)
    gate.estimate(150_000, t + 0.6, sending, delivered=sending)
    assert gate.paused


def test_a_try_that_builds_a_queue_fails_before_it_overflows():
    gate = VideoGate()
    gate.loss(0.6, 0.0)
    t = _video_try(gate, adaptation.RETRY_S)
    gate.queue(adaptation.QUEUE_DELAY_S, t + 0.1)  # too early to tell: the try's own keyframe
    assert gate.state == adaptation.PROBING
    gate.queue(adaptation.QUEUE_DELAY_S / 2, t + 0.5)  # a little jitter is not a queue
    assert gate.state == adaptation.PROBING
    gate.queue(adaptation.QUEUE_DELAY_S, t + 0.6)
    assert gate.paused
    t = _video_try(gate, t + 0.6 + 2 * adaptation.RETRY_S)
    gate.loss(adaptation.PROBE_LOSS, t + 0.5)  # the next try loses a share of its video
    assert gate.paused


def test_loss_is_judged_over_a_window_of_packets_not_one_report():
    window = LossWindow()
    assert window.report(1000, 10, now=0.0) is None  # the first report starts the window
    # Chromium reports with every NACK: 1 of 3 packets lost since the last is no reason.
    assert window.report(1003, 11, now=0.05) is None
    assert window.report(1100, 14, now=0.5) is None  # not a second yet, and light
    assert window.report(1150, 15, now=1.0) == pytest.approx(5 / 150)
    # Heavy loss is told as soon as enough packets show it.
    assert window.report(1200, 15 + 30, now=1.2) == pytest.approx(30 / 50)
    # Repair: packets counted lost arrive later; the cumulative count falls, the window says none.
    assert window.report(1300, 20, now=2.3) == 0.0
    assert window.report(50, 0, now=2.5) is None  # a new stream starts a new window


def test_nacks_tell_a_caps_onset_at_once_and_random_loss_never():
    # 100 packets a second; a cap drops 60 % of them from t = 1 s: NACKed within a round trip.
    share = NackShare()
    told = []
    for i in range(100, 160):
        if i % 5 < 3:
            found = share.nacked(i, now=i / 100 + 0.02, packets_sent=i + 2)
            if found is not None and nack_loss(*found, trying=False):
                told.append((i, found))
    assert told and told[0][0] < 140  # within 0.4 s of the onset
    assert told[0][1][0] >= adaptation.LOSS_PAUSE_AT_ONCE
    # 5 % random loss, NACKed again and again (aiortc re-lists what it misses): never heavy.
    share, rng = NackShare(), random.Random(5)
    shares = []
    for i in range(3000):
        if rng.random() < 0.05:
            for again in range(3):
                found = share.nacked(i, now=i / 100 + 0.02 * again, packets_sent=i + 2)
                if found is not None:
                    shares.append(found)
    assert shares and not any(nack_loss(*found, trying=False) for found in shares)
    assert max(found[0] for found in shares) < adaptation.HEAVY_LOSS


def test_queue_delay_is_the_round_trip_over_the_shortest_lately():
    queue = QueueDelay()
    assert queue.sample(0.040, now=0.0) == 0.0
    assert queue.sample(0.020, now=1.0) == 0.0
    assert queue.sample(0.150, now=2.0) == pytest.approx(0.130)
    assert queue.sample(0.030, now=3.0) == pytest.approx(0.010)
    # The shortest is forgotten after a while (a route change may lengthen the path for good).
    assert queue.sample(0.090, now=1.5 + adaptation.RTT_MIN_WINDOW_S) == pytest.approx(0.060)
    assert queue.sample(0.200, now=20.0) == 0.0


def test_a_cheap_picture_under_a_low_estimate_is_not_paused():
    # A receiver's estimate stays near what it gets: 40 kbit/s of a still picture fits in 60.
    gate = VideoGate()
    for step in range(10):
        gate.estimate(60_000, step * 0.5, 40_000)
    assert gate.state == adaptation.ON


# -- audio packet by packet --------------------------------------------------------------------------


def _opus_packets(n: int) -> list[RtpPacket]:
    packets = []
    for i in range(n):
        packet = RtpPacket(payload_type=111, sequence_number=(65000 + i) % 65536, timestamp=960 * i)
        packet._data = bytes([i % 256]) * 40  # type: ignore[attr-defined]
        packets.append(packet)
    return packets


def test_audio_forwarded_per_packet_loses_only_what_the_network_lost():
    rng = random.Random(5)
    packets = [p for p in _opus_packets(3000) if rng.random() >= 0.05]  # 5 % lost on the way
    ours = aiortc_hooks.PacketByPacket()
    theirs = JitterBuffer(capacity=16, prefetch=4)  # aiortc's audio receiver's
    out_ours = [f for p in packets if (f := ours.add(p)[1]) is not None]
    out_theirs = [f for p in packets if (f := theirs.add(p)[1]) is not None]
    assert len(out_ours) == len(packets)  # every packet that arrived is a frame, at once
    assert [f.data for f in out_ours] == [p._data for p in packets]  # type: ignore[attr-defined]
    assert len(out_theirs) < 0.9 * len(packets)  # aiortc's buffer drops runs after gaps (why this exists)


def test_late_and_repeated_audio_packets_are_dropped_a_restart_is_not():
    buffer = aiortc_hooks.PacketByPacket()
    a, b, c = _opus_packets(3)
    assert buffer.add(a)[1] is not None and buffer.add(c)[1] is not None
    assert buffer.add(b)[1] is None and buffer.add(c)[1] is None and buffer.late == 2
    restart = RtpPacket(payload_type=111, sequence_number=1000, timestamp=5)
    restart._data = b"x"  # type: ignore[attr-defined]
    assert buffer.add(restart)[1] is not None  # far behind: the stream started again


# -- pacing ------------------------------------------------------------------------------------------


def test_a_congested_links_video_leaves_at_its_estimate_and_audio_at_once():
    pacer = Pacer()
    assert pacer.delay(1200, 0.0, paced=True) == 0.0  # no estimate yet: nothing waits
    now = 10.0
    pacer.audio_lost(0.2, now)  # the leg's audio is lost: the link is full
    pacer.set_rate(96_000, 300_000, now)  # 12 kB/s, whatever the video sent: a 1,200-byte packet every 0.1 s
    leaves = [now + pacer.delay(1200, now, paced=True) for _ in range(6)]  # a keyframe's packets at once
    gaps = [b - a for a, b in zip(leaves, leaves[1:])]
    assert leaves[0] == now and all(abs(gap - 0.1) < 1e-9 for gap in gaps[1:])
    assert gaps[0] <= 0.1 - PACING_BURST_S + 1e-9  # the first few go at once, within the burst
    assert pacer.delay(100, now, paced=False) == 0.0  # audio overtakes the queued video...
    assert now + pacer.delay(1200, now, paced=True) > leaves[-1] + 0.1  # ... and the video after it pays


def test_an_uncongested_links_bursts_are_only_smoothed_and_never_starved():
    pacer = Pacer()
    pacer.audio_lost(0.05, 0.0)  # random loss: not a full link
    pacer.set_rate(1_000_000, 500_000, 0.0)
    assert pacer.rate_bps == 1_000_000 * PACING_FACTOR
    pacer.set_rate(10_000, 250_000, 0.0)  # aiortc's estimate after a pause: the try's video still flows
    assert pacer.rate_bps == 250_000 * PACING_OVER_SENDING
    pacer.audio_lost(0.3, 0.0)
    pacer.set_rate(200_000, 250_000, 1.0)
    assert pacer.rate_bps == 200_000
    pacer.set_rate(200_000, 250_000, 1.0 + CONGESTED_FOR_S)  # no audio lost since: smoothing again
    assert pacer.rate_bps == 200_000 * PACING_FACTOR
    for _ in range(100):  # audio alone, far over the rate: the debt stays bounded
        pacer.delay(10_000, 0.0, paced=False)
    assert pacer.delay(1200, 0.0, paced=True) <= adaptation.PACING_MAX_AHEAD_S
    pacer.reset()
    assert pacer.delay(1200, 0.0, paced=True) == 0.0


class _Transport:
    """The DTLS transport's send side, as a sender sees it."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, bytes]] = []

    async def _send_rtp(self, data: bytes) -> None:
        self.sent.append((time.monotonic(), data))


class _Sender:
    def __init__(self, ssrc: int, transport: _Transport) -> None:
        self._ssrc, self._rtx_ssrc, self.transport = ssrc, ssrc + 1, transport

    def setTransport(self, transport: _Transport) -> None:  # noqa: N802 (aiortc's name)
        self.transport = transport


def _rtp(ssrc: int, size: int = 1200) -> bytes:
    return RtpPacket(payload_type=96, sequence_number=1, ssrc=ssrc, payload=b"x" * (size - 12)).serialize()


async def test_paced_sends_wait_on_the_transport_and_others_are_only_charged():
    first, bundled = _Transport(), _Transport()
    video, audio = _Sender(1000, first), _Sender(2000, first)
    pacer = Pacer()
    pacer.audio_lost(0.2, time.monotonic())
    pacer.set_rate(96_000, 0.0, time.monotonic())  # a 1,200-byte packet every 0.1 s
    aiortc_hooks.pace_sends(video, pacer.delay, paced=True)
    aiortc_hooks.pace_sends(audio, pacer.delay, paced=False)
    for sender in (video, audio):
        sender.setTransport(bundled)  # the answer bundles both on one transport
    started = time.monotonic()
    sends = [asyncio.ensure_future(video.transport._send_rtp(_rtp(1000))) for _ in range(4)]  # one frame
    await asyncio.sleep(0)
    await asyncio.gather(*sends, audio.transport._send_rtp(_rtp(2000, 200)))
    assert not first.sent and len(bundled.sent) == 5
    by_ssrc = [int.from_bytes(data[8:12], "big") for _, data in bundled.sent]
    assert by_ssrc[:2] == [1000, 2000]  # audio did not wait behind the video
    assert bundled.sent[-1][0] - started >= 0.25  # three more video packets at 0.1 s each, less the burst
    token = aiortc_hooks._RETRANSMITTING.set(True)  # a resend from the history: charged, never held
    try:
        before = time.monotonic()
        await video.transport._send_rtp(_rtp(1001))
        assert time.monotonic() - before < 0.05
    finally:
        aiortc_hooks._RETRANSMITTING.reset(token)


def _video_packets(frames: int, per_frame: int = 3, first_seq: int = 100):
    """RTP packets of `frames` VP8-like frames, `per_frame` packets each, in order."""
    seq = first_seq
    for frame in range(frames):
        for _ in range(per_frame):
            packet = RtpPacket(payload_type=96, sequence_number=seq, timestamp=3000 * frame, payload=b"v" * 100)
            packet._data = packet.payload  # what aiortc's receiver sets: the depayloaded bytes
            yield packet
            seq += 1


def test_a_video_hole_nobody_repaired_is_skipped_with_a_keyframe_asked_for():
    now = [0.0]
    stock, skipping = JitterBuffer(capacity=512, is_video=True), aiortc_hooks.HoleSkipping(1.0, lambda: now[0])
    out = {"stock": 0, "skipping": 0}
    plis = 0
    for packet in _video_packets(60):
        now[0] += 1 / 90  # 90 packets a second
        if packet.sequence_number == 130:  # lost for good: its repair never comes
            continue
        out["stock"] += stock.add(packet)[1] is not None
        pli, frame = skipping.add(packet)
        plis += pli
        out["skipping"] += frame is not None
    assert out["stock"] == 9  # the ten frames before the hole, less the one it waits on behind them
    assert skipping.skipped == 1 and plis == 1
    # after the wait (90 packets a second, 1 s) it goes on: all but the frames lost in the hole's second
    assert out["skipping"] >= out["stock"] + 5


def test_a_video_hole_repaired_in_time_is_not_skipped():
    now = [0.0]
    buffer = aiortc_hooks.HoleSkipping(1.0, lambda: now[0])
    held, frames = None, 0
    for packet in _video_packets(30):
        now[0] += 1 / 90
        if packet.sequence_number == 130:
            held = packet  # arrives late, within the wait (a repair)
            continue
        frames += buffer.add(packet)[1] is not None
        if held is not None and packet.sequence_number == 140:
            frames += buffer.add(held)[1] is not None
    assert buffer.skipped == 0
    assert frames == 29  # every frame but the last, which waits for its successor


def test_hook_check_names_a_changed_jitter_buffer_or_retransmit(monkeypatch):
    real = inspect.getsource

    def changed(obj):
        text = real(obj)
        if obj is RTCRtpReceiver._handle_rtp_packet:
            return text.replace("pli_flag, encoded_frame = self.__jitter_buffer.add(packet)", "x = 1")
        return text

    monkeypatch.setattr(aiortc_hooks.inspect, "getsource", changed)
    with pytest.raises(aiortc_hooks.AiortcChanged, match="jitter buffer"):
        aiortc_hooks.check_aiortc()


# -- with real aiortc peers through the media plane -----------------------------------------------------


def _rembs_received(sender) -> list[int]:
    """REMB values reaching a client's sender (its _handle_rtcp_packet, looked up on the instance)."""
    seen: list[int] = []
    original = sender._handle_rtcp_packet

    async def handle(packet):
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            seen.append(unpack_remb_fci(packet.fci)[0])
        await original(packet)

    sender._handle_rtcp_packet = handle
    return seen


def _quiet_estimator(peer) -> None:
    """The peer's own estimator would say what loopback allows: only what the test sends counts."""
    receiver = next(t.receiver for t in peer.pc.getTransceivers() if t.kind == "video")
    receiver._RTCRtpReceiver__remote_bitrate_estimator = None


async def _send_remb(peer, bitrate: int) -> None:
    """The peer's video receiver announces `bitrate` for what it receives, as its estimator would."""
    receiver = next(t.receiver for t in peer.pc.getTransceivers() if t.kind == "video")
    ssrcs = aiortc_hooks.media_ssrcs(receiver)
    assert ssrcs
    await receiver._send_rtcp(RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=receiver._RTCRtpReceiver__rtcp_ssrc,
                                             media_ssrc=0, fci=pack_remb_fci(bitrate, ssrcs)))


async def _send_loss_report(peer, fraction: float, packets: int = 100, kind: str = "video") -> None:
    """The peer's `kind` receiver reports losing `fraction` of the next `packets` sent to it (a receiver
    report's cumulative counts run on from the peer's previous one)."""
    receiver = next(t.receiver for t in peer.pc.getTransceivers() if t.kind == kind)
    highest, lost = getattr(peer, f"_reported_{kind}", (1000, 0))
    highest, lost = highest + packets, lost + round(fraction * packets)
    setattr(peer, f"_reported_{kind}", (highest, lost))
    report = RtcpReceiverInfo(ssrc=aiortc_hooks.media_ssrcs(receiver)[0], fraction_lost=int(fraction * 256),
                              packets_lost=lost, highest_sequence=highest, jitter=0, lsr=0, dlsr=0)
    await receiver._send_rtcp(RtcpRrPacket(ssrc=receiver._RTCRtpReceiver__rtcp_ssrc, reports=[report]))


async def test_the_sender_upstream_is_told_the_lowest_downstream_estimate(plane, peers):  # noqa: F811
    caller, specialist, leg_c, leg_s, _ = await bridged(plane, peers)
    caller_video = next(t.sender for t in caller.pc.getTransceivers() if t.kind == "video")
    heard = _rembs_received(caller_video)
    _quiet_estimator(specialist)
    await specialist.wait_frames("video", 5)
    out = leg_s.outputs()[("video", 0)]
    for _ in range(40):  # the specialist's link is weak: 200 kbit/s, said again as a receiver would
        await _send_loss_report(specialist, 0.3)  # ... and congested: an estimate alone is not believed
        await _send_remb(specialist, 200_000)
        if heard and heard[-1] <= 200_000:
            break
        await asyncio.sleep(0.1)
    assert out.estimate() == 200_000
    assert leg_c.inputs()[("video", 0)].downstream_estimate() == 200_000
    assert heard and heard[-1] <= 200_000  # the caller's encoder is told (aiortc sets its target from it)


async def test_a_congested_receivers_estimate_counts_no_lower_than_what_got_through(plane, peers):  # noqa: F811
    _, specialist, _, leg_s, _ = await bridged(plane, peers)
    _quiet_estimator(specialist)
    await specialist.wait_frames("video", 5)
    out = leg_s.outputs()[("video", 0)]
    for _ in range(20):  # congested (30 % lost), yet far more gets through than its estimator says
        await _send_loss_report(specialist, 0.3)
        await asyncio.sleep(0.06)
        await _send_remb(specialist, 1_000)
        await asyncio.sleep(0.06)
        if out.congested(time.monotonic()) and (out.estimate() or 0) > 1_000:
            break
    assert out.congested(time.monotonic())
    assert out.estimate() > 1_000  # what the reports say got through, not the REMB


async def test_lost_audio_holds_the_legs_video_to_its_receivers_estimate(plane, peers):  # noqa: F811
    _, specialist, _, leg_s, _ = await bridged(plane, peers)
    _quiet_estimator(specialist)
    await specialist.wait_frames("video", 5)
    out = leg_s.outputs()[("video", 0)]
    video_sender = out.transceiver.sender
    paced = getattr(video_sender.transport, aiortc_hooks._PACED_ATTR)
    assert paced[video_sender._ssrc][1] is True  # its video waits on the leg's pacer...
    audio_sender = leg_s.outputs()[("audio", 0)].transceiver.sender
    assert paced[audio_sender._ssrc][1] is False  # ... its audio is only charged
    for _ in range(20):  # the audio is lost, the video repaired: the link is full all the same
        await _send_loss_report(specialist, 0.3, kind="audio")
        await _send_remb(specialist, 400_000)
        await asyncio.sleep(0.1)
        if out.congested(time.monotonic()) and out.pacer.rate_bps == out.estimate():
            break
    assert out.congested(time.monotonic())
    assert out.pacer.rate_bps == out.estimate()  # everything the leg sends, held to what the receiver takes


async def test_a_weak_receiver_pauses_video_not_audio_and_the_leg_says_so(plane, peers):  # noqa: F811
    caller, specialist, leg_c, leg_s, _ = await bridged(plane, peers)
    changes = []
    leg_s.on_video(lambda slot, state, source: changes.append((slot, state, source)))
    _quiet_estimator(specialist)
    await specialist.wait_frames("video", 5)
    out = leg_s.outputs()[("video", 0)]
    deadline = asyncio.get_running_loop().time() + 10
    while not changes and asyncio.get_running_loop().time() < deadline:
        await _send_loss_report(specialist, 0.3)
        await _send_remb(specialist, 2_000)  # far below even the cheap bar
        await asyncio.sleep(0.2)
    assert changes == [(("video", 0), "paused", leg_c.inputs()[("video", 0)])]
    audio_before, paused_before = specialist.received("audio")[0], out.paused_frames
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while (specialist.received("audio")[0] <= audio_before + 10 or out.paused_frames <= paused_before) \
            and loop.time() < deadline:
        await asyncio.sleep(0.1)
    assert specialist.received("audio")[0] > audio_before + 10  # audio goes on
    assert out.paused_frames > paused_before  # video is held back


async def test_a_receivers_low_estimate_without_loss_does_not_hold_the_sender_back(plane, peers):  # noqa: F811
    _, specialist, _, leg_s, _ = await bridged(plane, peers)
    _quiet_estimator(specialist)
    await specialist.wait_frames("video", 5)
    out = leg_s.outputs()[("video", 0)]
    for _ in range(10):  # what aiortc's estimator says at the start, or on a loaded machine
        await _send_remb(specialist, 2_000)
        await asyncio.sleep(0.2)
    assert out.estimate() is not None and out.estimate() > 2_000  # at least 1.5 x what gets through
    assert out.video_gate.state == adaptation.ON and out.video_gate.pauses == 0


async def test_adaptation_off_leaves_aiortc_as_it_is(tmp_path, peers):  # noqa: F811
    from test_media_relay import make_plane

    off = await make_plane(tmp_path, adaptation=False)
    try:
        _, _, leg_c, leg_s, _ = await bridged(off, peers)
        await wait_state(leg_s, "connected")
        tap = leg_c.inputs()[("audio", 0)]
        assert isinstance(tap.receiver._RTCRtpReceiver__jitter_buffer, JitterBuffer)
        assert leg_s.outputs()[("video", 0)].video_gate is None
        assert "_retransmit" not in vars(leg_s.outputs()[("video", 0)].transceiver.sender)
    finally:
        await off.close()
