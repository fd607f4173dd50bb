"""The supervisor monitor: an administrator's receive-only leg fed from both parties of a session.

The administrator's leg offers, in this order (see docs/contract.md):

======  ==========================  =====================
m-line  carries                      slot of the admin leg
======  ==========================  =====================
1       caller's microphone          ("audio", 0)
2       caller's camera              ("video", 0)
3       specialist's microphone      ("audio", 1)
4       specialist's camera          ("video", 1)
5       caller's screen (optional)   ("video", 2)
6       specialist's screen (opt.)   ("video", 3)
======  ==========================  =====================

A :class:`Monitor` is a fan-out: each linked slot adds one more packet sink
to the party's :class:`~.relay.Tap`, next to the bridge's link and the
recorder's, and pushes the same encoded frames to the admin leg's
:class:`~.relay.OutputTrack`. Nothing is decoded or encoded; the bridge and
the recording do not notice. A keyframe is requested upstream when a video
slot is linked (the first picture at once), and keyframe requests from the
administrator's browser reach the party's sender like a bridged party's do.

Silence is structural: the monitor only ever reads the parties' taps and
writes the admin leg's outputs. Whatever the administrator's leg receives is
never linked anywhere.

A monitor follows the session's legs, not its bridge: the plane points it
at the legs each time the session is bridged (first bridge, after a leg was
replaced), and it keeps listening while the call is on hold. A slot whose
codecs differ between the party's leg and the admin leg (an H.264 party) is
left unlinked: the monitor never transcodes.
"""

from __future__ import annotations

import logging

from .aiortc_hooks import EncodedFrame
from .leg import Leg, SlotKey
from .relay import OutputTrack, Tap

logger = logging.getLogger(__name__)

CALLER, SPECIALIST = 0, 1
# Admin leg slot -> (party, that party's slot).
MONITOR_SLOTS: dict[SlotKey, tuple[int, SlotKey]] = {
    ("audio", 0): (CALLER, ("audio", 0)),
    ("video", 0): (CALLER, ("video", 0)),
    ("audio", 1): (SPECIALIST, ("audio", 0)),
    ("video", 1): (SPECIALIST, ("video", 0)),
    ("video", 2): (CALLER, ("video", 1)),
    ("video", 3): (SPECIALIST, ("video", 1)),
}
PARTY_NAMES = ("caller", "specialist")


class Monitor:
    """Feeds `leg` (the administrator's) with what both parties of `session_id` send."""

    def __init__(self, session_id: str, leg: Leg) -> None:
        self.session_id = session_id
        self.leg = leg
        self._sources: list[Leg | None] = [None, None]
        self._links: dict[SlotKey, tuple[Tap, OutputTrack]] = {}
        self.forwarded: dict[SlotKey, int] = {}
        self._closed = False
        leg.watch(self._sync)
        self._sync()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def sources(self) -> tuple[Leg | None, Leg | None]:
        return self._sources[CALLER], self._sources[SPECIALIST]

    def involves(self, leg: Leg) -> bool:
        return leg is self.leg or leg in self._sources

    def follow(self, caller: Leg | None, specialist: Leg | None) -> None:
        """Take the parties' media from these legs (the session was bridged)."""
        if self._closed:
            return
        new = [caller, specialist]
        for old in self._sources:
            if old is not None and old not in new:
                old.unwatch(self._sync)
        for leg in new:
            if leg is not None and leg not in self._sources:
                leg.watch(self._sync)
        self._sources = new
        self._sync()

    def forget(self, leg: Leg) -> None:
        """A party's leg closed: its slots fall silent until :meth:`follow` gives another."""
        if leg in self._sources:
            leg.unwatch(self._sync)
            self._sources = [None if s is leg else s for s in self._sources]
            self._sync()

    def links(self) -> dict[str, str]:
        """What is linked, e.g. {"audio0": "caller audio0", "video1": "specialist video0"}."""
        out: dict[str, str] = {}
        for key in self._links:
            party, src = MONITOR_SLOTS[key]
            out[f"{key[0]}{key[1]}"] = f"{PARTY_NAMES[party]} {src[0]}{src[1]}"
        return out

    def _wanted(self, outputs: dict[SlotKey, OutputTrack]) -> dict[SlotKey, tuple[Tap, OutputTrack]]:
        wanted: dict[SlotKey, tuple[Tap, OutputTrack]] = {}
        for key, (party, src_key) in MONITOR_SLOTS.items():
            output = outputs.get(key)
            source = self._sources[party]
            if output is None or source is None or source.closed:
                continue
            tap = source.inputs().get(src_key)
            if tap is None:
                continue
            mime = tap.mime_negotiated
            if mime is None or mime != output.mime_negotiated:
                continue  # never transcoded for a monitor (see the module notes)
            wanted[key] = (tap, output)
        return wanted

    def _sync(self) -> None:
        if self._closed:
            return
        wanted = self._wanted(self.leg.outputs()) if not self.leg.closed else {}
        for key in [k for k, linked in self._links.items() if wanted.get(k) != linked]:
            self._unlink(key)
        for key, (tap, output) in wanted.items():
            if key not in self._links:
                self._link(key, tap, output)

    def _link(self, key: SlotKey, tap: Tap, output: OutputTrack) -> None:
        want = output.mime_negotiated
        self.forwarded.setdefault(key, 0)

        def forward(frame: EncodedFrame) -> None:
            if frame.mime == want:
                output.push(frame, tap)
                self.forwarded[key] += 1

        tap.add_sink((self, key), forward)
        output.upstream = tap  # the administrator's keyframe requests go to the party
        tap.request_keyframe(force=True)  # the first picture at once
        self._links[key] = (tap, output)

    def _unlink(self, key: SlotKey) -> None:
        tap, output = self._links.pop(key)
        tap.remove_sink((self, key))
        output.clear()

    def detach(self) -> None:
        """Stop feeding the admin leg (idempotent); the legs stay open."""
        if self._closed:
            return
        self._closed = True
        self.leg.unwatch(self._sync)
        for source in self._sources:
            if source is not None:
                source.unwatch(self._sync)
        for key in list(self._links):
            self._unlink(key)
        self._sources = [None, None]

    def __repr__(self) -> str:
        return f"<Monitor {self.session_id[:8]} -> {self.leg!r} links={len(self._links)}>"
