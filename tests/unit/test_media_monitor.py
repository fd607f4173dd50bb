"""The supervisor monitor in the media plane: raw aiortc peers <-> server legs on 127.0.0.1."""

from __future__ import annotations

import asyncio

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription

from signaling.client import EncodedClip, EncodedTrack
from signaling.media import Leg, MediaError, MediaPlane, aiortc_hooks, rtc_configuration, use_media_addresses


class Peer:
    """A client's side of a leg: plays `clip` (or offers `recvonly` m-lines), counts frames per m-line."""

    def __init__(self, clip: EncodedClip | None = None, recvonly: list[str] | None = None) -> None:
        self.pc = RTCPeerConnection(rtc_configuration([]))
        kinds = recvonly or ["audio", "video"]
        for kind in kinds:
            if clip is not None:
                self.pc.addTransceiver(EncodedTrack(clip, kind), direction="sendrecv")
            else:
                self.pc.addTransceiver(kind, direction="recvonly")
        self.frames = [0] * len(kinds)
        self.sizes: list[set[tuple[int, int]]] = [set() for _ in kinds]
        self.pc.on("track", self._tap)

    def _tap(self, track) -> None:
        transceivers = self.pc.getTransceivers()
        index = next(i for i, t in enumerate(transceivers) if t.receiver.track is track)

        def counted(mime, packet) -> None:
            self.frames[index] += 1
            size = aiortc_hooks.vp8_dimensions(bytes(packet))
            if size is not None:
                self.sizes[index].add(size)

        aiortc_hooks.tap_receiver(transceivers[index].receiver, counted)

    async def offer_to(self, leg: Leg) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer = await leg.handle_offer(self.pc.localDescription.sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    async def more_frames(self, n: int = 5, timeout: float = 10) -> list[int]:
        """Wait until every m-line got `n` more frames than now."""
        start = list(self.frames)

        async def enough() -> None:
            while any(now < then + n for now, then in zip(self.frames, start)):
                await asyncio.sleep(0.05)

        await asyncio.wait_for(enough(), timeout)
        return list(self.frames)


@pytest.fixture(scope="module")
def clips():
    return {size: EncodedClip(width=size[0], height=size[1], bitrate=100_000, seconds=1, gop=15)
            for size in ((160, 120), (320, 240))}


@pytest.fixture
async def plane():
    plane = MediaPlane(ice_servers=[], media_addresses=["127.0.0.1"])
    yield plane
    await plane.close()
    use_media_addresses(None)


async def connected(*legs: Leg) -> None:
    async def reached() -> None:
        while any(leg.state != "connected" for leg in legs):
            await asyncio.sleep(0.02)

    await asyncio.wait_for(reached(), 10)


async def test_monitor_fans_out_both_parties_and_follows_the_session(plane, clips):
    caller, specialist = Peer(clips[(160, 120)]), Peer(clips[(320, 240)])
    admin = Peer(recvonly=["audio", "video", "audio", "video"])
    peers = [caller, specialist, admin]
    leg_c, leg_s, leg_a = [await plane.open_leg(o) for o in ("caller", "specialist", "admin")]
    try:
        for peer, leg in zip(peers, (leg_c, leg_s, leg_a)):
            await peer.offer_to(leg)
        await connected(leg_c, leg_s, leg_a)

        monitor = plane.monitor("s1", leg_a)  # before the bridge: it waits for one
        assert monitor.links() == {}
        bridge = plane.bridge(leg_c, leg_s, session_id="s1")
        await admin.more_frames()
        assert admin.sizes[1] == {(160, 120)} and admin.sizes[3] == {(320, 240)}
        await caller.more_frames()
        await specialist.more_frames()
        assert caller.sizes[1] == {(320, 240)} and specialist.sizes[1] == {(160, 120)}
        assert not any(tap.packet_sinks for tap in leg_a.inputs().values())  # recvonly: nothing to forward

        # Hold (the bridge closes): the monitor still hears both parties.
        await bridge.close()
        await admin.more_frames()

        # The caller's leg is replaced: the monitor picks the new one up at the next bridge.
        await leg_c.close()
        assert monitor.sources == (None, leg_s)
        caller2 = Peer(clips[(160, 120)])
        peers.append(caller2)
        leg_c2 = await plane.open_leg("caller")
        await caller2.offer_to(leg_c2)
        await connected(leg_c2)
        plane.bridge(leg_c2, leg_s, session_id="s1")
        await admin.more_frames()
        assert monitor.sources == (leg_c2, leg_s)

        # The session ends: the monitor is detached and the admin's leg falls silent.
        plane.end_session("s1")
        assert monitor.closed and plane.monitors == [] and plane.monitor_of(leg_a) is None
        await asyncio.sleep(0.3)
        frozen = list(admin.frames)
        await asyncio.sleep(0.5)
        assert admin.frames == frozen

        # A closed leg cannot monitor.
        await leg_a.close()
        with pytest.raises(MediaError):
            plane.monitor("s1", leg_a)
    finally:
        for peer in peers:
            await peer.pc.close()
