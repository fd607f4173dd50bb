"""Encoded passthrough, keyframe forwarding, transcoding fallback, recording, and the aiortc hooks."""

from __future__ import annotations

import asyncio
import fractions
import inspect
from datetime import datetime, timedelta, timezone

import av
import pytest
from aiortc import RTCPeerConnection, RTCRtpCodecParameters, RTCRtpSender
from aiortc.codecs import opus, vpx
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpreceiver import RTCRtpReceiver

from signaling.media import MediaPlane, aiortc_hooks, rtc_configuration, use_media_addresses
from signaling.media.aiortc_hooks import EncodedFrame
from signaling.media.recorder import Recorder
from signaling.media.relay import OutputTrack, Tap
from signaling.media.retention import purge_recordings
from test_media import Peer, wait_state  # tests/unit is on sys.path (pytest rootdir insertion)


@pytest.fixture
async def peers():
    made: list[Peer] = []

    def make(screen: bool = False) -> Peer:
        made.append(Peer(screen))
        return made[-1]

    yield make
    for peer in made:
        await peer.close()


async def make_plane(tmp_path, **kwargs) -> MediaPlane:
    return MediaPlane(ice_servers=[], media_addresses=["127.0.0.1"], recordings_dir=tmp_path, **kwargs)


@pytest.fixture
async def plane(tmp_path):
    plane = await make_plane(tmp_path)
    yield plane
    await plane.close()
    use_media_addresses(None)


async def bridged(plane, peers, *, screen=False, caller_peer=None, **kwargs):
    caller = caller_peer or peers(screen)
    specialist = peers(screen)
    leg_c, leg_s = await plane.open_leg("caller"), await plane.open_leg("specialist")
    await caller.offer_to(leg_c)
    await specialist.offer_to(leg_s)
    await wait_state(leg_c, "connected")
    await wait_state(leg_s, "connected")
    bridge = plane.bridge(leg_c, leg_s, **kwargs)
    return caller, specialist, leg_c, leg_s, bridge


# -- the hooks --------------------------------------------------------------------------


def test_aiortc_is_the_version_the_hooks_were_written_for():
    aiortc_hooks.check_aiortc()  # raises AiortcChanged, naming what moved, on another aiortc


def test_hook_check_fails_loudly_when_aiortc_changes(monkeypatch):
    monkeypatch.setattr(aiortc_hooks.aiortc, "__version__", "9.9.9")
    with pytest.raises(aiortc_hooks.AiortcChanged, match="9.9.9"):
        aiortc_hooks.check_aiortc()
    monkeypatch.undo()

    real = inspect.getsource

    def changed(obj):
        text = real(obj)
        return text.replace("self._send_keyframe()", "self._request_keyframe()") if obj is RTCRtpSender._handle_rtcp_packet else text

    monkeypatch.setattr(aiortc_hooks.inspect, "getsource", changed)
    with pytest.raises(aiortc_hooks.AiortcChanged, match="_send_keyframe"):
        aiortc_hooks.check_aiortc()

    def packer_reads_more(obj):  # a packer that needs more than an EncodedFrame has
        text = real(obj)
        return text.replace("packet.pts", "packet.dts") if obj is vpx.Vp8Encoder.pack else text

    monkeypatch.setattr(aiortc_hooks.inspect, "getsource", packer_reads_more)
    with pytest.raises(aiortc_hooks.AiortcChanged, match="Vp8Encoder.pack"):
        aiortc_hooks.check_aiortc()


def test_hook_targets_exist():
    assert hasattr(RTCRtpReceiver, "_send_rtcp_pli") and hasattr(RTCRtpSender, "_send_keyframe")
    with pytest.raises(ValueError):
        MediaPlane(ice_servers=[], relay="bogus")


def test_vp8_keyframe_header():
    key = bytes([0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0xE0, 0x01])  # 640x480
    assert aiortc_hooks.vp8_is_keyframe(key) and aiortc_hooks.vp8_dimensions(key) == (640, 480)
    assert not aiortc_hooks.vp8_is_keyframe(bytes([0x11]) + key[1:])


# -- one shared record per received frame -------------------------------------------------

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=111)
KEY = bytes([0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0xE0, 0x01]) + bytes(50)  # a 640x480 keyframe


def test_splitter_makes_one_record_sharing_the_jitter_buffer_bytes():
    got = []
    splitter = aiortc_hooks.FrameSplitter(lambda mime, frame: got.append((mime, frame)))
    frames = [JitterFrame(KEY, 0), JitterFrame(b"\x01" + bytes(30), 3000)]
    for frame in frames:
        splitter.put((VP8, frame))
    splitter.put((OPUS, JitterFrame(b"\xf8\xff\xfe", 960)))
    (m0, f0), (_, f1), (m2, f2) = got
    assert m0 == f0.mime == "video/vp8" and m2 == f2.mime == "audio/opus"
    assert f0.data is frames[0].data and bytes(f0) is frames[0].data  # shared, never copied
    assert (f0.pts, f0.keyframe, f1.pts, f1.keyframe, f2.keyframe) == (0, True, 3000, False, True)
    assert f0.time_base is f1.time_base is aiortc_hooks.time_base(90000)  # one Fraction per clock
    assert f2.time_base == fractions.Fraction(1, 48000)
    assert splitter.qsize() == 0  # not decoding: nothing queued for the decoder thread
    with pytest.raises(AttributeError):
        f0.pts = 1  # type: ignore[misc]  # immutable: one sink cannot restamp it for the others


async def test_every_sink_of_a_tap_gets_the_identical_record():
    offerer, pc = RTCPeerConnection(rtc_configuration([])), RTCPeerConnection(rtc_configuration([]))
    offerer.addTransceiver("video", direction="sendonly")
    await pc.setRemoteDescription(await offerer.createOffer())  # a receiver with its track; no network
    tap = Tap(pc.getTransceivers()[0])
    try:
        seen: dict[str, list[EncodedFrame]] = {"a": [], "b": [], "c": []}
        for name in ("a", "b"):
            tap.add_sink(name, seen[name].append)
        for i in range(3):
            tap.splitter.put((VP8, JitterFrame(KEY, i * 3000)))
            if i == 0:
                tap.add_sink("c", seen["c"].append)  # sinks change between frames...
                tap.remove_sink("a")
        assert len(seen["b"]) == 3 and len(seen["a"]) == 1 and len(seen["c"]) == 2
        assert seen["a"][0] is seen["b"][0] and all(x is y for x, y in zip(seen["b"][1:], seen["c"]))
        assert set(tap.packet_sinks) == {"b", "c"}
        with pytest.raises(TypeError):
            tap.packet_sinks["d"] = seen["a"].append  # ...only through add_sink / remove_sink
    finally:
        await tap.stop()
        await pc.close()
        await offerer.close()


async def test_outputs_restamp_their_own_record_and_keep_the_bytes():
    frames = [EncodedFrame("video/vp8", KEY, 90000 + i * 3000, aiortc_hooks.time_base(90000), True) for i in range(2)]
    outputs = [OutputTrack("video"), OutputTrack("video")]
    outputs[1].push(frames[0].at(10), object())  # this one already sent another source's frame (at 0)
    sent = {}
    for n, output in enumerate(outputs):
        if n == 1:
            await output.recv()
        for frame in frames:
            output.push(frame, "camera")
        sent[n] = [await output.recv() for _ in frames]
    assert [f.pts for f in sent[0]] == [0, 3000]  # each output's own timeline...
    assert [f.pts for f in sent[1]] == [1, 3001]  # continues after its 0
    assert all(a.data is b.data is f.data for a, b, f in zip(sent[0], sent[1], frames))  # ...same bytes
    assert [f.pts for f in frames] == [90000, 93000]  # the shared records are untouched


def test_senders_pack_a_record_as_they_pack_a_packet():
    """aiortc's VP8 and Opus packers take an EncodedFrame as they take an av.Packet; H.264 gets an av.Packet."""
    cases = [(vpx.Vp8Encoder(), EncodedFrame("video/vp8", KEY, 3000, aiortc_hooks.time_base(90000), True)),
             (opus.OpusEncoder(), EncodedFrame("audio/opus", b"\xf8\xff\xfe", 960, aiortc_hooks.time_base(48000), True))]
    for encoder, frame in cases:
        assert aiortc_hooks.sendable(frame) is frame
        packet = av.Packet(frame.data)
        packet.pts, packet.time_base = frame.pts, fractions.Fraction(1, 90000 if frame.mime == "video/vp8" else 48000)
        if isinstance(encoder, vpx.Vp8Encoder):
            encoder.picture_id = 7
            expected = encoder.pack(packet)
            encoder.picture_id = 7
        else:
            expected = encoder.pack(packet)
        assert encoder.pack(frame) == expected
    h264 = aiortc_hooks.sendable(EncodedFrame("video/h264", b"\0\0\0\1\x65", 3000, aiortc_hooks.time_base(90000), True))
    assert isinstance(h264, av.Packet) and bytes(h264) == b"\0\0\0\1\x65" and h264.pts == 3000


# -- passthrough -------------------------------------------------------------------------


async def test_passthrough_decodes_nothing_on_the_server(plane, peers):
    caller, specialist, leg_c, leg_s, bridge = await bridged(plane, peers, screen=True)
    for peer in (caller, specialist):
        await peer.wait_frames("video", n=30, tracks=2)  # the clients decode what they get
        await peer.wait_frames("audio", n=30)
    assert set(bridge.modes().values()) == {"passthrough"}
    assert len(bridge.modes()) == 6  # mic, camera and screen, both ways
    for leg in (leg_c, leg_s):
        for tap in leg.inputs().values():
            assert tap.frames > 0
            assert tap.splitter.decoded == 0 and tap.decoded == 0  # nothing went to a decoder
            assert tap.track._queue.empty()  # and the decoder thread produced nothing


async def test_idle_leg_decodes_nothing(plane, peers):
    peer = peers()
    leg = await plane.open_leg("specialist")
    await peer.offer_to(leg)
    await wait_state(leg, "connected")
    await asyncio.sleep(0.5)
    taps = leg.inputs().values()
    assert sum(t.frames for t in taps) > 0
    assert sum(t.splitter.decoded for t in taps) == 0


async def test_keyframe_requested_on_bridge_and_forwarded_upstream_rate_limited(plane, peers):
    caller, specialist = peers(), peers()
    keyframes: list[int] = []
    camera_sender = caller.pc.getTransceivers()[1].sender
    aiortc_hooks.on_keyframe_request(camera_sender, lambda: keyframes.append(1))
    leg_c, leg_s = await plane.open_leg("caller"), await plane.open_leg("specialist")
    await caller.offer_to(leg_c)
    await specialist.offer_to(leg_s)
    await wait_state(leg_c, "connected")
    await wait_state(leg_s, "connected")
    await asyncio.sleep(0.3)
    assert keyframes == []  # unbridged: nobody asks the caller for anything

    plane.bridge(leg_c, leg_s)
    await specialist.wait_frames("video", n=5)
    assert len(keyframes) >= 1  # the switch asked for a keyframe at once

    # The specialist's browser reports picture loss to the server's sender...
    await asyncio.sleep(KEYFRAME_GAP)
    before = len(keyframes)
    receiver = specialist.pc.getTransceivers()[1].receiver
    ssrc = aiortc_hooks.media_ssrcs(receiver)[0]
    for _ in range(5):  # a burst of PLIs...
        await receiver._send_rtcp_pli(ssrc)
    await asyncio.sleep(0.3)
    # ...reaches the caller's camera sender, rate-limited to one.
    assert len(keyframes) - before == 1
    output = leg_s.outputs()[("video", 0)]
    assert output.keyframe_requests >= 5


KEYFRAME_GAP = 0.6


async def test_screen_share_relayed_by_passthrough_both_ways(plane, peers):
    caller, specialist, *_, bridge = await bridged(plane, peers, screen=True)
    for peer in (caller, specialist):
        await peer.wait_frames("video", n=10, tracks=2)
    assert bridge.modes()["a->b video1"] == bridge.modes()["b->a video1"] == "passthrough"


# -- transcoding ---------------------------------------------------------------------------


def prefer_h264(peer: Peer) -> None:
    video = peer.pc.getTransceivers()[1]
    caps = RTCRtpSender.getCapabilities("video").codecs
    video.setCodecPreferences([c for c in caps if c.mimeType.lower() == "video/h264"]
                              + [c for c in caps if c.mimeType.lower() == "video/vp8"])


async def test_different_codecs_fall_back_to_transcoding(plane, peers):
    h264 = peers()
    prefer_h264(h264)
    caller, specialist, leg_c, leg_s, bridge = await bridged(plane, peers, caller_peer=h264)
    assert leg_c.inputs()[("video", 0)].mime_negotiated == "video/h264"
    for peer in (caller, specialist):
        await peer.wait_frames("video", n=10, timeout=20)
        await peer.wait_frames("audio", n=10)
    modes = bridge.modes()
    assert modes["a->b video0"] == modes["b->a video0"] == "transcode"
    assert modes["a->b audio0"] == "passthrough"  # Opus on both sides still passes through
    assert leg_c.inputs()[("video", 0)].splitter.decoded > 0


async def test_relay_transcode_forces_decoding(tmp_path, peers):
    plane = await make_plane(tmp_path, relay="transcode")
    try:
        caller, specialist, leg_c, *_, bridge = await bridged(plane, peers)
        for peer in (caller, specialist):
            await peer.wait_frames("video", n=10)
            await peer.wait_frames("audio", n=10)
        assert set(bridge.modes().values()) == {"transcode"}
        assert leg_c.inputs()[("video", 0)].decoded > 0
    finally:
        await plane.close()
        use_media_addresses(None)


# -- recording -------------------------------------------------------------------------------


def decode_all(path) -> dict:
    """Decode every packet of a recording; returns counts, the header's duration (None in a file a crash
    left unfinalized) and `end`, the time of the last decoded packet (s)."""
    out = {"video": 0, "audio": 0, "errors": 0, "end": 0.0}
    with av.open(str(path)) as container:
        duration = container.duration / 1e6 if container.duration else None
        kinds = {s.index: s.type for s in container.streams}
        for packet in container.demux():
            if packet.size == 0:
                continue
            try:
                frames = packet.decode()
            except av.FFmpegError:
                out["errors"] += 1
                continue
            out[kinds[packet.stream.index]] += len(frames)
            out["end"] = max(out["end"], float(packet.pts * packet.time_base))
    out["duration"] = duration
    return out


async def test_recording_muxes_both_parties_and_decodes_completely(plane, peers, tmp_path):
    caller, specialist, leg_c, leg_s, bridge = await bridged(plane, peers, session_id="s1", record=True)
    await specialist.wait_frames("video", n=5)
    await asyncio.sleep(3)
    plane.end_session("s1")
    await plane.flush_recordings()
    for party in ("caller", "specialist"):
        path = tmp_path / f"s1-{party}.webm"
        got = decode_all(path)
        assert got["errors"] == 0, got
        assert got["video"] >= 45 and got["audio"] >= 75, got  # 3 s of media; a loaded machine sends less
        assert abs(got["duration"] - 3) < 1, got
    assert all(t.splitter.decoded == 0 for leg in (leg_c, leg_s) for t in leg.inputs().values())


async def test_one_record_per_frame_reaches_the_link_the_recorder_and_the_sender(plane, peers, monkeypatch):
    to_senders: list = []
    sendable = aiortc_hooks.sendable
    monkeypatch.setattr(aiortc_hooks, "sendable", lambda frame: to_senders.append(frame) or sendable(frame))
    caller, specialist, leg_c, leg_s, _ = await bridged(plane, peers, session_id="s3", record=True)
    camera = leg_c.inputs()[("video", 0)]
    seen: list[EncodedFrame] = []
    camera.add_sink("spy", seen.append)
    recorder = plane.recorders("s3")["caller"]
    recorded: list[EncodedFrame] = []
    write = recorder.write
    monkeypatch.setattr(recorder, "write", lambda kind, source, frame: recorded.append(frame) or write(kind, source, frame))
    await specialist.wait_frames("video", n=30)
    await asyncio.sleep(0.3)
    seen_ids = {id(f) for f in seen}
    video = [f for f in recorded if f.mime == "video/vp8"]
    assert len(video) >= 10 and all(id(f) in seen_ids for f in video)  # the recorder got the very same records
    data_ids = {id(f.data) for f in seen}
    relayed = [f for f in to_senders if id(f.data) in data_ids]
    assert len(relayed) >= 10  # the specialist's sender got the caller's camera bytes, uncopied
    assert all(isinstance(f, EncodedFrame) and id(f) not in seen_ids for f in relayed)  # in its own restamped record


async def test_recording_is_finalized_when_a_leg_drops(plane, peers, tmp_path):
    results = []

    async def on_recorded(*args):
        results.append(args)

    plane._on_recorded = on_recorded
    caller, specialist, leg_c, leg_s, _ = await bridged(plane, peers, session_id="s2", record=True)
    await specialist.wait_frames("video", n=20)
    await caller.close()  # the caller vanishes abruptly
    await leg_c.close()
    plane.end_session("s2")
    await plane.flush_recordings()
    started = [r for r in results if r[5] == "recording"]  # indexed when each file started
    assert sorted(r[1] for r in started) == ["caller", "specialist"] and all(r[3:5] == (None, None) for r in started)
    finished = results[len(started):]
    assert sorted(r[1] for r in finished) == ["caller", "specialist"]
    for session_id, party, path, duration_s, size, state in finished:
        got = decode_all(path)
        assert got["errors"] == 0 and got["video"] > 0 and got["audio"] > 0, got
        assert size > 0 and duration_s > 0 and state == "complete"


def test_recorder_alone_and_off_the_loop(tmp_path):
    """Synthetic VP8 + Opus packets in, a WebM out; muxing cost measured."""
    encoded = []
    enc = av.CodecContext.create("libvpx", "w")
    enc.width, enc.height, enc.pix_fmt = 320, 240, "yuv420p"
    enc.time_base = fractions.Fraction(1, 30)
    enc.bit_rate = 500_000
    enc.open()
    for i in range(60):
        frame = av.VideoFrame(320, 240, "yuv420p")
        frame.pts = i
        encoded += [("video", p) for p in enc.encode(frame)]
    encoded += [("video", p) for p in enc.encode(None)]
    recorder = Recorder(tmp_path / "r.webm")
    source = object()
    silence = bytes([0xF8, 0xFF, 0xFE])  # a 20 ms Opus silence frame
    for i, (_, p) in enumerate(encoded):
        # Equal but not the relay's shared time base objects: converted by value.
        recorder.write("video", source, EncodedFrame("video/vp8", bytes(p), i * 3000, fractions.Fraction(1, 90000),
                                                     bool(p.is_keyframe)))
        for j in range(2):
            recorder.write("audio", source, EncodedFrame("audio/opus", silence, (i * 2 + j) * 960,
                                                         aiortc_hooks.time_base(48000), True))
    recorder.close()
    assert recorder.join(10)
    got = decode_all(tmp_path / "r.webm")
    assert got["errors"] == 0 and got["video"] == 60 and got["audio"] >= 110, got
    assert recorder.muxed >= 180
    assert recorder.mux_seconds / recorder.muxed < 0.002  # well under a frame interval


async def test_retention_deletes_old_recordings(tmp_path):
    class FakeStore:
        def __init__(self):
            self.cutoff = None

        async def delete_recordings_before(self, cutoff):
            self.cutoff = cutoff
            return [str(tmp_path / "old.webm")]

    (tmp_path / "old.webm").write_bytes(b"x")
    (tmp_path / "new.webm").write_bytes(b"x")
    orphan = tmp_path / "orphan.webm"
    orphan.write_bytes(b"x")
    import os
    ancient = (datetime.now(timezone.utc) - timedelta(days=40)).timestamp()
    os.utime(orphan, (ancient, ancient))
    store = FakeStore()
    assert await purge_recordings(store, tmp_path, 0) == 0 and store.cutoff is None  # 0 keeps forever
    assert await purge_recordings(store, tmp_path, 30) == 2
    assert not (tmp_path / "old.webm").exists() and not orphan.exists() and (tmp_path / "new.webm").exists()
