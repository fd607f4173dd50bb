"""A bridge: two legs, each receiving the other's audio, camera and screen."""

from __future__ import annotations

import logging
from collections.abc import Callable

from av.frame import Frame

from .leg import Leg, SlotKey
from .relay import OutputTrack, Tap

logger = logging.getLogger(__name__)


class Bridge:
    """Joins leg `a` and leg `b` slot by slot (mic→mic, camera→camera, screen→screen).

    A slot is linked as soon as one leg receives it and the other can send
    it, whatever the order in which legs connect or renegotiate; the bridge
    re-checks whenever either leg's tracks change. `on_media()` is called
    once, when the first frame has been forwarded in each direction.
    """

    def __init__(self, a: Leg, b: Leg, on_media: Callable[[], None] | None = None) -> None:
        if a is b:
            raise ValueError("cannot bridge a leg to itself")
        self.a = a
        self.b = b
        self._on_media = on_media
        self._links: dict[tuple[int, SlotKey], tuple[Tap, OutputTrack]] = {}
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
                linked = self._links.get((direction, key))
                if linked == (tap, output):
                    continue
                tap.sink = self._forwarder(direction, tap, output, dst)
                self._links[(direction, key)] = (tap, output)

    def _forwarder(self, direction: int, tap: Tap, output: OutputTrack, dst: Leg) -> Callable[[Frame], None]:
        def forward(frame: Frame) -> None:
            output.push(frame, tap)
            # Media flows once a frame reaches a sender that is actually
            # connected (frames queued for a leg still connecting do not count).
            if not self._flowing[direction] and dst.state == "connected":
                self._flowing[direction] = True
                self._maybe_report()

        return forward

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
        for tap, output in self._links.values():
            tap.sink = None
            output.clear()
        self._links.clear()

    async def close(self) -> None:
        """Unbridge (see :meth:`detach`); async for symmetry with legs."""
        self.detach()

    def __repr__(self) -> str:
        return f"<Bridge {self.a!r} <-> {self.b!r} links={len(self._links)}>"
