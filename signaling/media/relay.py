"""The relay seam: how media received on one leg reaches another leg's sender.

Today frames are decoded by aiortc's receiver and re-encoded by the other
leg's sender (the simple relay). A later change forwards encoded packets
instead; it only has to change this module: a :class:`Tap` yields whatever its
source track yields, and an :class:`OutputTrack` hands it to the sender, which
encodes frames and packs pre-encoded `av.Packet`s alike.

aiortc's `MediaRelay` is not used: its reader task only ends when the source
ends (it cannot be cancelled), and nothing drains a received track nobody
subscribes to, so an idle leg's decoded frames would pile up in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
from collections.abc import Callable

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack, convert_timebase
from av.frame import Frame

logger = logging.getLogger(__name__)

Sink = Callable[[Frame], None]

# Frames waiting for the sender's encoder. Small, so a slow encoder drops old
# frames rather than adding latency.
_QUEUE_FRAMES = {"audio": 10, "video": 3}


class Tap:
    """Reads one received track for the life of the leg.

    Each frame goes to the current sink, or is dropped when there is none, so
    an unbridged leg keeps nothing in memory.
    """

    def __init__(self, track: MediaStreamTrack) -> None:
        self.track = track
        self.kind: str = track.kind
        self.sink: Sink | None = None
        self.frames = 0
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            try:
                frame = await self.track.recv()
            except MediaStreamError:
                return  # the receiver stopped: the leg is closing
            self.frames += 1
            sink = self.sink
            if sink is not None:
                try:
                    sink(frame)
                except Exception:  # a broken sink must not stop the leg's media
                    logger.exception("relay sink failed")

    async def stop(self) -> None:
        self.sink = None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class OutputTrack(MediaStreamTrack):
    """The track a leg's sender always holds.

    With nothing pushed, `recv()` simply waits, so the sender encodes and
    sends no RTP at all: an idle leg costs nothing. The sender is never given
    another track (its RTP loop would stay blocked on the old one) and never
    sees this track end (its RTP loop would exit for good).

    Timestamps are rewritten to run on continuously across sources, because
    the far end's receiver reads a backwards jump as a 32-bit wrap-around.
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._queue: asyncio.Queue[Frame] = asyncio.Queue(_QUEUE_FRAMES.get(kind, 3))
        self._source: object | None = None
        self._offset: int | None = None  # added to incoming pts; None: new source
        self._last_pts: int | None = None
        self._last_step = 0
        self._time_base: fractions.Fraction | None = None
        self.frames = 0

    def push(self, frame: Frame, source: object) -> None:
        """Queue a frame from `source` (anything identifying the upstream)."""
        if source is not self._source:
            self._source = source
            self._offset = None  # set from its first frame
        self._restamp(frame)
        if self._queue.full():
            self._queue.get_nowait()  # drop the oldest: latency matters more
        self._queue.put_nowait(frame)

    def clear(self) -> None:
        """Forget queued frames and the current source (unbridged)."""
        self._source = None
        while not self._queue.empty():
            self._queue.get_nowait()

    async def recv(self) -> Frame:
        if self.readyState != "live":
            raise MediaStreamError
        frame = await self._queue.get()
        self.frames += 1
        return frame

    def _restamp(self, frame: Frame) -> None:
        if frame.pts is None or frame.time_base is None:
            return
        if self._time_base is not None and frame.time_base != self._time_base:
            # Another clock: carry what was sent over into the new time base.
            if self._last_pts is not None:
                self._last_pts = convert_timebase(self._last_pts, self._time_base, frame.time_base)
                self._last_step = convert_timebase(self._last_step, self._time_base, frame.time_base)
            self._offset = None
        self._time_base = frame.time_base
        if self._offset is None:
            start = 0 if self._last_pts is None else self._last_pts + max(self._last_step, 1)
            self._offset = start - frame.pts
        pts = frame.pts + self._offset
        if self._last_pts is not None:
            if pts <= self._last_pts:  # never go backwards within a source either
                pts = self._last_pts + 1
            self._last_step = pts - self._last_pts
        self._last_pts = pts
        frame.pts = pts
