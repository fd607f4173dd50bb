"""A sender that really fills its bitrate: what a camera gives aiortc's VP8 encoder, and a counted tone.

A flat synthetic picture (the headless client's moving bar) needs only about 15 kbps of VP8, so it
never loads a link. :class:`CameraTrack` is encoded live by aiortc's own VP8 encoder (which follows
the REMB it is told, between 250 kbps and 1.5 Mbps), and spends all of its target.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from av import AudioFrame, VideoFrame

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiortc import VideoStreamTrack  # noqa: E402

from signaling.client import BarTrack, ToneTrack  # noqa: E402


class CameraTrack(VideoStreamTrack):
    """What a camera gives an encoder to chew on: a moving picture with film grain, 640x480, 30 fps.

    A flat synthetic picture needs only about 15 kbps of VP8; this one makes aiortc's real encoder
    spend all of its target bitrate (up to its 1.5 Mbps maximum), so a sender really fills its link.
    The grain comes from a set of precomputed planes (a prime number of them, so no frame repeats
    an earlier one at the same place), which keeps making a frame cheap.
    """

    GRAIN_PLANES = 31

    def __init__(self, width: int = 640, height: int = 480, grain: int = 24, seed: int = 7) -> None:
        super().__init__()
        self.width, self.height = width, height
        rng = np.random.default_rng(seed)
        self._base = BarTrack(width, height)._base
        self._grain = rng.integers(0, grain, size=(self.GRAIN_PLANES, height, width), dtype=np.uint8)
        self._count = 0
        self.sent = 0

    def picture(self, count: int) -> np.ndarray:
        """Frame `count` as an I420 (yuv420p) array, height * 3 / 2 rows of `width`."""
        yuv = self._base.copy()
        yuv[: self.height] = np.roll(yuv[: self.height], count * 4, axis=1)  # a panning camera
        yuv[: self.height] += self._grain[count % self.GRAIN_PLANES]
        bar = self.width // 16
        x = (count * 8) % (self.width - bar)
        yuv[: self.height, x : x + bar] = 235
        return yuv

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        yuv = self.picture(self._count)
        self._count += 1
        self.sent += 1
        frame = VideoFrame.from_ndarray(yuv, format="yuv420p")
        frame.pts = pts
        frame.time_base = time_base
        return frame


class CountedTone(ToneTrack):
    """The headless client's tone, counting the frames it hands the sender (one Opus packet each)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    async def recv(self) -> AudioFrame:
        frame = await super().recv()
        self.sent += 1
        return frame


def write_y4m(path: Path, seconds: float = 10.0, fps: int = 30) -> Path:
    """The same camera as a .y4m file, for Chromium's fake capture (--use-file-for-fake-video-capture,
    played in a loop): a browser sender that fills its bitrate as aiortc's does on CameraTrack."""
    camera = CameraTrack()
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{camera.width} H{camera.height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for count in range(int(seconds * fps)):
            out.write(b"FRAME\n")
            out.write(camera.picture(count).tobytes())
    return path


def frames_sent(tracks: list) -> dict[str, int]:
    """Frames sent so far, by kind, by the tracks that count them."""
    return {t.kind: t.sent for t in tracks if hasattr(t, "sent")}
