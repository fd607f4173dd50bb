"""A bridge: two legs, each receiving the other's audio, camera and screen."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .aiortc_hooks import EncodedFrame
from .leg import Leg, SlotKey
from .recorder import Recorder
from .relay import OutputTrack, Tap

logger = logging.getLogger(__name__)

PASSTHROUGH, TRANSCODE = "passthrough", "transcode"
RELAY_MODES = (PASSTHROUGH, TRANSCODE)
# What a party's recording holds: the microphone and the camera.
RECORDED_SLOTS: tuple[SlotKey, ...] = (("audio", 0), ("video", 0))


class Bridge:
    """Joins leg `a` and leg `b` slot by slot (mic→mic, camera→camera, screen→screen).

    A slot is linked as soon as one leg receives it and the other can send
    it, whatever the order in which legs connect or renegotiate; the bridge
    re-checks whenever either leg's tracks change. Each link forwards encoded
    frames (passthrough) when both legs negotiated the same codec for the
    slot and `relay` is not ``"transcode"``; otherwise it decodes and
    re-encodes. `recorders` maps a leg to the recorder of what it receives.
    `on_media()` is called once, when the first media has been forwarded in
    each direction.
    """

    def __init__(
        self,
        a: Leg,
        b: Leg,
        on_media: Callable[[], None] | None = None,
        *,
        relay: str = PASSTHROUGH,
        recorders: dict[Leg, Recorder] | None = None,
    ) -> None:
        if a is b:
            raise ValueError("cannot bridge a leg to itself")
        if relay not in RELAY_MODES:
            raise ValueError(f"relay must be one of {RELAY_MODES}")
        self.a = a
        self.b = b
        self.relay = relay
        self._on_media = on_media
        self._recorders = dict(recorders or {})
        self._links: dict[tuple[int, SlotKey], tuple[Tap, OutputTrack, str]] = {}
        self._recording: dict[tuple[int, SlotKey], Tap] = {}
        self._flowing = [False, False]  # a→b, b→a
        self._media_reported = False
        self._closed = False
        a.watch(self._sync)
        b.watch(self._sync)
        self._sync()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def media_flowing(self) -> bool:
        return self._media_reported

    def involves(self, leg: Leg) -> bool:
        return leg is self.a or leg is self.b

    def modes(self) -> dict[str, str]:
        """The relay mode of each link, e.g. {"a->b video0": "passthrough"}."""
        names = ("a->b", "b->a")
        return {f"{names[d]} {k}{n}": mode for (d, (k, n)), (_, _, mode) in self._links.items()}

    def _mode(self, tap: Tap, output: OutputTrack) -> str:
        if self.relay == TRANSCODE:
            return TRANSCODE
        mime = tap.mime_negotiated
        return PASSTHROUGH if mime is not None and mime == output.mime_negotiated else TRANSCODE

    def _sync(self) -> None:
        """Link every slot that exists on both sides and is not linked yet."""
        if self._closed:
            return
        for direction, (src, dst) in enumerate(((self.a, self.b), (self.b, self.a))):
            outputs = dst.outputs()
            for key, tap in src.inputs().items():
                output = outputs.get(key)
                if output is None:
                    continue
                mode = self._mode(tap, output)
                linked = self._links.get((direction, key))
                if linked == (tap, output, mode):
                    continue
                if linked is not None:
                    self._unlink((direction, key), linked)
                self._link(direction, key, tap, output, mode, dst)
        for index, leg in enumerate((self.a, self.b)):
            recorder = self._recorders.get(leg)
            if recorder is None:
                continue
            inputs = leg.inputs()
            for key in RECORDED_SLOTS:
                tap = inputs.get(key)
                old = self._recording.get((index, key))
                if tap is None or tap is old:
                    continue
                if old is not None:
                    old.remove_sink((self, "record", key))
                tap.add_sink((self, "record", key), self._record(recorder, key[0], tap))
                self._recording[(index, key)] = tap
                tap.request_keyframe()

    def _link(self, direction: int, key: SlotKey, tap: Tap, output: OutputTrack, mode: str, dst: Leg) -> None:
        def forwarded() -> None:
            # Media flows once it reaches a sender that is actually connected
            # (media queued for a leg still connecting does not count).
            if not self._flowing[direction] and dst.state == "connected":
                self._flowing[direction] = True
                self._maybe_report()

        if mode == PASSTHROUGH:
            want = output.mime_negotiated

            def forward_packet(frame: EncodedFrame) -> None:
                # A frame in another codec than the sender's would be garbage to
                # the far end (and H.264's packer would stop the sender for good).
                if frame.mime == want:
                    output.push(frame, tap)
                    forwarded()

            tap.add_sink((self, direction, key), forward_packet)
            output.upstream = tap
            tap.request_keyframe(force=True)  # the first picture at once, not at the next natural keyframe
        else:
            def forward_frame(frame: Any) -> None:
                output.push(frame, tap)
                forwarded()

            output.upstream = None  # the sender's own encoder answers keyframe requests
            tap.frame_sink = forward_frame
        self._links[(direction, key)] = (tap, output, mode)

    def _unlink(self, link: tuple[int, SlotKey], linked: tuple[Tap, OutputTrack, str]) -> None:
        tap, output, mode = linked
        tap.remove_sink((self, link[0], link[1]))
        if mode == TRANSCODE:
            tap.frame_sink = None
        output.clear()

    @staticmethod
    def _record(recorder: Recorder, kind: str, tap: Tap) -> Callable[[EncodedFrame], None]:
        def record(frame: EncodedFrame) -> None:
            recorder.write(kind, tap, frame)

        return record

    def _maybe_report(self) -> None:
        if self._media_reported or not all(self._flowing):
            return
        self._media_reported = True
        if self._on_media is not None:
            try:
                self._on_media()
            except Exception:
                logger.exception("on_media callback failed")

    def detach(self) -> None:
        """Unbridge now: the legs stay open and their senders fall silent."""
        if self._closed:
            return
        self._closed = True
        self.a.unwatch(self._sync)
        self.b.unwatch(self._sync)
        for link, linked in self._links.items():
            self._unlink(link, linked)
        self._links.clear()
        for (_, key), tap in self._recording.items():
            tap.remove_sink((self, "record", key))
        self._recording.clear()

    async def close(self) -> None:
        """Unbridge (see :meth:`detach`); async for symmetry with legs."""
        self.detach()

    def __repr__(self) -> str:
        return f"<Bridge {self.a!r} <-> {self.b!r} links={len(self._links)} relay={self.relay}>"
