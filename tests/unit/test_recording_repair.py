"""Crash-safe recordings: what a SIGKILL leaves on disk, the start-up repair, and the index states."""

from __future__ import annotations

import fractions
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import av
import pytest

from signaling.media import aiortc_hooks
from signaling.media.aiortc_hooks import EncodedFrame
from signaling.media.recorder import MUXER_OPTIONS, Recorder
from signaling.media.repair import TEMP_SUFFIX, repair_file, repair_recordings
from signaling.store.journal import Journal
from signaling.store.writer import SessionWriter
from test_media_relay import decode_all as decode  # counts, header duration, `end`: the last packet's time
from test_writer import T0, store  # noqa: F401  (the store fixture: SQLite and PostgreSQL, with SI-001)

ROOT = Path(__file__).resolve().parents[2]

# A recorder fed in real time (30 fps VP8, 50/s Opus) until it is killed; prints the media time fed.
WRITER = r"""
import fractions, sys, time
import av
from signaling.media import aiortc_hooks
from signaling.media.aiortc_hooks import EncodedFrame
from signaling.media.recorder import Recorder

enc = av.CodecContext.create("libvpx", "w")
enc.width, enc.height, enc.pix_fmt = 320, 240, "yuv420p"
enc.time_base = fractions.Fraction(1, 30)
enc.bit_rate = 600_000
enc.open()
clip = []
for i in range(60):
    frame = av.VideoFrame(320, 240, "yuv420p")
    for plane in frame.planes:
        plane.update(bytes([(i * 7 + plane.line_size) % 256]) * plane.buffer_size)
    frame.pts = i
    clip += [(bytes(p), bool(p.is_keyframe)) for p in enc.encode(frame)]
recorder = Recorder(sys.argv[1])
source = object()
silence = bytes([0xF8, 0xFF, 0xFE])
video = aiortc_hooks.time_base(90000)
audio = aiortc_hooks.time_base(48000)
t0 = time.monotonic()
v = a = 0
reported = 0.0
while True:
    now = time.monotonic() - t0
    while a * 0.02 <= now:
        recorder.write("audio", source, EncodedFrame("audio/opus", silence, a * 960, audio, True))
        a += 1
    while v / 30 <= now:
        data, key = clip[v % len(clip)]
        recorder.write("video", source, EncodedFrame("video/vp8", data, v * 3000, video, key or v == 0))
        v += 1
    if now - reported >= 0.1:
        reported = now
        print(f"{min(v / 30, a * 0.02):.3f}", flush=True)
    time.sleep(0.004)
"""


def killed_recording(path: Path, seconds: float) -> float:
    """Run a recorder in another process for `seconds`, SIGKILL it; returns the media time fed by then."""
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    fed = 0.0
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            fed = float(line)
            if fed >= seconds:
                break
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(10)
    return fed


def test_the_muxer_writes_a_cluster_at_least_every_second():
    assert int(MUXER_OPTIONS["cluster_time_limit"]) <= 1000 and MUXER_OPTIONS["flush_packets"] == "1"
    assert int(MUXER_OPTIONS["max_interleave_delta"]) <= 1_000_000


def test_a_killed_recorder_leaves_all_but_the_last_second_and_the_repair_makes_it_whole(tmp_path):
    path = tmp_path / "s-caller.webm"
    fed = killed_recording(path, 3.0)
    before = decode(path)  # what is on disk, as the crash left it
    assert before["errors"] == 0 and before["duration"] is None, before  # unfinalized: no duration
    assert before["end"] >= fed - 1.5, (before, fed)  # at most about a second (one cluster) is lost
    mode = path.stat().st_mode & 0o777

    result = repair_file(path)
    assert result.state == "repaired" and result.path == str(path)
    after = decode(path)
    assert after["errors"] == 0 and after["video"] == result.video_frames and after["audio"] == result.audio_frames
    assert after["video"] >= before["video"] - 1 and after["audio"] >= before["audio"] - 1, (before, after)
    assert after["duration"] == pytest.approx(result.duration_s, abs=0.1), (after, result)  # a header duration now
    assert result.duration_s == pytest.approx(before["end"], abs=0.1)
    assert result.size == path.stat().st_size and path.stat().st_mode & 0o777 == mode
    assert not path.with_name(path.name + TEMP_SUFFIX).exists()
    with av.open(str(path)) as container:  # well formed: it seeks (cues)
        container.seek(int(result.duration_s / 2 * 1e6))
        assert next(container.demux(video=0)).pts is not None


@pytest.mark.parametrize("keep", [0.35, 0.6, 0.93])
def test_a_file_cut_anywhere_is_remuxed_up_to_the_cut(tmp_path, keep):
    full = tmp_path / "full.webm"
    killed_recording(full, 2.5)
    data = full.read_bytes()
    path = tmp_path / "cut.webm"
    path.write_bytes(data[: int(len(data) * keep) + 3])  # mid-block, mid-cluster
    result = repair_file(path)
    got = decode(path)
    assert result.state == "repaired" and got["errors"] == 0 and got["audio"] > 0, (result, got)
    assert got["end"] == pytest.approx(result.duration_s, abs=0.05)
    assert result.duration_s < decode(full)["end"] + 0.05


@pytest.mark.parametrize("content", [None, b"", b"\x1a\x45\xdf\xa3", b"not a webm at all" * 100])
def test_nothing_decodable_is_failed_and_left_as_it_was(tmp_path, content):
    path = tmp_path / "x-specialist.webm"
    if content is not None:
        path.write_bytes(content)
    result = repair_file(path)
    assert result.state == "failed" and result.duration_s == 0 and result.video_frames == result.audio_frames == 0
    assert (path.read_bytes() if content is not None else None) == content
    assert result.size == len(content or b"")
    assert not path.with_name(path.name + TEMP_SUFFIX).exists()


def test_a_header_without_packets_is_failed(tmp_path):
    path = tmp_path / "h.webm"
    killed_recording(path, 1.6)  # one cluster written
    data = path.read_bytes()
    cluster = data.find(b"\x1f\x43\xb6\x75")  # the first Cluster element
    assert cluster > 0
    path.write_bytes(data[:cluster])
    assert repair_file(path).state == "failed"


def test_a_recording_whose_writing_fails_is_repaired_at_once(tmp_path):
    """A write error mid-call (a full disk): what reached the file is remuxed and reported `repaired`."""
    class DiskFull:
        def __init__(self, container, after):
            self._container, self._left = container, after

        def mux(self, packet):
            self._left -= 1
            if self._left < 0:
                raise OSError(28, "No space left on device")
            self._container.mux(packet)

        def close(self):
            self._container.close()

    class Failing(Recorder):
        def _open(self, dims):
            container, streams = super()._open(dims)
            return DiskFull(container, 250), streams  # about 3 s of media, then the disk is full

    enc = av.CodecContext.create("libvpx", "w")
    enc.width, enc.height, enc.pix_fmt = 160, 120, "yuv420p"
    enc.time_base = fractions.Fraction(1, 30)
    enc.open()
    video = []
    for i in range(150):
        frame = av.VideoFrame(160, 120, "yuv420p")
        frame.pts = i
        video += [p for p in enc.encode(frame)]
    done = []
    recorder = Failing(tmp_path / "f.webm", done.append, on_start=lambda path: done.append(("started", path)))
    source = object()
    for i, p in enumerate(video):
        recorder.write("video", source, EncodedFrame("video/vp8", bytes(p), i * 3000, aiortc_hooks.time_base(90000),
                                                     bool(p.is_keyframe)))
        for j in range(2):  # 40 ms of audio per 33 ms frame: audio runs ahead a little
            recorder.write("audio", source, EncodedFrame("audio/opus", bytes([0xF8, 0xFF, 0xFE]), (i * 2 + j) * 960,
                                                         aiortc_hooks.time_base(48000), True))
    recorder.close()
    assert recorder.join(10)
    assert done[0] == ("started", tmp_path / "f.webm")
    result = done[1]
    assert result.state == "repaired" and 1.0 <= result.duration_s <= 4.0, result
    got = decode(tmp_path / "f.webm")
    assert got["errors"] == 0 and got["video"] == result.video_frames > 0, got


# -- the index: states through the session writer, and the start-up pass -----------------------


async def test_a_recording_is_indexed_when_it_starts_and_updated_when_finalized(store, tmp_path):
    writer = SessionWriter(store, Journal(tmp_path / "journal" / "sessions-test.jsonl"))
    await writer.start()
    sid = "a" * 32
    writer.create(id=sid, service_item_code="SI-001", caller={"name": "c"}, created_at=T0)
    writer.recording(sid, "caller", "/r/a-caller.webm", None, None, T0 + timedelta(seconds=1), state="recording")
    await writer.applied()
    row = await store.get_session(sid, with_events=False)
    assert row["recordings"] == [{"party": "caller", "url": f"/api/recordings/{sid}/caller",
                                  "duration_s": None, "bytes": None, "state": "recording"}]
    assert await store.unfinished_recordings() == [
        {"session_id": sid, "party": "caller", "path": "/r/a-caller.webm", "started_at": "2026-12-02T08:00:01.000Z"}]
    # finalized, and in the same group the other party starts and ends: one row each, updated in place
    writer.recording(sid, "caller", "/r/a-caller.webm", 9.5, 1234, T0 + timedelta(seconds=11))
    writer.recording(sid, "specialist", "/r/a-specialist.webm", None, None, T0 + timedelta(seconds=1), state="recording")
    writer.recording(sid, "specialist", "/r/a-specialist.webm", 9.4, 999, T0 + timedelta(seconds=11), state="repaired")
    await writer.applied()
    row = await store.get_session(sid, with_events=False)
    assert [(r["party"], r["state"], r["duration_s"], r["bytes"]) for r in row["recordings"]] == [
        ("caller", "complete", 9.5, 1234), ("specialist", "repaired", 9.4, 999)]
    assert await store.unfinished_recordings() == []
    # the row keeps when the recording started (retention counts from there)
    assert await store.delete_recordings_before(T0 + timedelta(seconds=5)) == ["/r/a-caller.webm", "/r/a-specialist.webm"]
    with pytest.raises(Exception) as info:
        writer.recording(sid, "caller", "/r/x.webm", None, None, T0, state="paused")
    assert getattr(info.value, "code", "") == "invalid_state"
    await writer.stop()


async def test_start_up_repairs_what_a_crash_left_and_indexes_it(store, tmp_path):
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    elsewhere = tmp_path / "other-node"
    elsewhere.mkdir()
    writer = SessionWriter(store, Journal(tmp_path / "journal" / "sessions-test.jsonl"))
    await writer.start()
    sids = ["b" * 32, "c" * 32]
    for sid in sids:
        writer.create(id=sid, service_item_code="SI-001", caller={"name": "c"}, created_at=T0)
    partial = recordings / f"{sids[0]}-caller.webm"
    fed = killed_recording(partial, 2.0)
    (recordings / f"{sids[0]}-specialist.webm").write_bytes(b"")  # killed before anything was written
    writer.recording(sids[0], "caller", str(partial), None, None, T0, state="recording")
    writer.recording(sids[0], "specialist", str(recordings / f"{sids[0]}-specialist.webm"), None, None, T0,
                     state="recording")
    writer.recording(sids[1], "caller", str(elsewhere / "x.webm"), None, None, T0, state="recording")  # not ours
    await writer.applied()

    done = await repair_recordings(store, writer, recordings)
    await writer.applied()
    assert [r.state for r in done] == ["repaired", "failed"]
    rows = {(r["party"]): r for r in (await store.get_session(sids[0], with_events=False))["recordings"]}
    assert rows["caller"]["state"] == "repaired" and rows["caller"]["bytes"] == partial.stat().st_size
    assert rows["caller"]["duration_s"] == pytest.approx(decode(partial)["end"], abs=0.1)
    assert rows["caller"]["duration_s"] >= fed - 1.5
    assert rows["specialist"]["state"] == "failed" and rows["specialist"]["duration_s"] == 0
    assert [r["session_id"] for r in await store.unfinished_recordings()] == [sids[1]]  # another node's: untouched
    await writer.stop()
