"""The relay: how media received on one leg reaches another leg's sender.

Two modes per bridged slot (see docs/media.md):

- **passthrough** (default): the encoded frames a leg receives (taken from the
  receiver's jitter buffer output by :mod:`.aiortc_hooks`) are handed to the
  other leg's sender, which packetizes them without encoding. Nothing is
  decoded or encoded on the server, and a frame's bytes are never copied: one
  immutable :class:`~.aiortc_hooks.EncodedFrame` per received frame goes to
  every sink (bridge link, recorder, monitor), and each output only restamps
  it. A sender that gets a keyframe request (PLI/FIR) forwards it upstream,
  rate-limited.
- **transcode**: the receiver decodes (aiortc's decoder thread) and the other
  leg's sender re-encodes. Used when the two legs negotiated different codecs,
  or everywhere with ``VW_RELAY=transcode``.

A :class:`Tap` always sees the encoded frames, whatever the mode, so the
recorder muxes the received frames in both modes.

With adaptation on (``VW_ADAPTATION=on``, :mod:`.adaptation`), a tap forwards
audio packet by packet, skips a video hole nobody repaired, limits the NACKs
it sends upstream, and announces upstream (REMB) the lowest estimate of every
output it feeds; an output answers NACKs within a budget, has its leg's video
paced, and pauses video when its receiver's estimate is too low for video
(``on_video``).

aiortc's `MediaRelay` is not used: its subscribers get what the receiver's
track returns (decoded frames), its reader task cannot be cancelled, and
unbuffered it drops frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Union

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack, convert_timebase
from aiortc.rtcrtptransceiver import RTCRtpTransceiver
from av.frame import Frame

from . import adaptation, aiortc_hooks
from .aiortc_hooks import EncodedFrame

logger = logging.getLogger(__name__)

Item = Union[Frame, EncodedFrame]
FrameSink = Callable[[Frame], None]
PacketSink = Callable[[EncodedFrame], None]  # shared by all sinks: never mutated
VideoCallback = Callable[["OutputTrack", str], None]  # (output, "paused" | "resumed")

# Items waiting for the sender. Small, so a slow sender drops old media rather
# than adding latency (an encoded video frame is several RTP packets).
_QUEUE_ITEMS = {"audio": 10, "video": 5}
_NOTHING_DELIVERED = (0.0, -1e9)  # (bit/s, when) before any receiver report
# At most one keyframe request upstream per this many seconds (per tap).
KEYFRAME_INTERVAL_S = 0.5


class Tap:
    """One received slot of a leg, for the life of the leg.

    Encoded frames go to every packet sink (a bridge link in passthrough, the
    recorder); decoded frames exist only while a frame sink is set
    (transcoding). With no sink at all, frames are counted and dropped: an
    idle leg neither decodes nor keeps anything.
    """

    def __init__(self, transceiver: RTCRtpTransceiver, *, adapt: bool = False) -> None:
        self.transceiver = transceiver
        self.receiver = transceiver.receiver
        self.track: MediaStreamTrack = transceiver.receiver.track
        self.kind: str = self.track.kind
        self.frames = 0  # encoded frames received
        self.decoded = 0  # decoded frames delivered to a frame sink
        self.mime: str | None = None  # codec of the last frame received
        self._packet_sinks: dict[object, PacketSink] = {}
        self._fanout: tuple[PacketSink, ...] = ()  # snapshot of the sinks, rebuilt when they change
        self._frame_sink: FrameSink | None = None
        self._splitter = aiortc_hooks.tap_receiver(self.receiver, self._on_packet)
        self._last_keyframe_request = -1e9
        self._keyframe_pending = False
        self._rtcp_tasks: set[asyncio.Task[None]] = set()
        self.keyframe_requests = 0  # PLIs actually sent upstream
        self.outputs: set[OutputTrack] = set()  # those whose upstream this is (they set it)
        self.adapt = adapt
        self.nacks = adaptation.NackFilter()
        self.own_estimate: int | None = None  # what this receiver's estimator said last (bit/s)
        self.announced: int | None = None  # the last REMB sent upstream
        self._announcer: asyncio.Task[None] | None = None
        if adapt and self.kind == "audio":
            aiortc_hooks.forward_packet_by_packet(self.receiver)
        elif adapt:
            aiortc_hooks.skip_video_holes(self.receiver, adaptation.HOLE_WAIT_S)
            aiortc_hooks.limit_remb(self.receiver, self._limit_own_remb)
            aiortc_hooks.filter_nacks(self.receiver, self._keep_nacks)
            self._announcer = asyncio.ensure_future(self._announce_loop())
        self._task = asyncio.ensure_future(self._read_decoded())

    @property
    def splitter(self) -> aiortc_hooks.FrameSplitter:
        return self._splitter

    @property
    def mime_negotiated(self) -> str | None:
        return aiortc_hooks.negotiated_mime(self.transceiver)

    # encoded

    @property
    def packet_sinks(self) -> Mapping[object, PacketSink]:
        """The packet sinks by key (read-only: use :meth:`add_sink` / :meth:`remove_sink`)."""
        return MappingProxyType(self._packet_sinks)

    def add_sink(self, key: object, sink: PacketSink) -> None:
        """Give every encoded frame to `sink(frame)` from now on (replacing any sink under `key`)."""
        self._packet_sinks[key] = sink
        self._fanout = tuple(self._packet_sinks.values())

    def remove_sink(self, key: object) -> None:
        if self._packet_sinks.pop(key, None) is not None:
            self._fanout = tuple(self._packet_sinks.values())

    def _on_packet(self, mime: str, frame: EncodedFrame) -> None:
        self.frames += 1
        self.mime = mime
        if self._keyframe_pending:
            self.request_keyframe(force=True)
        # The tuple is immutable, so a sink that adds or removes sinks does not
        # disturb this loop (the change applies from the next frame).
        for sink in self._fanout:
            try:
                sink(frame)
            except Exception:
                logger.exception("packet sink failed")

    def request_keyframe(self, force: bool = False) -> bool:
        """Ask the sender upstream for a keyframe (video only; rate-limited unless forced)."""
        if self.kind != "video":
            return False
        now = time.monotonic()
        if not force and now - self._last_keyframe_request < KEYFRAME_INTERVAL_S:
            return False
        if not aiortc_hooks.request_keyframe(self.receiver, self._rtcp_tasks):
            self._keyframe_pending = True  # nothing received yet: ask on the first frame
            return False
        self._keyframe_pending = False
        self._last_keyframe_request = now
        self.keyframe_requests += 1
        return True

    # adaptation

    def downstream_estimate(self) -> int | None:
        """The lowest estimate of the outputs this slot feeds (None: none known)."""
        return adaptation.remb_minimum(None, (out.estimate() for out in self.outputs))

    def _limit_own_remb(self, own: int) -> int:
        self.own_estimate = own
        self.announced = adaptation.remb_minimum(own, [self.downstream_estimate()])
        return self.announced  # type: ignore[return-value]

    def estimate_changed(self) -> None:
        """An output's estimate changed: announce a fall upstream at once."""
        target = adaptation.remb_minimum(self.own_estimate, [self.downstream_estimate()])
        if target is not None and (self.announced is None or target < self.announced * adaptation.REMB_DROP):
            self._announce(target)

    def _announce(self, bitrate: int) -> None:
        if aiortc_hooks.send_remb(self.receiver, bitrate, self._rtcp_tasks):
            self.announced = bitrate

    async def _announce_loop(self) -> None:
        # The receiver's own estimator speaks only every 0.5 s at best, and not at all for its
        # first 3 s: what the outputs need is said on this beat too.
        while True:
            await asyncio.sleep(adaptation.REMB_INTERVAL_S)
            downstream = self.downstream_estimate()
            if downstream is not None:
                self._announce(adaptation.remb_minimum(self.own_estimate, [downstream]))  # type: ignore[arg-type]

    def _keep_nacks(self, lost: list[int]) -> list[int]:
        return self.nacks.filter(lost, time.monotonic(), aiortc_hooks.sender_rtt(self.transceiver.sender))

    # decoded

    @property
    def frame_sink(self) -> FrameSink | None:
        return self._frame_sink

    @frame_sink.setter
    def frame_sink(self, sink: FrameSink | None) -> None:
        """Setting a sink turns decoding on (and asks for a keyframe to start from)."""
        was = self._frame_sink is not None
        self._frame_sink = sink
        self._splitter.decode = sink is not None
        if sink is not None and not was:
            self.request_keyframe(force=True)

    async def _read_decoded(self) -> None:
        while True:
            try:
                frame = await self.track.recv()
            except MediaStreamError:
                return  # the receiver stopped: the leg is closing
            sink = self._frame_sink
            if sink is not None:
                self.decoded += 1
                try:
                    sink(frame)
                except Exception:  # a broken sink must not stop the leg's media
                    logger.exception("relay sink failed")

    async def stop(self) -> None:
        self._packet_sinks.clear()
        self._fanout = ()
        self.frame_sink = None
        for task in (self._task, self._announcer):
            if task is None:
                continue
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for task in list(self._rtcp_tasks):
            task.cancel()
        await asyncio.gather(*self._rtcp_tasks, return_exceptions=True)


class OutputTrack(MediaStreamTrack):
    """The track a leg's sender always holds.

    With nothing pushed, `recv()` simply waits, so the sender encodes and
    sends no RTP at all: an idle leg costs nothing. The sender is never given
    another track (its RTP loop would stay blocked on the old one) and never
    sees this track end (its RTP loop would exit for good).

    It carries decoded frames (the sender encodes them) or encoded frames
    (the sender only packetizes them). Timestamps are rewritten to run on
    continuously across sources, because the far end's receiver reads a
    backwards jump as a 32-bit wrap-around. After a switch to a new source of
    encoded video, packets are held back until its first keyframe, which is
    requested at once, so the far end's first picture decodes.

    With `adapt`, its sender answers NACKs through a
    :class:`~.adaptation.RetransmitGate`, and what its receiver estimates
    (REMB) is kept, sizes the retransmission budget, goes to the upstream tap,
    and (video) drives a :class:`~.adaptation.VideoGate`: `on_video(self,
    "paused" | "resumed")` is called when video stops or comes back.
    """

    def __init__(self, kind: str, transceiver: RTCRtpTransceiver | None = None, *, adapt: bool = False,
                 pacer: adaptation.Pacer | None = None) -> None:
        super().__init__()
        self.kind = kind
        self.transceiver = transceiver
        self._queue: asyncio.Queue[Item] = asyncio.Queue(_QUEUE_ITEMS.get(kind, 5))
        self._source: object | None = None
        self._offset: int | None = None  # added to incoming pts; None: new source
        self._last_pts: int | None = None
        self._last_step = 0
        self._time_base: fractions.Fraction | None = None
        self._awaiting_keyframe = False
        self._upstream: Tap | None = None
        self.frames = 0
        self.dropped = 0
        self.keyframe_requests = 0  # received from the far end
        self.on_video: VideoCallback | None = None
        self.retransmits = adaptation.RetransmitGate()
        self.congestion = adaptation.Congestion()
        self.loss_window = adaptation.LossWindow()
        self.queue_delay = adaptation.QueueDelay()
        self.nack_share = adaptation.NackShare()
        self._nack_loss_at = -1e9
        self.video_gate = adaptation.VideoGate(self._video_changed) if adapt and kind == "video" else None
        self.paused_frames = 0  # video frames not sent while paused
        self._sent: deque[tuple[float, int]] = deque()  # (when, bytes) of the video queued lately
        self._estimate: int | None = None
        self._estimate_at = 0.0
        self._delivered = _NOTHING_DELIVERED  # (bit/s, when): what got through, by the receiver's reports
        self._loss_keyframe_at = -1e9
        self.pacer = pacer if adapt else None
        if transceiver is not None:
            aiortc_hooks.on_keyframe_request(transceiver.sender, self._on_keyframe_request)
            if adapt:
                aiortc_hooks.gate_retransmissions(transceiver.sender, self._retransmit)
                aiortc_hooks.on_remb(transceiver.sender, self._on_remb, self._on_report)
                if self.pacer is not None:  # the leg's: its video waits there, its audio is charged
                    aiortc_hooks.pace_sends(transceiver.sender, self.pacer.delay, paced=kind == "video")

    @property
    def upstream(self) -> Tap | None:
        """Where keyframe requests go, and whose REMB counts this output's estimate (passthrough)."""
        return self._upstream

    @upstream.setter
    def upstream(self, tap: Tap | None) -> None:
        if self._upstream is not None:
            self._upstream.outputs.discard(self)
        self._upstream = tap
        if tap is not None:
            tap.outputs.add(self)

    # adaptation

    def estimate(self, now: float | None = None) -> int | None:
        """What this output's receiver estimated last (REMB, bit/s); None if never or long ago.

        A paused output keeps its estimate (no video reaches the receiver to refresh it)."""
        if self._estimate is None:
            return None
        now = time.monotonic() if now is None else now
        return self._estimate if self.video_held or now - self._estimate_at <= adaptation.ESTIMATE_TTL_S else None

    @property
    def video_held(self) -> bool:
        """Video to this output is paused, or being retried after a pause."""
        return self.video_gate is not None and self.video_gate.state != adaptation.ON

    def _on_remb(self, bitrate: int) -> None:
        now = time.monotonic()
        sending = self.video_bps(now)
        # Only a congested receiver's estimate is taken as it is (see adaptation.Congestion).
        raw, congested, delivered = bitrate, self.congested(now), self.delivered_bps(now)
        bitrate = adaptation.believed_estimate(bitrate, sending, congested, delivered)
        self._estimate, self._estimate_at = bitrate, now
        # Repair's budget: a share of what the link takes, by its (believed) estimate or by what
        # reaches it now: an uncongested receiver's covers random loss (UNCONGESTED_HEADROOM).
        self.retransmits.set_estimate(max(bitrate, sending))
        if self.video_gate is not None:
            self.video_gate.estimate(raw, now, sending, congested, delivered)
            if self.pacer is not None:
                self.pacer.set_rate(bitrate, sending, now)
        if self._upstream is not None:
            self._upstream.estimate_changed()

    def _on_report(self, highest_seq: int, lost: int, rtt_s: float | None) -> None:
        now = time.monotonic()
        if rtt_s is not None:
            delay = self.queue_delay.sample(rtt_s, now)
            if self.video_gate is not None:
                self.video_gate.queue(delay, now)
        fraction = self.loss_window.report(highest_seq, lost, now)
        if fraction is not None:
            self._delivered = (adaptation.delivered_bps(self.video_bps(now), fraction), now)
            self._loss(fraction, now)

    def _loss(self, fraction: float, now: float) -> None:
        """`fraction` of this output's packets were lost lately (a loss window, or the NACKs)."""
        self.congestion.report(fraction, now)
        if self.kind == "audio" and self.pacer is not None:
            self.pacer.audio_lost(fraction, now)  # the link's, for the leg's video too
        if self.video_gate is not None:
            self.video_gate.loss(fraction, now)

    def delivered_bps(self, now: float) -> float:
        """Bit/s of video that reached the receiver over its last loss window (0 if long ago)."""
        bps, at = self._delivered
        return bps if now - at <= adaptation.ESTIMATE_TTL_S else 0.0

    def congested(self, now: float) -> bool:
        """Whether this output's receiver is congested: lately lossy (its own packets, or the leg's
        audio), or its video is held back."""
        return self.video_held or self.congestion.congested(now) or (
            self.pacer is not None and self.pacer.congestion.congested(now))

    def video_bps(self, now: float) -> float:
        """Bit/s of video queued for this output over the last RATE_WINDOW_S."""
        while self._sent and self._sent[0][0] < now - adaptation.RATE_WINDOW_S:
            self._sent.popleft()
        return sum(size for _, size in self._sent) * 8 / adaptation.RATE_WINDOW_S

    def _retransmit(self, seq: int, size: int | None, rtt: float | None, packets_sent: int) -> bool:
        now = time.monotonic()
        nacked = self.nack_share.nacked(seq, now, packets_sent)
        trying = self.video_gate is not None and self.video_gate.state == adaptation.PROBING
        if nacked is not None and adaptation.nack_loss(*nacked, trying) \
                and now - self._nack_loss_at >= adaptation.NACK_WINDOW_S:
            self._nack_loss_at = now  # told as a receiver report's loss would be, once per window
            self._loss(nacked[0], now)
        outcome = self.retransmits.decide(seq, size, now, rtt)
        if (outcome == adaptation.GIVEN_UP and self._upstream is not None and self.kind == "video"
                and now - self._loss_keyframe_at >= adaptation.KEYFRAME_ON_LOSS_S):
            self._loss_keyframe_at = now  # unrecoverable loss: start again from a keyframe, now and then
            self._upstream.request_keyframe()
        return outcome == adaptation.RESEND

    def _video_changed(self, event: str) -> None:
        if self.on_video is not None:
            try:
                self.on_video(self, event)
            except Exception:
                logger.exception("video state callback failed")

    def _video_allowed(self, item: Item, encoded: bool) -> bool:
        """False while the video gate holds video back; a try starts at a keyframe."""
        gate = self.video_gate
        if gate is None or not encoded:
            return True
        was = gate.state
        now = time.monotonic()
        if not gate.allows(now):
            self.paused_frames += 1
            return False
        self._sent.append((now, len(item.data)))
        if was == adaptation.PAUSED:  # a try starts now: from a keyframe, asked for at once
            self.loss_window.reset()  # judged by its own packets
            self._delivered = _NOTHING_DELIVERED
            self._awaiting_keyframe = True
            if self._upstream is not None:
                self._upstream.request_keyframe(force=True)
        return True

    @property
    def mime_negotiated(self) -> str | None:
        return aiortc_hooks.negotiated_mime(self.transceiver) if self.transceiver is not None else None

    def _on_keyframe_request(self) -> None:
        self.keyframe_requests += 1
        if self.upstream is not None:
            self.upstream.request_keyframe()

    def push(self, item: Item, source: object) -> None:
        """Queue a decoded frame, or a shared encoded frame, from `source` (anything identifying the upstream)."""
        encoded = isinstance(item, EncodedFrame)
        if source is not self._source:
            self._source = source
            self._offset = None  # set from its first item
            self._awaiting_keyframe = encoded and self.kind == "video"
        if not self._video_allowed(item, encoded):
            return
        if self._awaiting_keyframe:
            if not item.keyframe:
                self.dropped += 1
                # Keep asking (rate-limited): a request can be lost or come too early.
                if self.upstream is not None:
                    self.upstream.request_keyframe()
                return
            self._awaiting_keyframe = False
        pts = self._restamp(item.pts, item.time_base)
        if pts is not None:
            if encoded:
                item = item.at(pts)  # the other sinks share the received frame: restamp a new record
            else:
                item.pts = pts  # a decoded frame goes to this output only
        if self._queue.full():
            self._queue.get_nowait()  # drop the oldest: latency matters more
            self.dropped += 1
            if self.kind == "video" and encoded:
                # A hole in encoded video: resume at the next keyframe.
                self._awaiting_keyframe = not item.keyframe
                if self.upstream is not None:
                    self.upstream.request_keyframe()
                if self._awaiting_keyframe:
                    return
        self._queue.put_nowait(item)

    def clear(self) -> None:
        """Forget queued items and the current source (unbridged)."""
        self._source = None
        self.upstream = None
        if self.video_gate is not None:
            self.video_gate.reset()
            if self.pacer is not None:
                self.pacer.reset()
        # What was learnt of the receiver's link from the last call's media is not this call's (a
        # specialist's leg outlives its calls); the path's shortest round trip still holds.
        self.congestion = adaptation.Congestion()
        self.loss_window.reset()
        self.nack_share = adaptation.NackShare()
        self._estimate = None
        self._delivered = _NOTHING_DELIVERED
        self._sent.clear()
        while not self._queue.empty():
            self._queue.get_nowait()

    async def recv(self) -> Any:
        if self.readyState != "live":
            raise MediaStreamError
        item = await self._queue.get()
        self.frames += 1
        # Converted here, not when queued: frames dropped from the queue cost nothing.
        return aiortc_hooks.sendable(item) if isinstance(item, EncodedFrame) else item

    def _restamp(self, pts: int | None, time_base: fractions.Fraction | None) -> int | None:
        """This output's timestamp for an item stamped `pts` in `time_base` (None: unstamped)."""
        if pts is None or time_base is None:
            return None
        # Identity first: encoded frames carry one shared Fraction per clock, and
        # comparing Fractions by value costs more than the rest of this method.
        if self._time_base is not None and time_base is not self._time_base and time_base != self._time_base:
            # Another clock: carry what was sent over into the new time base.
            if self._last_pts is not None:
                self._last_pts = convert_timebase(self._last_pts, self._time_base, time_base)
                self._last_step = convert_timebase(self._last_step, self._time_base, time_base)
            self._offset = None
        self._time_base = time_base
        if self._offset is None:
            start = 0 if self._last_pts is None else self._last_pts + max(self._last_step, 1)
            self._offset = start - pts
        out = pts + self._offset
        if self._last_pts is not None:
            if out <= self._last_pts:  # never go backwards within a source either
                out = self._last_pts + 1
            self._last_step = out - self._last_pts
        self._last_pts = out
        return out
