"""Recording: one WebM file per party, muxed from the received encoded frames.

No transcoding: the VP8 and Opus frames a leg receives (the same records
the relay forwards, bytes shared, not copied) are written as they are. The
event loop only computes each frame's timestamp and queues it; opening,
muxing and finalizing the file happen on the recorder's own thread (file
I/O may block).

Timestamps: each stream runs on its own RTP clock (90 kHz video, 48 kHz
audio). When a source starts (the first frame, or a new leg after a
reconnection) its frames are placed at their arrival time since the
recording started, then follow their RTP clock; video from a new source
starts at a keyframe. So audio and video line up, and a reconnection leaves
a gap instead of overlapping.

Only the camera (video slot 0) and the microphone are recorded; a stream in
another codec (H.264 from a transcoded leg) is skipped, since WebM carries
VP8 and Opus here.

Crash safety: the muxer closes a WebM cluster at least every second of media
(`MUXER_OPTIONS`) and the file is flushed after every packet, so what a
`SIGKILL` leaves on disk lacks at most the last second; `on_start` tells the
index that a file exists as soon as its header is written, and start-up
remuxes what a crash left unfinished (media/repair.py).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av

from .aiortc_hooks import EncodedFrame, time_base, vp8_dimensions

logger = logging.getLogger(__name__)

CLOCKS = {"video": 90000, "audio": 48000}
TIME_BASES = {kind: time_base(clock) for kind, clock in CLOCKS.items()}  # the relay's own objects
MIMES = {"video": "video/vp8", "audio": "audio/opus"}
OPUS_FRAME = 960  # 20 ms at 48 kHz
# Without a video keyframe after this long, the file is written audio-only.
VIDEO_WAIT_S = 10.0
_BUFFER_MAX = 2000  # packets held while waiting for the first video keyframe
# The WebM muxer's defaults keep up to 5 s (or 5 MiB) of a cluster in memory and wait up to 10 s
# for a stalled stream before writing the other: a crash lost all of that. Here a cluster is at
# most 1 s of media (or 256 KiB), the file is flushed after each packet (a write(2) only when a
# cluster ends: about one a second), and a stream that stalls holds the other back for 1 s at most.
MUXER_OPTIONS = {
    "cluster_time_limit": "1000",  # ms
    "cluster_size_limit": str(256 * 1024),  # bytes
    "flush_packets": "1",
    "max_interleave_delta": "1000000",  # µs
}

# A recording's states in the index (store `recordings.state`).
RECORDING, COMPLETE, REPAIRED, FAILED = "recording", "complete", "repaired", "failed"


@dataclass
class RecordingResult:
    path: str
    duration_s: float
    size: int
    video_frames: int
    audio_frames: int
    state: str = COMPLETE  # `repaired` when writing failed and the file was remuxed; `failed`: nothing usable


@dataclass
class _Stream:
    source: object | None = None
    origin_pts: int = 0
    origin_out: int = 0
    last_out: int | None = None
    awaiting_keyframe: bool = False


class Recorder:
    """Writes one party's media to `path`; :meth:`close` finalizes it (idempotent).

    `on_start(path)` is called from the recorder's thread once the file exists
    (its header and first packets written); `on_done(result)` once the file is
    complete (None if nothing was ever written, and then `on_start` was not
    called either).
    """

    def __init__(
        self,
        path: Path,
        on_done: Callable[[RecordingResult | None], None] | None = None,
        *,
        on_start: Callable[[Path], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self._on_done = on_done
        self._on_start = on_start
        self._started = False
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._streams = {"audio": _Stream(), "video": _Stream()}
        self._t0: float | None = None
        self._closed = False
        self.done = threading.Event()
        self.result: RecordingResult | None = None
        self.skipped = 0
        self.mux_seconds = 0.0  # time spent muxing (on the recorder thread)
        self.muxed = 0

    @property
    def closed(self) -> bool:
        return self._closed

    def write(self, kind: str, source: object, frame: EncodedFrame) -> None:
        """Take one received encoded frame (on the event loop; cheap: its bytes are kept, not copied)."""
        if self._closed:
            return
        if frame.mime != MIMES.get(kind):
            self.skipped += 1
            return
        now = time.monotonic()
        stream = self._streams[kind]
        clock = CLOCKS[kind]
        base = frame.time_base
        pts = frame.pts
        if base is not TIME_BASES[kind] and base != TIME_BASES[kind]:  # identity first: no Fraction arithmetic
            pts = int(pts * base * clock)
        keyframe = frame.keyframe
        if source is not stream.source:
            stream.source = source
            stream.awaiting_keyframe = kind == "video"
            stream.origin_pts = pts
            if self._t0 is None:
                self._t0 = now
            stream.origin_out = round((now - self._t0) * clock)
            if stream.last_out is not None:
                stream.origin_out = max(stream.origin_out, stream.last_out + 1)
        if stream.awaiting_keyframe:
            if not keyframe:
                self.skipped += 1
                return
            stream.awaiting_keyframe = False
            stream.origin_pts = pts  # count from the keyframe, placed at its arrival
            stream.origin_out = round((now - self._t0) * clock)
            if stream.last_out is not None:
                stream.origin_out = max(stream.origin_out, stream.last_out + 1)
        out = stream.origin_out + (pts - stream.origin_pts)
        if stream.last_out is not None and out <= stream.last_out:
            out = stream.last_out + 1
        stream.last_out = out
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"recorder-{self.path.stem}", daemon=True)
            self._thread.start()
        self._queue.put((kind, frame.data, out, keyframe, now))

    def close(self) -> None:
        """Stop taking frames; the thread finalizes the file and calls `on_done`."""
        if self._closed:
            return
        self._closed = True
        if self._thread is None:
            self.done.set()
            if self._on_done is not None:
                self._on_done(None)
            return
        self._queue.put(None)

    def join(self, timeout: float | None = None) -> bool:
        return self.done.wait(timeout)

    # -- the recorder thread ----------------------------------------------------

    def _run(self) -> None:
        result: RecordingResult | None = None
        try:
            result = self._write_file()
        except Exception:
            logger.exception("recording %s failed", self.path)
            if self._started:  # what reached the file is kept, as start-up would after a crash
                from .repair import repair_file

                result = repair_file(self.path)
        self.result = result
        self.done.set()
        if self._on_done is not None:
            try:
                self._on_done(result)
            except Exception:
                logger.exception("recording callback failed")

    def _write_file(self) -> RecordingResult | None:
        pending: list[tuple] = []
        container = None
        streams: dict[str, av.stream.Stream] = {}
        counts = {"audio": 0, "video": 0}
        last = {"audio": 0, "video": 0}
        first_at: float | None = None
        try:
            while True:
                try:
                    item = self._queue.get(timeout=0.5 if container is None else None)
                except queue.Empty:
                    item = ()
                ending = item is None
                if item:
                    pending.append(item)
                    first_at = first_at or item[4]
                if container is None:
                    dims = next((vp8_dimensions(p[1]) for p in pending if p[0] == "video" and p[3]), None)
                    waited = first_at is not None and time.monotonic() - first_at > VIDEO_WAIT_S
                    if dims is None and not (waited or ending or len(pending) > _BUFFER_MAX):
                        continue
                    if not pending:
                        return None
                    container, streams = self._open(dims)
                    if dims is None:
                        logger.warning("recording %s: no video keyframe, audio only", self.path.name)
                for kind, data, pts, keyframe, _ in pending:
                    stream = streams.get(kind)
                    if stream is None:
                        continue
                    packet = av.Packet(data)
                    packet.pts = packet.dts = pts
                    packet.time_base = TIME_BASES[kind]  # muxing rescales to the file's
                    packet.is_keyframe = keyframe
                    if kind == "audio":
                        packet.duration = OPUS_FRAME
                    packet.stream = stream
                    started = time.perf_counter()
                    container.mux(packet)
                    self.mux_seconds += time.perf_counter() - started
                    self.muxed += 1
                    counts[kind] += 1
                    last[kind] = max(last[kind], pts)
                pending.clear()
                if not self._started:
                    self._started = True
                    if self._on_start is not None:
                        try:
                            self._on_start(self.path)
                        except Exception:
                            logger.exception("recording start callback failed")
                if ending:
                    break
        finally:
            if container is not None:
                container.close()  # writes the cues and the duration
        duration = max(
            (last["video"] / CLOCKS["video"]) if counts["video"] else 0.0,
            (last["audio"] + OPUS_FRAME) / CLOCKS["audio"] if counts["audio"] else 0.0,
        )
        return RecordingResult(
            path=str(self.path),
            duration_s=round(duration, 3),
            size=os.path.getsize(self.path),
            video_frames=counts["video"],
            audio_frames=counts["audio"],
        )

    def _open(self, dims: tuple[int, int] | None):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        container = av.open(str(self.path), mode="w", format="webm", container_options=MUXER_OPTIONS)
        streams = {}
        if dims is not None:
            video = container.add_stream("libvpx", rate=30)
            video.width, video.height = dims
            video.pix_fmt = "yuv420p"
            video.time_base = TIME_BASES["video"]
            streams["video"] = video
        audio = container.add_stream("libopus", rate=48000)
        audio.layout = "stereo"
        audio.time_base = TIME_BASES["audio"]
        streams["audio"] = audio
        return container, streams
