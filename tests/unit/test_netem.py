"""The benchmarks' network impairment (bench/netem.py): loss, the capped bottleneck, and the wrapping.

The link is driven on a clock the test sets, so nothing here depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from netem import Impairment, Link, packet_kind  # noqa: E402  (bench/netem.py)

RTP = bytes([0x80, 96]) + bytes(1198)  # a 1,200-byte RTP packet, payload type 96


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_random_loss_drops_about_the_share_asked_for():
    link = Link(loss=0.05, seed=1, clock=Clock())
    outcomes = [link.schedule(RTP) for _ in range(20000)]
    lost = outcomes.count(None) / len(outcomes)
    assert 0.04 < lost < 0.06
    assert link.counters.lost["rtp:96"] == outcomes.count(None)
    assert link.counters.delivered["rtp:96"] + link.counters.lost["rtp:96"] == 20000


def test_a_capped_link_delivers_its_rate_and_drops_what_overflows_its_queue():
    clock = Clock()
    link = Link(rate_kbps=300, queue_ms=150, clock=clock)
    # Offer 1,200 kbps for 10 s: one 1,200-byte packet every 8 ms.
    leaving = []
    for i in range(1250):
        clock.now = i * 0.008
        at = link.schedule(RTP)
        if at is not None:
            leaving.append(at)
    delivered_kbps = len(leaving) * len(RTP) * 8 / 1000 / leaving[-1]
    assert 290 < delivered_kbps <= 300.5  # the bottleneck's rate, never more
    assert link.counters.dropped["rtp:96"] > 800  # about three in four did not fit
    assert link.counters.offered_kbps(10.0) == pytest.approx(1200, rel=0.01)
    assert link.counters.max_queue_ms <= 150
    assert leaving == sorted(leaving)  # a queue keeps the order


def test_under_the_cap_nothing_is_dropped_and_delay_adds_up():
    clock = Clock()
    link = Link(rate_kbps=1000, queue_ms=100, delay_ms=150, clock=clock)
    for i in range(100):
        clock.now = i * 0.02  # 480 kbps
        at = link.schedule(RTP)
        assert at == pytest.approx(clock.now + 1200 * 8 / 1e6 + 0.150)
    assert not link.counters.dropped and not link.counters.lost


def test_lifting_the_cap_drains_the_queue_in_order_then_passes_at_once():
    clock = Clock()
    link = Link(rate_kbps=100, queue_ms=200, clock=clock)
    queued = [link.schedule(RTP) for _ in range(3)]  # 96 ms each on the wire
    assert queued[-1] == pytest.approx(3 * 0.096)
    link.set(rate_kbps=None)
    assert link.schedule(RTP) == pytest.approx(queued[-1], abs=1e-5)  # behind what is still queued, not ahead of it
    times = [link.schedule(RTP) for _ in range(3)]
    assert times == sorted(set(times))  # never two at one moment: asyncio runs those in no set order
    assert not link.passing
    clock.now = 1.0
    assert link.passing


def test_a_link_refuses_a_setting_it_does_not_have():
    with pytest.raises(TypeError):
        Link().set(bandwidth=1)


def test_packet_kinds_follow_rfc_7983():
    assert packet_kind(bytes([22, 0xFE, 0xFD])) == "dtls"
    assert packet_kind(bytes([0x80, 0xC8])) == "rtcp"  # sender report (200)
    assert packet_kind(bytes([0x81, 0xCD])) == "rtcp"  # NACK (205)
    assert packet_kind(bytes([0x80, 0x80 | 97])) == "rtp:97"  # marker bit set
    assert packet_kind(b"") == "other"


class Endpoint:
    """Stands in for an aioice Connection: the two methods the impairment wraps."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.received: list[bytes] = []

    async def sendto(self, data: bytes, component: int) -> None:
        self.sent.append(data)

    def data_received(self, data: bytes, component: int) -> None:
        self.received.append(data)


async def test_an_impairment_wraps_one_connection_per_direction_and_comes_off():
    endpoint = Endpoint()
    imp = Impairment(endpoint, seed=3)
    imp.inbound.set(loss=1.0)
    for _ in range(10):
        await endpoint.sendto(RTP, 1)
        endpoint.data_received(RTP, 1)
    assert len(endpoint.sent) == 10 and endpoint.received == []
    imp.outbound.set(delay_ms=20)
    await endpoint.sendto(RTP, 1)
    assert len(endpoint.sent) == 10  # still on its way
    for _ in range(100):
        await asyncio.sleep(0.01)
        if len(endpoint.sent) == 11:
            break
    assert len(endpoint.sent) == 11
    assert imp.outbound.counters.offered["rtp:96"] == 11 and imp.inbound.counters.lost["rtp:96"] == 10
    with pytest.raises(RuntimeError):
        Impairment(endpoint)
    imp.remove()
    endpoint.data_received(RTP, 1)
    assert len(endpoint.received) == 1
