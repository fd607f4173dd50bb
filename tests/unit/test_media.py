"""The media plane in-process: raw aiortc client peers <-> server legs on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from signaling.client import BarTrack, ToneTrack
from signaling.media import Leg, MediaError, MediaPlane, parse_candidate, rtc_configuration, use_media_addresses

FRAMES = 10


class Peer:
    """A client's side of a leg: sends a tone and a moving bar, counts what it gets."""

    def __init__(self, screen: bool = False) -> None:
        self.pc = RTCPeerConnection(rtc_configuration([]))
        self.tracks: list[MediaStreamTrack] = [ToneTrack(), BarTrack(160, 120)]
        if screen:
            self.tracks.append(BarTrack(160, 120))
        for track in self.tracks:
            self.pc.addTransceiver(track, direction="sendrecv")
        self.counts: dict[str, int] = {}  # by remote track id
        self.kinds: dict[str, str] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.pc.on("track", self._consume)

    def _consume(self, track: MediaStreamTrack) -> None:
        self.counts[track.id] = 0
        self.kinds[track.id] = track.kind

        async def run() -> None:
            with contextlib.suppress(MediaStreamError):
                while True:
                    await track.recv()
                    self.counts[track.id] += 1

        self._tasks.append(asyncio.ensure_future(run()))

    def received(self, kind: str) -> list[int]:
        """Frames received per remote track of `kind`, in arrival order of the tracks."""
        return [n for tid, n in self.counts.items() if self.kinds[tid] == kind]

    async def offer_to(self, leg: Leg) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer = await leg.handle_offer(self.pc.localDescription.sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    async def wait_frames(self, kind: str, n: int = FRAMES, timeout: float = 15, tracks: int = 1) -> None:
        async def enough() -> None:
            while sum(1 for c in self.received(kind) if c >= n) < tracks:
                await asyncio.sleep(0.05)

        await asyncio.wait_for(enough(), timeout)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.pc.close()


async def wait_state(leg: Leg, state: str, timeout: float = 10) -> None:
    async def reached() -> None:
        while leg.state != state:
            await asyncio.sleep(0.02)

    await asyncio.wait_for(reached(), timeout)


@pytest.fixture
async def plane():
    plane = MediaPlane(ice_servers=[], media_addresses=["127.0.0.1"])
    yield plane
    await plane.close()
    use_media_addresses(None)


@pytest.fixture
async def peers():
    made: list[Peer] = []

    def make(screen: bool = False) -> Peer:
        made.append(Peer(screen))
        return made[-1]

    yield make
    for peer in made:
        await peer.close()


async def test_bridge_relays_both_ways_and_reports_media_once(plane, peers):
    caller, specialist = peers(), peers()
    leg_c, leg_s = await plane.open_leg("caller"), await plane.open_leg("specialist")
    await caller.offer_to(leg_c)
    await specialist.offer_to(leg_s)
    await wait_state(leg_c, "connected")
    await wait_state(leg_s, "connected")
    assert {k: len(v) for k, v in leg_c.received_tracks.items()} == {"audio": 1, "video": 1}

    fired: list[int] = []
    bridge = plane.bridge(leg_c, leg_s, on_media=lambda: fired.append(1))
    assert plane.stats() == {"legs": 2, "bridges": 1}
    for peer in (caller, specialist):
        await peer.wait_frames("video")
        await peer.wait_frames("audio")
    assert fired == [1]
    assert bridge.media_flowing

    # Unbridged, the senders fall silent again.
    await bridge.close()
    assert plane.stats() == {"legs": 2, "bridges": 0}
    await asyncio.sleep(0.3)  # let frames already handed to the encoder go out
    before = await leg_c.packets_sent() + await leg_s.packets_sent()
    await asyncio.sleep(0.5)
    assert await leg_c.packets_sent() + await leg_s.packets_sent() == before
    assert fired == [1]


async def test_bridge_made_before_the_legs_connect(plane, peers):
    caller, specialist = peers(), peers()
    leg_c, leg_s = await plane.open_leg("caller"), await plane.open_leg("specialist")
    fired: list[int] = []
    plane.bridge(leg_c, leg_s, on_media=lambda: fired.append(1))
    await specialist.offer_to(leg_s)
    await asyncio.sleep(0.3)  # the specialist is up long before the caller
    await caller.offer_to(leg_c)
    for peer in (caller, specialist):
        await peer.wait_frames("video")
        await peer.wait_frames("audio")
    assert fired == [1]


async def test_screen_share_is_bridged_on_its_own_slot(plane, peers):
    caller, specialist = peers(screen=True), peers(screen=True)
    leg_c, leg_s = await plane.open_leg("caller"), await plane.open_leg("specialist")
    plane.bridge(leg_c, leg_s)
    await caller.offer_to(leg_c)
    await specialist.offer_to(leg_s)
    assert len(leg_c.received_tracks["video"]) == 2
    for peer in (caller, specialist):
        await peer.wait_frames("video", tracks=2)


async def test_switching_bridges_feeds_the_new_party(plane, peers):
    specialist, first, second = peers(), peers(), peers()
    leg_s, leg_1, leg_2 = [await plane.open_leg(o) for o in ("specialist", "first", "second")]
    for peer, leg in ((specialist, leg_s), (first, leg_1), (second, leg_2)):
        await peer.offer_to(leg)
    plane.bridge(leg_s, leg_1)
    await first.wait_frames("video")
    seen = specialist.received("video")[0]
    plane.bridge(leg_s, leg_2)  # answering the next call is only a switch
    assert plane.stats()["bridges"] == 1
    await second.wait_frames("video")
    await specialist.wait_frames("video", n=seen + FRAMES)  # same sender, new source, still decodes


async def test_garbage_sdp_is_bad_sdp(plane, peers):
    leg = await plane.open_leg("caller")
    for bad in ("garbage", "", None, 42, "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"):
        with pytest.raises(MediaError) as info:
            await leg.handle_offer(bad)  # type: ignore[arg-type]
        assert info.value.code == "bad_sdp"
    # The leg is still usable afterwards.
    peer = peers()
    await peer.offer_to(leg)
    await wait_state(leg, "connected")


async def test_candidates(plane, peers):
    local = {"candidate": "candidate:1 1 udp 2122260223 0f1e.local 54321 typ host", "sdpMid": "0", "sdpMLineIndex": 0}
    assert parse_candidate(local) is None
    parsed = parse_candidate({"candidate": "candidate:1 1 udp 2122260223 10.1.2.3 54321 typ host", "sdpMid": "0", "sdpMLineIndex": 0})
    assert parsed is not None and (parsed.ip, parsed.port, parsed.sdpMid) == ("10.1.2.3", 54321, "0")
    for bad in ({"candidate": "candidate:nonsense"}, {"candidate": "candidate:1 1 udp x 1.2.3.4 5 typ host", "sdpMid": "0"}, "x"):
        with pytest.raises(ValueError):
            parse_candidate(bad)  # type: ignore[arg-type]

    leg = await plane.open_leg("caller")
    peer = peers()
    await peer.offer_to(leg)
    await leg.add_candidate(local)  # dropped, not resolved by multicast
    transport = leg._pc.getTransceivers()[0].receiver.transport.transport
    assert all(not c.ip.endswith(".local") for c in transport.getRemoteCandidates())
    with pytest.raises(MediaError) as info:
        await leg.add_candidate({"candidate": "candidate:garbage", "sdpMid": "0"})
    assert info.value.code == "bad_candidate"
    await leg.add_candidate({"candidate": "", "sdpMid": "0", "sdpMLineIndex": 0})  # end of candidates
    await wait_state(leg, "connected")


async def test_idle_leg_sends_nothing(plane, peers):
    leg = await plane.open_leg("specialist")
    peer = peers()
    await peer.offer_to(leg)
    await wait_state(leg, "connected")
    await asyncio.sleep(1.0)
    assert await leg.packets_sent() == 0
    assert sum(peer.counts.values()) == 0
    assert sum(t.frames for t in leg.inputs().values()) > 0  # it is receiving, and draining


async def test_close_leaves_no_tasks(peers):
    await asyncio.sleep(0)
    before = asyncio.all_tasks()
    plane = MediaPlane(ice_servers=[], media_addresses=["127.0.0.1"])
    a, b = Peer(), Peer()
    leg_a, leg_b = await plane.open_leg("a"), await plane.open_leg("b")
    plane.bridge(leg_a, leg_b)
    await a.offer_to(leg_a)
    await b.offer_to(leg_b)
    await a.wait_frames("video")
    await b.wait_frames("video")
    await a.close()
    await b.close()
    await plane.close()
    use_media_addresses(None)
    assert plane.stats() == {"legs": 0, "bridges": 0}
    for _ in range(50):
        left = asyncio.all_tasks() - before
        if not left:
            break
        await asyncio.sleep(0.05)
    assert not left, left


async def test_renegotiation_adds_the_screen_share(plane, peers):
    caller, specialist = peers(), peers()
    leg_c, leg_s = await plane.open_leg("caller"), await plane.open_leg("specialist")
    states: list[str] = []
    leg_c.on_state(states.append)
    plane.bridge(leg_c, leg_s)
    await caller.offer_to(leg_c)
    await specialist.offer_to(leg_s)
    await caller.wait_frames("video")
    assert "connected" in states
    for peer in (caller, specialist):  # both start sharing their screen
        peer.pc.addTransceiver(BarTrack(160, 120), direction="sendrecv")
    await caller.offer_to(leg_c)
    await specialist.offer_to(leg_s)
    assert len(leg_c.received_tracks["video"]) == 2
    for peer in (caller, specialist):
        await peer.wait_frames("video", tracks=2)
