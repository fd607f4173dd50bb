"""Calls of several parties in the media plane: raw aiortc peers <-> server legs on 127.0.0.1.

Every party sends a bar tinted its own colour and a tone at its own pitch; each
receiving peer decodes what it gets per m-line, so the tests tell who reaches
whom by colour and pitch, on the mids the call reports.
"""

from __future__ import annotations

import asyncio
import contextlib

import av
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from signaling.client import BarTrack, Reception, ToneTrack
from signaling.media import Leg, MediaError, MediaPlane, rtc_configuration, use_media_addresses

COLOUR = {"caller": "red", "specialist:1": "green", "specialist:2": "blue", "supervisor:9": "yellow",
          "specialist:3": "yellow"}
PITCH = {"caller": 400.0, "specialist:1": 800.0, "specialist:2": 1200.0, "supervisor:9": 1600.0,
         "specialist:3": 2000.0}


class Peer:
    """One party's browser: sends its tone and tinted bar (or only receives), decodes what arrives per mid."""

    def __init__(self, party: str, lines: list[tuple[str, str]] | None = None) -> None:
        self.party = party
        self.pc = RTCPeerConnection(rtc_configuration([]))
        self.reception = Reception(self.pc)
        self._tasks: list[asyncio.Task[None]] = []
        for kind, direction in lines or [("audio", "sendrecv"), ("video", "sendrecv")]:
            if direction == "recvonly":
                self.pc.addTransceiver(kind, direction="recvonly")
            else:
                track = ToneTrack(PITCH[party]) if kind == "audio" else BarTrack(160, 120, colour=COLOUR[party])
                self.pc.addTransceiver(track, direction=direction)
        self.pc.on("track", self._consume)
        self.leg: Leg | None = None
        self.renegotiations: list[dict[str, int]] = []
        self._negotiating = asyncio.Lock()  # one offer at a time, m-lines added inside it (as leg.js does)

    def _consume(self, track) -> None:
        async def run() -> None:
            with contextlib.suppress(MediaStreamError):
                while True:
                    self.reception.add(track, await track.recv())

        self._tasks.append(asyncio.ensure_future(run()))

    async def offer(self, *added: tuple[str, object]) -> None:
        """Offer again, first adding `added` m-lines: (direction, kind or track)."""
        assert self.leg is not None
        async with self._negotiating:
            for direction, what in added:
                self.pc.addTransceiver(what, direction=direction)
            await self._offer()

    async def _offer(self) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer = await self.leg.handle_offer(self.pc.localDescription.sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    async def renegotiate(self, counts: dict[str, int]) -> None:
        """What shared_web/leg.js does on rtc:renegotiate."""
        self.renegotiations.append(counts)
        await self.offer(*[("recvonly", kind) for kind in ["audio"] * counts["audio"] + ["video"] * counts["video"]])

    def seen(self, mid: str) -> dict:
        return self.reception.by_mid.get(mid, {"frames": 0, "colour": None, "pitch": None})

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.pc.close()


class Room:
    """The test's engine: parties, their peers, a call answering rtc:renegotiate like the server would."""

    def __init__(self, plane: MediaPlane, session_id: str = "s1", record: bool = False) -> None:
        self.plane = plane
        self.peers: dict[str, Peer] = {}
        self.media: list[str] = []
        self.layouts: list[str] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.call = plane.call(session_id, record=record, on_media=self.media.append,
                               on_renegotiate=self._renegotiate, on_layout=self.layouts.append)

    def _renegotiate(self, party: str, counts: dict[str, int]) -> None:
        task = asyncio.ensure_future(self.peers[party].renegotiate(counts))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def add(self, party: str, lines: list[tuple[str, str]] | None = None) -> Peer:
        peer = self.peers[party] = Peer(party, lines)
        peer.leg = await self.plane.open_leg(party)
        await peer.offer()
        return peer

    def set(self, receives: dict[str, set[str]], audio_only: frozenset[str] = frozenset()) -> None:
        self.call.set({p: peer.leg for p, peer in self.peers.items()}, receives, audio_only=audio_only)

    def everyone(self, *parties: str) -> dict[str, set[str]]:
        return {p: set(parties) - {p} for p in parties}

    async def close(self) -> None:
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for peer in self.peers.values():
            await peer.close()


@pytest.fixture
async def plane(tmp_path):
    plane = MediaPlane(ice_servers=[], media_addresses=["127.0.0.1"], recordings_dir=tmp_path)
    yield plane
    await plane.close()
    use_media_addresses(None)


@pytest.fixture
async def room(plane):
    made: list[Room] = []

    def make(**kwargs) -> Room:
        made.append(Room(plane, **kwargs))
        return made[-1]

    yield make
    for r in made:
        await r.close()


async def until(check, timeout: float = 15) -> None:
    async def poll() -> None:
        while not check():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout)


def sees(room: Room, receiver: str, sender: str, kinds=("video", "audio")) -> bool:
    """The receiver decodes the sender's colour and pitch on the mids the call says carry it."""
    mids = room.call.mids(receiver).get(sender, {})
    peer = room.peers[receiver]
    ok = True
    if "video" in kinds:
        seen = peer.seen(mids.get("video_mid", "-"))
        ok = ok and seen["frames"] >= 5 and seen["colour"] == COLOUR[sender]
    if "audio" in kinds:
        seen = peer.seen(mids.get("audio_mid", "-"))
        ok = ok and seen["frames"] >= 5 and seen["pitch"] == PITCH[sender]
    return ok


async def silent(peer: Peer, seconds: float = 1.0, mids: set[str] | None = None) -> bool:
    """No frame arrives on `mids` (all of the peer's) for a while (after what was queued drains)."""
    await asyncio.sleep(0.3)
    before = peer.reception.frames()
    await asyncio.sleep(seconds)
    after = peer.reception.frames()
    return all(after[m] == before.get(m, 0) for m in after if mids is None or m in mids)


def no_decoding(plane: MediaPlane) -> None:
    for leg in plane._legs.values():
        for tap in leg.inputs().values():
            assert tap.decoded == 0 and tap.splitter.decoded == 0 and not tap.splitter.decode


async def test_three_parties_each_decode_both_others(plane, room):
    r = room()
    await r.add("caller")
    await r.add("specialist:1", [("audio", "sendrecv"), ("video", "sendrecv"), ("video", "recvonly")])
    await r.add("specialist:2")
    r.set(r.everyone("caller", "specialist:1", "specialist:2"))
    pairs = [(a, b) for a in r.peers for b in r.peers if a != b]
    await until(lambda: all(sees(r, a, b) for a, b in pairs))

    # The first sender (the caller, who joined first) is on each specialist's own m-lines; the others
    # on m-lines added by renegotiation: one audio and one video each, asked once.
    assert r.call.mids("specialist:1")["caller"] == {"audio_mid": "0", "video_mid": "1"}
    assert r.call.mids("caller")["specialist:1"] == {"audio_mid": "0", "video_mid": "1"}
    assert r.peers["caller"].renegotiations == [{"audio": 1, "video": 1}]
    # The console's 3rd m-line is kept for a screen: the back office goes on added ones.
    assert r.peers["specialist:1"].renegotiations == [{"audio": 1, "video": 1}]
    assert "2" not in r.call.mids("specialist:1")["specialist:2"].values()
    assert r.peers["specialist:2"].renegotiations == [{"audio": 1, "video": 1}]
    assert set(r.media) == set(r.peers)
    assert set(r.layouts) >= set(r.peers)
    no_decoding(plane)
    with pytest.raises(MediaError):  # a party's leg cannot be bridged behind the call's back
        plane.bridge(r.peers["caller"].leg, r.peers["specialist:1"].leg)


async def test_consult_holds_the_caller_then_the_conference_is_a_switch(plane, room):
    r = room()
    for party in ("caller", "specialist:1", "specialist:2"):
        await r.add(party)
    consult = {"caller": set(), "specialist:1": {"specialist:2"}, "specialist:2": {"specialist:1"}}
    r.set(consult)
    await until(lambda: sees(r, "specialist:1", "specialist:2") and sees(r, "specialist:2", "specialist:1"))
    assert r.call.mids("caller") == {}
    assert await silent(r.peers["caller"])  # the caller receives nothing from either specialist
    # The caller keeps the specialists' own m-lines (silent): they see each other on added ones.
    assert r.call.links().keys() == {"specialist:1 audio1", "specialist:1 video1",
                                     "specialist:2 audio1", "specialist:2 video1"}
    # The caller's leg already got m-lines for the back office during the consult.
    await until(lambda: len(r.peers["caller"].renegotiations) == 1)
    asked = len(r.peers["caller"].renegotiations)

    r.set(r.everyone("caller", "specialist:1", "specialist:2"))  # the caller joins: nothing to negotiate
    await until(lambda: sees(r, "caller", "specialist:1") and sees(r, "caller", "specialist:2")
                and sees(r, "specialist:1", "caller") and sees(r, "specialist:2", "caller"))
    assert len(r.peers["caller"].renegotiations) == asked
    no_decoding(plane)


async def test_whisper_then_barge(plane, room):
    r = room()
    await r.add("caller")
    await r.add("specialist:1")
    await r.add("supervisor:9", [("audio", "sendrecv"), ("video", "sendrecv"),
                                 ("audio", "recvonly"), ("video", "recvonly")])
    parties = ("caller", "specialist:1")
    whisper = {**r.everyone(*parties), "supervisor:9": set(parties)}
    whisper["specialist:1"].add("supervisor:9")
    r.set(whisper, audio_only=frozenset({"supervisor:9"}))
    await until(lambda: sees(r, "specialist:1", "supervisor:9", kinds=("audio",))
                and sees(r, "caller", "specialist:1") and sees(r, "supervisor:9", "caller")
                and sees(r, "supervisor:9", "specialist:1"))
    # The supervisor's leg keeps the monitor layout: the caller on m-lines 1-2, the specialist on 3-4.
    assert r.call.mids("supervisor:9") == {"caller": {"audio_mid": "0", "video_mid": "1"},
                                           "specialist:1": {"audio_mid": "2", "video_mid": "3"}}
    assert set(r.call.mids("specialist:1")["supervisor:9"]) == {"audio_mid"}  # heard, not seen
    assert "supervisor:9" not in r.call.mids("caller")
    caller = r.peers["caller"]
    assert caller.renegotiations == []  # nothing for the caller's leg to carry
    assert all(seen["pitch"] != PITCH["supervisor:9"] for seen in caller.reception.by_mid.values())
    assert set(caller.reception.by_mid) == {"0", "1"}  # the caller's leg carries the specialist alone

    barge = {p: set(s) | ({"supervisor:9"} if p != "supervisor:9" else set()) for p, s in whisper.items()}
    r.set(barge)  # switched in the live call
    await until(lambda: sees(r, "caller", "supervisor:9") and sees(r, "specialist:1", "supervisor:9"))
    assert sees(r, "caller", "specialist:1")
    no_decoding(plane)


async def test_a_leaving_party_frees_its_m_lines_and_the_own_ones_are_passed_on(plane, room):
    r = room()
    for party in ("caller", "specialist:1", "specialist:2"):
        await r.add(party)
    r.set(r.everyone("caller", "specialist:1", "specialist:2"))
    await until(lambda: sees(r, "caller", "specialist:2") and sees(r, "specialist:2", "caller"))
    added = r.call.mids("caller")["specialist:2"]

    # The back office leaves; another specialist joins in its place on the caller's added m-lines.
    await r.peers.pop("specialist:2").close()
    r.set(r.everyone("caller", "specialist:1"))
    assert "specialist:2" not in r.call.mids("caller")
    await r.add("specialist:3")
    r.set(r.everyone("caller", "specialist:1", "specialist:3"))
    await until(lambda: sees(r, "caller", "specialist:3"))
    assert r.call.mids("caller")["specialist:3"] == added
    assert len(r.peers["caller"].renegotiations) == 1  # reused, not asked again

    # Hand-over: the owner leaves; the one who stays moves onto the caller's own m-lines.
    await r.peers.pop("specialist:1").close()
    r.set(r.everyone("caller", "specialist:3"))
    assert r.call.mids("caller")["specialist:3"] == {"audio_mid": "0", "video_mid": "1"}
    await until(lambda: sees(r, "caller", "specialist:3") and sees(r, "specialist:3", "caller"))


async def test_recording_one_file_per_party_for_the_whole_session(plane, room, tmp_path):
    # Two-party first, on a bridge, then the call takes the legs over and a back office joins.
    r = room(record=True)
    await r.add("caller")
    await r.add("specialist:1")
    bridge = plane.bridge(r.peers["caller"].leg, r.peers["specialist:1"].leg, session_id="s1", record=True)
    await until(lambda: all(rec.muxed > 30 for rec in plane.recorders("s1").values()))
    first = plane.recorders("s1")
    muxed_on_the_bridge = {party: rec.muxed for party, rec in first.items()}
    await r.add("specialist:2")
    r.set(r.everyone("caller", "specialist:1", "specialist:2"))
    assert bridge.closed  # taken over
    await until(lambda: sees(r, "caller", "specialist:2"))
    await until(lambda: len(plane.recorders("s1")) == 3 and plane.recorders("s1")["back_office"].muxed > 60)
    assert all(plane.recorders("s1")[party] is first[party] for party in first)  # the same files go on
    assert r.call.party_names() == {"caller": "caller", "specialist:1": "specialist", "specialist:2": "back_office"}
    await until(lambda: all(first[party].muxed > muxed_on_the_bridge[party] + 30 for party in first))
    plane.end_session("s1")
    await plane.flush_recordings()
    files = sorted(p.name for p in tmp_path.glob("*.webm"))
    assert files == ["s1-back_office.webm", "s1-caller.webm", "s1-specialist.webm"]
    results = {party: rec.result for party, rec in first.items()}
    for party, result in results.items():
        # Recorded on the bridge before the call and through it: more than the bridge part alone (counted
        # in frames, not against the wall clock, which a loaded machine's media falls behind).
        assert result is not None and result.video_frames > 10, party
        assert result.video_frames + result.audio_frames > muxed_on_the_bridge[party], party
    with av.open(str(tmp_path / "s1-back_office.webm")) as container:
        assert {s.type for s in container.streams} == {"audio", "video"}


async def test_a_held_caller_is_not_recorded_while_a_supervisor_listens(plane, room):
    r = room(record=True)
    await r.add("caller")
    await r.add("specialist:1")
    await r.add("supervisor:9", [("audio", "recvonly"), ("video", "recvonly"), ("audio", "recvonly"),
                                 ("video", "recvonly")])
    held = {"caller": set(), "specialist:1": set(), "supervisor:9": {"caller", "specialist:1"}}
    r.set(held)
    await until(lambda: sees(r, "supervisor:9", "caller") and sees(r, "supervisor:9", "specialist:1"))
    assert plane.recorders("s1") == {}  # heard by nobody but the supervisor
    r.set(r.everyone("caller", "specialist:1") | {"supervisor:9": {"caller", "specialist:1"}})
    await until(lambda: set(plane.recorders("s1")) == {"caller", "specialist"}
                and all(rec.muxed > 10 for rec in plane.recorders("s1").values()))
    no_decoding(plane)


async def test_a_screen_share_reaches_everyone_on_its_own_mid(plane, room):
    r = room()
    caller = await r.add("caller")
    await r.add("specialist:1", [("audio", "sendrecv"), ("video", "sendrecv"), ("video", "recvonly")])
    await r.add("specialist:2")
    r.set(r.everyone("caller", "specialist:1", "specialist:2"))
    await until(lambda: sees(r, "specialist:2", "caller") and sees(r, "caller", "specialist:2"))
    # The caller shares its screen: a 3rd, send-only m-line, as the caller's page adds it.
    await caller.offer(("sendonly", BarTrack(160, 120, colour="yellow")))

    def screen_seen(receiver: str) -> bool:
        mid = r.call.mids(receiver)["caller"].get("screen_mid")
        seen = r.peers[receiver].seen(mid or "-")
        return seen["frames"] >= 5 and seen["colour"] == "yellow"

    await until(lambda: screen_seen("specialist:1") and screen_seen("specialist:2"))
    assert r.call.mids("specialist:1")["caller"]["screen_mid"] == "2"  # the console's own 3rd m-line
    assert r.peers["specialist:2"].renegotiations[-1] == {"audio": 0, "video": 1}  # an added one
    assert sees(r, "specialist:1", "caller")  # the camera goes on beside it
    no_decoding(plane)
