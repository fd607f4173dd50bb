"""Network quality of one leg: figures from aiortc's RTP statistics, a level, and a summary.

Three parts, each with one job:

- :class:`LegMeter` reads one leg's counters every sampling period and turns
  their change into a :class:`Sample` (round-trip time, loss, jitter, bitrate
  and camera frame rate in each direction, seconds the camera froze);
- :class:`LevelTracker` classifies samples as good / fair / poor
  (:func:`classify`, thresholds below) with hysteresis, so that the level does
  not flap on one noisy sample;
- :func:`summarize` reduces a party's samples to the session log's summary.

Directions are named from the server: **in** is what the server receives from
the party (its uplink), **out** what the server sends to it (its downlink).
Where each figure comes from in aiortc 1.16 (docs/media.md#network-quality):

- loss and jitter **in**: what each receiver counts per media SSRC
  (cumulative packets received and lost, ``jitter`` in RTP clock units: the
  numbers of ``inbound-rtp``, read per SSRC through :mod:`.aiortc_hooks`
  because aiortc's report keeps only the last SSRC, the retransmission one
  once a packet was resent), differenced over the period: loss on the link,
  before retransmissions repair it;
- loss and jitter **out**, and the round-trip time: the senders'
  ``remote-inbound-rtp``, which aiortc fills from the party's RTCP receiver
  reports (cumulative ``packetsLost``; ``roundTripTime`` = now − LSR − DLSR,
  smoothed by aiortc with α = 0.85, in seconds). No report in the period: no
  figure;
- bitrate: the DTLS transport's ``bytesReceived`` / ``bytesSent`` (SRTP and
  RTCP included, all m-lines of the bundle), differenced;
- frame rate: the relay's own counters of the camera slot (:class:`~.relay.Tap`
  frames received, :class:`~.relay.OutputTrack` frames sent);
- freezes: a per-frame watch on the camera's tap (:class:`FreezeWatch`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

GOOD, FAIR, POOR = "good", "fair", "poor"
LEVELS = (GOOD, FAIR, POOR)
_RANK = {GOOD: 0, FAIR: 1, POOR: 2}
IN, OUT = "in", "out"

# (fair from, poor from) per figure; a sample is at the worst level any figure reaches.
# - Round-trip time, server <-> party: ITU-T G.114 finds one-way delay up to 150 ms acceptable
#   for most interactive use and over 400 ms unacceptable for network planning; this leg's RTT
#   of 300 ms / 800 ms is that one-way delay on this leg alone.
# - Loss: the loss-based controller of Google Congestion Control (draft-ietf-rmcat-gcc, used by
#   WebRTC) holds its rate between 2 % and 10 % loss and backs off above 10 %.
# - Jitter: 30 ms is the usual voice-over-IP target (Cisco's QoS guidance for voice); past 100 ms
#   a browser's adaptive jitter buffer adds delay that people hear.
THRESHOLDS: dict[str, tuple[float, float]] = {"rtt_ms": (300, 800), "loss_pct": (2, 10), "jitter_ms": (30, 100)}
# Hysteresis: a worse level is taken after WORSEN_AFTER samples in a row at (or beyond) it; a better
# one after IMPROVE_AFTER samples in a row whose figures are all below IMPROVE_MARGIN x its thresholds.
WORSEN_AFTER = 2
IMPROVE_AFTER = 3
IMPROVE_MARGIN = 0.8
# The session log: a party is poor over the call when poor in this share of its samples or more
# (fair likewise, counting fair and poor samples); a call is poor when either party is.
SUMMARY_SHARE = 0.2
# The W3C webrtc-stats freezeCount rule: a frame interval longer than max(3 x mean, mean + 150 ms).
FREEZE_FACTOR, FREEZE_EXTRA_S = 3.0, 0.150
_FRAME_EWMA = 1 / 16  # weight of a new frame interval in the mean (like a window of the last 30 frames)
CLOCK_RATES = {"audio": 48_000, "video": 90_000}  # Opus and VP8/H.264 RTP clocks
CAMERA = ("video", 0)


def worse(a: str, b: str) -> str:
    return a if _RANK[a] >= _RANK[b] else b


@dataclass(frozen=True)
class Direction:
    """One direction's figures over a period (None: nothing to measure it from)."""

    loss_pct: float | None = None
    jitter_ms: float | None = None
    kbps: int | None = None
    fps: float | None = None

    def as_dict(self) -> dict:
        return {"loss_pct": self.loss_pct, "jitter_ms": self.jitter_ms, "kbps": self.kbps, "fps": self.fps}


@dataclass(frozen=True)
class Sample:
    """One leg over one sampling period."""

    seconds: float
    rtt_ms: int | None = None
    inbound: Direction = field(default_factory=Direction)  # party -> server
    outbound: Direction = field(default_factory=Direction)  # server -> party
    frozen_s: float = 0.0

    @property
    def loss_pct(self) -> float | None:
        return _max(self.inbound.loss_pct, self.outbound.loss_pct)

    @property
    def jitter_ms(self) -> float | None:
        return _max(self.inbound.jitter_ms, self.outbound.jitter_ms)


def _max(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


def _level_of(figures: dict[str, float | None], scale: float) -> str:
    level = GOOD
    for name, value in figures.items():
        if value is None:
            continue
        fair, poor = THRESHOLDS[name]
        if value >= poor * scale:
            return POOR
        if value >= fair * scale:
            level = FAIR
    return level


def classify(sample: Sample, scale: float = 1.0) -> tuple[str, str | None]:
    """The sample's level without hysteresis, and the direction that sets it (None when good).

    The round-trip time belongs to both directions; a direction is blamed by its own loss and
    jitter, the inbound one on a tie."""
    rtt = {"rtt_ms": sample.rtt_ms}
    levels = {
        d: _level_of({**rtt, "loss_pct": fig.loss_pct, "jitter_ms": fig.jitter_ms}, scale)
        for d, fig in ((IN, sample.inbound), (OUT, sample.outbound))
    }
    level = worse(levels[IN], levels[OUT])
    if level == GOOD:
        return GOOD, None
    if levels[IN] != levels[OUT]:
        return level, IN if levels[IN] == level else OUT
    own = {d: _level_of({"loss_pct": f.loss_pct, "jitter_ms": f.jitter_ms}, scale)
           for d, f in ((IN, sample.inbound), (OUT, sample.outbound))}
    return level, OUT if _RANK[own[OUT]] > _RANK[own[IN]] else IN


class LevelTracker:
    """The reported level of one leg: :func:`classify` with hysteresis (see WORSEN_AFTER)."""

    def __init__(self) -> None:
        self.level: str | None = None
        self.direction: str | None = None
        self._worse: list[str] = []  # consecutive samples worse than the level
        self._better: list[str] = []  # consecutive samples clearly better

    def update(self, sample: Sample) -> tuple[str, str | None]:
        raw, direction = classify(sample)
        if self.level is None:  # the first sample sets the level
            self.level, self.direction = raw, direction
            return raw, direction
        if _RANK[raw] > _RANK[self.level]:
            self._better.clear()
            self._worse.append(raw)
            if len(self._worse) >= WORSEN_AFTER:  # the mildest of the run, so one bad sample does not decide
                self.level = min(self._worse, key=_RANK.__getitem__)
                self._worse.clear()
        else:
            self._worse.clear()
            clear, _ = classify(sample, IMPROVE_MARGIN)
            if _RANK[clear] < _RANK[self.level]:
                self._better.append(clear)
                if len(self._better) >= IMPROVE_AFTER:
                    self.level = max(self._better, key=_RANK.__getitem__)
                    self._better.clear()
            else:
                self._better.clear()
        # Which side is weak follows the figures of the moment (None once good).
        self.direction = None if self.level == GOOD else (direction or self.direction)
        return self.level, self.direction


# -- the session log's summary --------------------------------------------------------------------

def _percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest rank over sorted `values`."""
    if not values:
        return None
    return values[max(1, math.ceil(p / 100 * len(values))) - 1]


def _mean(values: Sequence[float], digits: int = 1) -> float | None:
    return round(sum(values) / len(values), digits) if values else None


def _present(samples: Iterable[dict], key: str) -> list[float]:
    return [s[key] for s in samples if s.get(key) is not None]


def summary_level(share: dict[str, float]) -> str:
    if share[POOR] >= SUMMARY_SHARE:
        return POOR
    if share[POOR] + share[FAIR] >= SUMMARY_SHARE:
        return FAIR
    return GOOD


def summarize(samples: Sequence[dict]) -> dict | None:
    """A party's summary over the call from its sample records (see :func:`sample_record`)."""
    if not samples:
        return None
    n = len(samples)
    counts = {level: 0 for level in LEVELS}
    for s in samples:
        counts[s["level"]] += 1
    share = {level: round(counts[level] / n, 3) for level in LEVELS}
    rtt = sorted(_present(samples, "rtt_ms"))
    loss = sorted(_present(samples, "loss_pct"))
    jitter = sorted(_present(samples, "jitter_ms"))
    blamed = [s["direction"] for s in samples if s["level"] != GOOD and s.get("direction")]
    kbps = {}
    for key in ("kbps_in", "kbps_out"):
        values = _present(samples, key)
        kbps[key] = {"mean": _mean(values, 0), "min": min(values) if values else None}
    return {
        "level": summary_level(share),
        "samples": n,
        "seconds": round(sum(s.get("seconds") or 0 for s in samples), 1),
        "share": share,
        "rtt_ms": {"p50": _percentile(rtt, 50), "p95": _percentile(rtt, 95), "max": rtt[-1] if rtt else None},
        "loss_pct": {"mean": _mean(loss, 2), "p95": _percentile(loss, 95), "max": loss[-1] if loss else None},
        "loss_in_pct": _mean(_present(samples, "loss_in_pct"), 2),
        "loss_out_pct": _mean(_present(samples, "loss_out_pct"), 2),
        "jitter_ms": {"p50": _percentile(jitter, 50), "p95": _percentile(jitter, 95)},
        **kbps,
        "fps": _mean(_present(samples, "fps")),
        "fps_out": _mean(_present(samples, "fps_out")),
        "freezes": sum(s.get("freezes") or 0 for s in samples),
        "frozen_s": round(sum(s.get("frozen_s") or 0 for s in samples), 1),
        "weak": max((IN, OUT), key=blamed.count) if blamed else None,
    }


def call_level(summaries: Iterable[dict | None]) -> str | None:
    """The call's level: the worse party's (None when no party was measured)."""
    levels = [s["level"] for s in summaries if s]
    if not levels:
        return None
    level = GOOD
    for other in levels:
        level = worse(level, other)
    return level


def sample_record(at: str, party: str, sample: Sample, level: str, direction: str | None, freezes: int = 0) -> dict:
    """What is kept of a sample: a `quality_samples` row, and the input of :func:`summarize`."""
    return {
        "at": at, "party": party, "level": level, "direction": direction, "seconds": round(sample.seconds, 2),
        "rtt_ms": sample.rtt_ms, "loss_pct": sample.loss_pct, "loss_in_pct": sample.inbound.loss_pct,
        "loss_out_pct": sample.outbound.loss_pct, "jitter_ms": sample.jitter_ms,
        "kbps_in": sample.inbound.kbps, "kbps_out": sample.outbound.kbps,
        "fps": sample.inbound.fps, "fps_out": sample.outbound.fps,
        "frozen_s": round(sample.frozen_s, 2), "freezes": freezes,
    }


def quality_message(call_id: str, party: str, sample: Sample, level: str, direction: str | None) -> dict:
    """S→C `call:quality` (docs/contract.md)."""
    return {
        "call_id": call_id, "party": party, "level": level, "rtt_ms": sample.rtt_ms,
        "loss_pct": sample.loss_pct, "kbps": sample.inbound.kbps, "jitter_ms": sample.jitter_ms,
        "direction": direction, "in": sample.inbound.as_dict(), "out": sample.outbound.as_dict(),
        "frozen_s": round(sample.frozen_s, 2),
    }


# -- measuring one leg ------------------------------------------------------------------------------

class FreezeWatch:
    """Camera frames as they arrive: freezes by the W3C freezeCount rule, and their seconds.

    Given every received camera frame (a packet sink of the camera's tap: one call and a clock
    read per frame). `frozen_total(now)` includes a freeze still going on: video that stopped
    arriving, whatever the reason (a weak network, a stalled camera)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last: float | None = None
        self._mean: float | None = None  # mean frame interval, s
        self.freezes = 0
        self._frozen_s = 0.0  # completed freezes

    def frame(self, _frame: Any = None) -> None:
        now = self._clock()
        if self._last is not None:
            gap = now - self._last
            if self._mean is not None and gap > self._limit():
                self.freezes += 1
                self._frozen_s += gap
            # Freezes count in the mean too (as in a browser's window of recent frames), so a frame
            # rate that stays lower (a camera turned off sends a black frame a second) soon stops counting.
            self._mean = gap if self._mean is None else self._mean + _FRAME_EWMA * (gap - self._mean)
        self._last = now

    def _limit(self) -> float:
        assert self._mean is not None
        return max(FREEZE_FACTOR * self._mean, self._mean + FREEZE_EXTRA_S)

    def frozen_total(self, now: float | None = None) -> float:
        """Seconds frozen so far, the current gap included once it counts as a freeze."""
        if self._last is None or self._mean is None:
            return self._frozen_s
        gap = (self._clock() if now is None else now) - self._last
        return self._frozen_s + (gap if gap > self._limit() else 0.0)


@dataclass
class _Counters:
    at: float
    transport: tuple[int, int]  # bytes received, bytes sent
    inbound: dict[str, tuple[int, int, int, str]]  # media stream -> (received, lost, jitter units, kind)
    remote: dict[str, tuple[int, int, int, float | None, str]]  # sender -> (expected, lost, jitter, rtt s, kind)
    frames_in: int
    frames_out: int
    frozen_s: float
    freezes: int


class LegMeter:
    """Samples one leg: each call to :meth:`sample` reports the change since the previous one.

    The first call only takes the starting counters (returns None). `close()` removes the
    freeze watch from the camera's tap."""

    def __init__(self, leg: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self.leg = leg
        self._clock = clock
        self._prev: _Counters | None = None
        self.freeze = FreezeWatch(clock)
        self._camera: Any = None  # the tap the freeze watch is on
        self._key = ("quality", id(self))

    def _watch_camera(self) -> Any:
        tap = self.leg.inputs().get(CAMERA)
        if tap is not self._camera:
            if self._camera is not None:
                self._camera.remove_sink(self._key)
            if tap is not None:
                tap.add_sink(self._key, self.freeze.frame)
            self._camera = tap
        return tap

    def restart(self) -> None:
        """Forget the previous counters: the next :meth:`sample` only takes new starting ones."""
        self._prev = None

    def close(self) -> None:
        if self._camera is not None:
            self._camera.remove_sink(self._key)
            self._camera = None

    async def _counters(self) -> _Counters:
        now = self._clock()
        inbound: dict[str, tuple[int, int, int, str]] = {}
        remote: dict[str, tuple[int, int, int, float | None, str]] = {}
        transports: dict[str, tuple[int, int]] = {}
        sent, received = await self.leg.rtp_stats()
        for kind, key, got, lost, jitter in received:
            inbound[key] = (got, lost, jitter, kind)
        for stats in sent:
            if stats.type == "remote-inbound-rtp":
                remote[stats.id] = (stats.packetsReceived + stats.packetsLost, stats.packetsLost, stats.jitter,
                                    stats.roundTripTime, stats.kind)
            elif stats.type == "transport":
                transports[stats.id] = (stats.bytesReceived, stats.bytesSent)
        camera = self._watch_camera()
        output = self.leg.outputs().get(CAMERA)
        return _Counters(
            at=now,
            transport=(sum(t[0] for t in transports.values()), sum(t[1] for t in transports.values())),
            inbound=inbound, remote=remote,
            frames_in=camera.frames if camera is not None else 0,
            frames_out=output.frames if output is not None else 0,
            frozen_s=self.freeze.frozen_total(now), freezes=self.freeze.freezes,
        )

    async def sample(self) -> tuple[Sample, int] | None:
        """The period's sample and the freezes that started in it (None on the first call)."""
        now = await self._counters()
        prev, self._prev = self._prev, now
        if prev is None:
            return None
        seconds = max(now.at - prev.at, 1e-3)
        inbound = Direction(
            loss_pct=_loss(now.inbound, prev.inbound, received_first=True),
            jitter_ms=_jitter(now.inbound, kind_at=3, jitter_at=2),
            kbps=_kbps(now.transport[0] - prev.transport[0], seconds),
            fps=_fps(now.frames_in - prev.frames_in, seconds, now.frames_in),
        )
        outbound = Direction(
            loss_pct=_loss(now.remote, prev.remote, received_first=False),
            jitter_ms=_jitter({k: v for k, v in now.remote.items() if _fresh(v, prev.remote.get(k))},
                              kind_at=4, jitter_at=2),
            kbps=_kbps(now.transport[1] - prev.transport[1], seconds),
            fps=_fps(now.frames_out - prev.frames_out, seconds, now.frames_out),
        )
        sample = Sample(seconds=seconds, rtt_ms=_rtt(now.remote), inbound=inbound, outbound=outbound,
                        frozen_s=min(seconds, max(0.0, now.frozen_s - prev.frozen_s)))
        return sample, now.freezes - prev.freezes


def _fresh(now: tuple, prev: tuple | None) -> bool:
    """A new receiver report arrived in the period (its counters moved)."""
    return prev is None or now[0] != prev[0] or now[1] != prev[1]


def _loss(now: dict, prev: dict, *, received_first: bool) -> float | None:
    """Lost over expected in the period, summed over the streams, in percent."""
    expected = lost = 0
    for key, figures in now.items():
        before = prev.get(key)
        if before is None:
            continue
        if received_first:  # inbound: (received, lost, ...)
            d_lost = figures[1] - before[1]
            d_expected = (figures[0] + figures[1]) - (before[0] + before[1])
        else:  # remote-inbound: (expected, lost, ...)
            d_lost = figures[1] - before[1]
            d_expected = figures[0] - before[0]
        if d_expected > 0:
            expected += d_expected
            lost += min(max(d_lost, 0), d_expected)  # duplicates and retransmissions can make it negative
    return round(100 * lost / expected, 2) if expected else None


def _jitter(streams: dict, *, kind_at: int, jitter_at: int) -> float | None:
    """Audio's jitter (the one people hear), else video's; RTP clock units to ms."""
    by_kind: dict[str, float] = {}
    for figures in streams.values():
        kind = figures[kind_at]
        ms = 1000 * figures[jitter_at] / CLOCK_RATES.get(kind, 90_000)
        by_kind[kind] = max(by_kind.get(kind, 0.0), ms)
    value = by_kind.get("audio", by_kind.get("video"))
    return None if value is None else round(value, 1)


def _rtt(remote: dict) -> int | None:
    """The round-trip time aiortc estimated from the party's receiver reports (audio's first)."""
    by_kind = {figures[4]: figures[3] for figures in remote.values() if figures[3] is not None}
    rtt = by_kind.get("audio", by_kind.get("video"))
    return None if rtt is None else round(rtt * 1000)


def _kbps(delta_bytes: int, seconds: float) -> int:
    return round(max(delta_bytes, 0) * 8 / seconds / 1000)


def _fps(delta_frames: int, seconds: float, total: int) -> float | None:
    return round(max(delta_frames, 0) / seconds, 1) if total else None  # None: this slot never carried video
