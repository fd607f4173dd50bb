"""Adaptation in passthrough: the policies, free of aiortc (the hooks are in :mod:`.aiortc_hooks`).

The server forwards encoded media, so it cannot re-encode for a weak receiver. What it can do,
per received slot (:class:`~.relay.Tap`) and per sending output (:class:`~.relay.OutputTrack`):

- **repair hop by hop, within budget** — a sender answers its receiver's NACKs from its own
  history, but each packet at most once per round trip and :data:`MAX_RESENDS` times in all
  (:class:`RepeatLimiter`), and only within :data:`RTX_SHARE` of the receiver's estimate
  (:class:`TokenBucket`). aiortc alone resends every packet of every NACK, and an aiortc receiver
  re-lists every missing packet at each new gap: under a cap that was ~90 % of the link.
- **tell the sender the receiving side's estimate** — a slot announces upstream (REMB) the
  minimum of its own estimate and those of every output it feeds (:func:`remb_minimum`), but an
  output's receiver's estimate is believed as it is only while the receiver is congested
  (:class:`Congestion`: loss left after repair over a :class:`LossWindow` or in the NACKs,
  :class:`NackShare`).
- **pause video, keep audio** — an output whose receiver's estimate stays below the video it
  is sending (the sender does not come down far enough: aiortc's VP8 stops at 250 kbit/s) stops
  sending video (:class:`VideoGate`), tries again after a while, and resumes when the try does
  not congest the link (its estimate falls, its video is lost, or a queue builds: :class:`QueueDelay`).

Everything takes the time as an argument (`now`, seconds on a monotonic clock): unit-tested on
a set clock.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Iterable

# -- retransmission ------------------------------------------------------------------------

# A packet is resent at most this many times (asked for upstream at most MAX_NACKS): an aiortc
# receiver waits for a lost packet until 512 more have come, so repair must persist a little.
MAX_RESENDS = 5
MAX_NACKS = 5
MIN_REPEAT_S = 0.04  # the shortest wait between two resends (or NACKs) of one packet
DEFAULT_RTT_S = 0.2  # before a round trip has been measured
RTX_SHARE = 0.25  # retransmissions may take this share of the receiver's estimate
RTX_BURST_S = 0.25  # the bucket holds this many seconds of that rate
DEFAULT_ESTIMATE_BPS = 1_000_000  # before the receiver has sent an estimate
# A packet asked for that can no longer be resent costs the receiver its picture: a keyframe is
# asked for upstream, at most this often per output (each is a burst on a link already short).
KEYFRAME_ON_LOSS_S = 2.0
_REMEMBERED = 1024  # sequence numbers a limiter remembers (RTP history is 128 packets)

# Outcomes of RetransmitGate.decide
RESEND, DUPLICATE, OVER_BUDGET, GIVEN_UP = "resend", "duplicate", "over_budget", "given_up"


class TokenBucket:
    """A byte budget refilled at `rate_bps`, holding at most `burst_s` seconds of it."""

    def __init__(self, rate_bps: float, burst_s: float = RTX_BURST_S) -> None:
        self.burst_s = burst_s
        self.rate_bps = rate_bps
        self._tokens = self.capacity  # bytes
        self._at: float | None = None

    @property
    def capacity(self) -> float:
        return self.rate_bps / 8 * self.burst_s

    def set_rate(self, rate_bps: float) -> None:
        self.rate_bps = rate_bps
        self._tokens = min(self._tokens, self.capacity)

    def take(self, size: int, now: float) -> bool:
        """Spend `size` bytes if the budget has them now."""
        if self._at is not None:
            self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate_bps / 8)
        self._at = now
        if size > self._tokens:
            return False
        self._tokens -= size
        return True


# A video packet nobody repaired is skipped (its frame dropped, a keyframe asked for) after this
# long: about as long as a receiver's NACKs take to ask 5 times at a 200 ms round trip.
HOLE_WAIT_S = 1.0


# -- pacing --------------------------------------------------------------------------------------

# A leg's video is paced: a keyframe's burst waits on the server, where audio overtakes it, instead
# of in the bottleneck's queue, where audio is lost behind it. Bursts are smoothed at this multiple
# of the receiver's (believed) estimate (libwebrtc's pacing factor), and never slower than this
# multiple of the video being sent (a low estimate, such as aiortc's after a pause, must not starve
# a try) ...
PACING_FACTOR = 2.5
PACING_OVER_SENDING = 1.5
# ... except while the leg's audio is being lost (congested: audio is never repaired, so its loss
# is the link's, where video's is hidden by retransmissions): then everything the leg sends is held
# to the receiver's (believed) estimate.
PACING_BURST_S = 0.02  # sent at once before pacing starts to hold back (a few packets)
PACING_MAX_AHEAD_S = 1.0  # the budget is never owed for longer than this (audio alone can overrun it)


class Pacer:
    """When a leg's next packet may leave: a leaky bucket at the link's rate (bit/s).

    Everything the leg sends is charged (audio and retransmissions go at once); only paced media
    (fresh video) waits. No rate known (no estimate yet, or adaptation off): nothing waits.
    It keeps the link's `congestion` as the leg's audio tells it."""

    def __init__(self) -> None:
        self.rate_bps: float | None = None
        self._free_at = -1e9  # when the budget is paid up
        self.congestion = Congestion()

    def set_rate(self, estimate_bps: float, sending_bps: float, now: float) -> None:
        """Pace to a receiver's (believed) estimate, with `sending_bps` of video queued for it lately."""
        if self.congestion.congested(now):
            rate = float(estimate_bps)
        else:
            rate = max(estimate_bps * PACING_FACTOR, sending_bps * PACING_OVER_SENDING)
        self.rate_bps = rate if rate > 0 else None

    def audio_lost(self, fraction: float, now: float) -> None:
        """The leg's audio receiver reported losing `fraction` of it lately."""
        self.congestion.report(fraction, now)

    def reset(self) -> None:
        self.rate_bps, self._free_at = None, -1e9
        self.congestion = Congestion()

    def delay(self, size: int, now: float, paced: bool) -> float:
        """Seconds the packet of `size` bytes waits before it leaves (0 unless `paced`); charged."""
        if self.rate_bps is None:
            return 0.0
        start = max(self._free_at, now - PACING_BURST_S)
        wait = max(0.0, start - now) if paced else 0.0
        self._free_at = min(start + size * 8 / self.rate_bps, now + PACING_MAX_AHEAD_S)
        return wait


class RepeatLimiter:
    """How often one RTP sequence number may be acted on (resent, or asked for again).

    At most once per `interval` and `max_times` in all. Remembers the last
    :data:`_REMEMBERED` sequence numbers (the oldest are forgotten first).
    """

    def __init__(self, max_times: int) -> None:
        self.max_times = max_times
        self._seen: OrderedDict[int, tuple[int, float]] = OrderedDict()  # seq -> (times, last)

    def check(self, seq: int, now: float, interval: float) -> str:
        """RESEND (may act now), DUPLICATE (acted on less than `interval` ago) or GIVEN_UP."""
        times, last = self._seen.get(seq, (0, -1e18))
        if times >= self.max_times:
            return GIVEN_UP
        if now - last < interval:
            return DUPLICATE
        return RESEND

    def record(self, seq: int, now: float) -> None:
        times, _ = self._seen.pop(seq, (0, 0.0))
        self._seen[seq] = (times + 1, now)
        while len(self._seen) > _REMEMBERED:
            self._seen.popitem(last=False)

    def times(self, seq: int) -> int:
        return self._seen.get(seq, (0, 0.0))[0]


def repeat_interval(rtt_s: float | None) -> float:
    """Wait at least one round trip before acting on the same packet again."""
    return max(DEFAULT_RTT_S if rtt_s is None else rtt_s, MIN_REPEAT_S)


class RetransmitGate:
    """A sender's answer to one NACKed packet: resend it, or not, and why."""

    def __init__(self) -> None:
        self.limiter = RepeatLimiter(MAX_RESENDS)
        self.bucket = TokenBucket(RTX_SHARE * DEFAULT_ESTIMATE_BPS)
        self.counts = {RESEND: 0, DUPLICATE: 0, OVER_BUDGET: 0, GIVEN_UP: 0}

    def set_estimate(self, bps: float) -> None:
        self.bucket.set_rate(RTX_SHARE * bps)

    def decide(self, seq: int, size: int | None, now: float, rtt_s: float | None) -> str:
        """`size` is the packet's size in bytes, None when it is no longer in the history."""
        outcome = GIVEN_UP if size is None else self.limiter.check(seq, now, repeat_interval(rtt_s))
        if outcome == RESEND:
            if self.bucket.take(size, now):  # type: ignore[arg-type]
                self.limiter.record(seq, now)
            else:
                outcome = OVER_BUDGET  # not counted against the packet: it may be asked for again
        self.counts[outcome] += 1
        return outcome


class NackFilter:
    """What a server receiver asks its sender for again: each packet once per round trip, MAX_NACKS times."""

    def __init__(self) -> None:
        self.limiter = RepeatLimiter(MAX_NACKS)
        self.suppressed = 0

    def filter(self, lost: Iterable[int], now: float, rtt_s: float | None) -> list[int]:
        interval = repeat_interval(rtt_s)
        wanted = []
        for seq in lost:
            if self.limiter.check(seq, now, interval) == RESEND:
                self.limiter.record(seq, now)
                wanted.append(seq)
            else:
                self.suppressed += 1
        return wanted


# -- congestion ------------------------------------------------------------------------------

# A receiver is congested when a report of it says it lost this share of the video sent to it.
# Its reports count repaired packets as received, so random loss that repair covers stays below.
LOSS_CONGESTED = 0.1
CONGESTED_FOR_S = 5.0  # ... and it counts as congested this long after such a report (and while
# its video is paused or on trial: no video, no report)
# An uncongested receiver's estimate is not believed below this many times the video sent to it:
# aiortc's receive-side estimator starts far below the link and falls to 0.85 x its measured
# throughput at every delay spike (a loaded machine makes many), while the packets get through.
# Above 1 the sender may still ramp up, by a tenth per estimate: at 1.5 (aiortc's own ceiling
# over throughput) a browser sender overshot a cap by half every few seconds, and paused.
UNCONGESTED_HEADROOM = 1.1


# A receiver's loss is judged over at least this long and this many packets, from its reports'
# cumulative counts: Chromium sends a report with every NACK, so one report's own fraction covers
# the few packets since the last (under 5 % random loss it said a third, or a half, now and then).
LOSS_WINDOW_S = 1.0
LOSS_WINDOW_PACKETS = 30
# ... except that heavy loss is told at once, over as few as this many packets: a queue
# overflowing costs audio every moment it goes on (random 5 % loss reaches a quarter of 50
# packets about once in 10,000 windows).
HEAVY_LOSS = 0.25
HEAVY_LOSS_PACKETS = 50


class LossWindow:
    """The share of packets a receiver lost over the last window, from its reports' cumulative counts."""

    def __init__(self) -> None:
        self._start: tuple[float, int, int] | None = None  # (when, extended highest seq, lost)

    def report(self, highest_seq: int, lost: int, now: float) -> float | None:
        """A receiver report; the window's loss fraction once it is long and full enough, else None."""
        if self._start is None or highest_seq < self._start[1]:  # the first, or a new stream
            self._start = (now, highest_seq, lost)
            return None
        at, seq0, lost0 = self._start
        expected = highest_seq - seq0
        # Repaired packets count as received, so the cumulative count can fall again.
        fraction = min(1.0, max(0, lost - lost0) / expected) if expected > 0 else 0.0
        heavy = expected >= HEAVY_LOSS_PACKETS and fraction >= HEAVY_LOSS
        if not heavy and (now - at < LOSS_WINDOW_S or expected < LOSS_WINDOW_PACKETS):
            return None
        self._start = (now, highest_seq, lost)
        return fraction

    def reset(self) -> None:
        self._start = None


# NACKs tell of loss sooner than receiver reports (aiortc sends one every 0.5-1.5 s): the share of
# the packets sent over the last NACK_WINDOW_S that the receiver asked for (see nack_loss).
NACK_WINDOW_S = 1.0
NACK_MIN_PACKETS = 20  # half of 20 lost at random 5 % loss: about once in 10^8 windows


class NackShare:
    """The share of the packets one sender sent over the last NACK_WINDOW_S that its receiver NACKed
    (each packet counted once, however often it is asked for)."""

    def __init__(self) -> None:
        # Sequence numbers ever NACKed (the last _REMEMBERED): a receiver asks again for what it
        # still misses, e.g. when video comes back after a pause; only the first time counts.
        self._ever: OrderedDict[int, None] = OrderedDict()
        self._times: deque[float] = deque()  # when each packet first NACKed in the window was
        self._sent: deque[tuple[float, int]] = deque()  # (when, packets sent by then)

    def nacked(self, seq: int, now: float, packets_sent: int) -> tuple[float, int] | None:
        """A NACK for `seq`: (the share, of how many packets sent) once that is NACK_MIN_PACKETS, else None."""
        if seq not in self._ever:
            self._ever[seq] = None
            if len(self._ever) > _REMEMBERED:
                self._ever.popitem(last=False)
            self._times.append(now)
        self._sent.append((now, packets_sent))
        start = now - NACK_WINDOW_S
        while self._times and self._times[0] < start:
            self._times.popleft()
        # Counted from the last count taken at or before the window's start (else the oldest).
        while len(self._sent) > 1 and self._sent[1][0] <= start:
            self._sent.popleft()
        sent = packets_sent - self._sent[0][1]
        if sent < NACK_MIN_PACKETS:
            return None
        return min(1.0, len(self._times) / sent), sent


def nack_loss(share: float, sent: int, trying: bool) -> bool:
    """Whether a NACK share counts as loss now: half of as few as NACK_MIN_PACKETS (a cap's onset:
    random 5 % loss never comes near), heavy loss of HEAVY_LOSS_PACKETS, or on a try PROBE_LOSS."""
    if share >= LOSS_PAUSE_AT_ONCE:
        return True
    return sent >= HEAVY_LOSS_PACKETS and share >= (PROBE_LOSS if trying else HEAVY_LOSS)


# A try builds a queue when a round trip runs this much over the shortest seen lately: it tells
# of congestion before the queue overflows (a 150 ms queue at 300 kbit/s with 66 kbit/s too many
# takes 0.7 s to fill), which costs audio too. Lately: a path whose delay steps up for good (a
# route change, a mobile network) is no queue, and a pause (audio only) drains a real one.
QUEUE_DELAY_S = 0.06
RTT_MIN_WINDOW_S = 5.0


class QueueDelay:
    """How much longer than its shortest a path's round trip is now (a queue building)."""

    def __init__(self) -> None:
        self._samples: deque[tuple[float, float]] = deque()  # (when, rtt), rtt increasing

    def sample(self, rtt_s: float, now: float) -> float:
        # A monotonic deque: the minimum over the window is its first item.
        while self._samples and self._samples[-1][1] >= rtt_s:
            self._samples.pop()
        self._samples.append((now, rtt_s))
        while self._samples[0][0] < now - RTT_MIN_WINDOW_S:
            self._samples.popleft()
        return rtt_s - self._samples[0][1]


class Congestion:
    """Whether one output's receiver is congested, from its reports (loss left after repair), and
    so what of its estimate to believe."""

    def __init__(self) -> None:
        self._lossy_at: float | None = None

    def report(self, fraction: float, now: float) -> None:
        """`fraction` of the video sent over a :class:`LossWindow` was lost (after repair)."""
        if fraction >= LOSS_CONGESTED:
            self._lossy_at = now

    def congested(self, now: float) -> bool:
        return self._lossy_at is not None and now - self._lossy_at < CONGESTED_FOR_S


def delivered_bps(sent_bps: float, lost: float) -> float:
    """What a loss window says got through of `sent_bps`, less again by the share `lost`: the link
    cannot take all of what got through plus the queue built meanwhile (held at what got through,
    a capped link went on losing)."""
    return sent_bps * (1 - lost) ** 2


def believed_estimate(estimate: int, sending_bps: float, congested: bool, delivered_bps: float = 0.0) -> int:
    """A receiver's estimate as it counts (upstream, for the video gate and the repair budget).

    A congested receiver's is believed, but never below what its reports say got through
    lately (`delivered_bps`): after a pause, aiortc's estimator falls to 0.85 x the little it
    had measured so far (40 kbit/s while 250 got through), and a browser sender told so drops
    to 30 kbit/s."""
    if congested:
        return max(estimate, int(delivered_bps))
    return max(estimate, int(UNCONGESTED_HEADROOM * sending_bps))


# -- bandwidth -------------------------------------------------------------------------------

ESTIMATE_TTL_S = 5.0  # a receiver's estimate counts this long after its last REMB
REMB_INTERVAL_S = 0.5  # a slot announces the minimum upstream this often
REMB_DROP = 0.9  # ... and at once when it falls below this share of what was last announced


def remb_minimum(own: int | None, downstream: Iterable[int | None]) -> int | None:
    """What a slot announces upstream: the lowest of its own estimate and its outputs' (None: none known)."""
    known = [bps for bps in (own, *downstream) if bps is not None]
    return min(known) if known else None


# -- pausing video -----------------------------------------------------------------------------

# Video does not fit when the receiver's estimate is below this share of the video sent to it
# (a receiver's estimate never runs far above what it gets, so an absolute floor would pause
# a cheap picture that fits); the rest of the link is audio's.
FIT_SHARE = 0.9
LOW_FOR_S = 1.0  # ... once its estimate has stayed below, and not risen by RISING, this long
RISING = 1.1
# ... or when its receiver reports losing this share of the video twice in a row (a queue
# overflowing: the estimate lags when the sender cannot come down)
LOSS_PAUSE = 0.1
LOSS_PAUSE_AT_ONCE = 0.5  # ... or once, this share: the link carries less than half of it, and
# the sender needs seconds to come down that far (if it can), while audio is lost with it
RATE_WINDOW_S = 1.0  # the video sent is measured over this long
RETRY_S = 1.0  # a paused output tries video again after this (doubling, up to MAX_RETRY_S:
MAX_RETRY_S = 2.0  # video comes back within about that long of the link's)
PROBE_S = 2.5  # a try succeeds when it was not judged weak for this long (a 150 ms queue takes
# 0.7 s to fill when the try's video overfills the link by a fifth)
PROBE_SETTLE_S = 0.3  # estimates sent before the try could tell are not judged
PROBE_FALL = 0.95  # a try fails when the estimate falls below this share of where it started,
PROBE_LOSS = 0.05  # ... or its receiver lost this share of it, or a queue builds (QUEUE_DELAY_S)

ON, PAUSED, PROBING = "on", "paused", "probing"
PAUSED_EVENT, RESUMED_EVENT = "paused", "resumed"  # what on_change is told (the contract's states)
WEAK_NETWORK = "weak_network"


class VideoGate:
    """Whether one output sends video now, from its receiver's estimates (REMB).

    ``on`` → ``paused`` when a congested receiver's estimate has stayed below :data:`FIT_SHARE`
    of the video sent (`sending_bps`) without rising by :data:`RISING` for :data:`LOW_FOR_S`, or
    when a loss window loses :data:`LOSS_PAUSE_AT_ONCE` of the video (or :data:`LOSS_PAUSE`
    twice running). Paused, nothing new is learnt (no video, no estimate), so after
    :data:`RETRY_S` the output tries (``probing``: video flows again from a keyframe); the try
    fails if the estimate falls, its video is lost (:data:`PROBE_LOSS`) or a queue builds (the
    link congested again: paused, the next try waits twice as long, at most :data:`MAX_RETRY_S`),
    and succeeds after :data:`PROBE_S` without any of these.
    `on_change("paused" | "resumed")` is called on the way into and out of the pause (not for
    each try).
    """

    def __init__(self, on_change: Callable[[str], None] | None = None) -> None:
        self.on_change = on_change
        self.state = ON
        self.pauses = 0
        self._history: deque[tuple[float, int]] = deque()  # (when, estimate) over the last LOW_FOR_S
        self._low_since: float | None = None
        self._retry_s = RETRY_S
        self._retry_at = 0.0
        self._probe_at = 0.0
        self._probe_from: int | None = None
        self._lossy = False  # the previous receiver report lost LOSS_PAUSE or more

    def estimate(self, bps: int, now: float, sending_bps: float, congested: bool = True,
                 delivered: float = 0.0) -> None:
        """A REMB from the receiver, while `sending_bps` of video go to it. The estimate is timed
        as it is, but only a `congested` receiver's pauses video (see :class:`Congestion`): the
        low time counts from the first low estimate, so congestion, once known, acts at once.
        It counts no lower than what got through (`delivered`, :func:`delivered_bps`), except on
        a try, which its receiver's own estimate judges."""
        if self.state != PROBING:
            bps = max(bps, int(delivered))
        self._history.append((now, bps))
        while len(self._history) > 1 and self._history[1][0] <= now - LOW_FOR_S:
            self._history.popleft()
        if bps >= FIT_SHARE * sending_bps or self._rising(bps, now):
            self._low_since = None
        elif self._low_since is None:
            self._low_since = now
        elif now - self._low_since >= LOW_FOR_S and congested and self.state == ON:
            # (not on a try: a receiver's estimate climbs slowly from what audio alone took,
            # and a try that does not fit shows it by a falling estimate, loss or a queue)
            self._pause(now)
        if self.state == PROBING and now - self._probe_at >= PROBE_SETTLE_S:
            if self._probe_from is None:
                self._probe_from = bps
            elif bps < self._probe_from * PROBE_FALL:
                self._fail_try(now)

    def _rising(self, bps: int, now: float) -> bool:
        """Whether the estimate grew by RISING over the last LOW_FOR_S (a receiver's estimate climbs
        from low when a link opens up: not weak; one that stays flat, or jitters, is)."""
        then_at, then = self._history[0]
        return now - then_at >= LOW_FOR_S and bps > then * RISING

    def loss(self, fraction: float, now: float) -> None:
        """`fraction` of the video sent over a :class:`LossWindow` was lost."""
        lossy, self._lossy = self._lossy, fraction >= LOSS_PAUSE
        if self.state == ON and (fraction >= LOSS_PAUSE_AT_ONCE or (lossy and self._lossy)):
            self._pause(now)
        elif self.state == PROBING and fraction >= PROBE_LOSS:
            self._fail_try(now, settle_s=0.0)  # the try's own packets: every moment of it costs audio

    def queue(self, delay_s: float, now: float) -> None:
        """A round trip `delay_s` longer than the path's shortest: a try that builds a queue fails
        before the queue overflows (and costs audio)."""
        if self.state == PROBING and delay_s >= QUEUE_DELAY_S:
            self._fail_try(now)

    def _fail_try(self, now: float, settle_s: float = PROBE_SETTLE_S) -> None:
        if now - self._probe_at >= settle_s:
            self._retry_s = min(self._retry_s * 2, MAX_RETRY_S)
            self._pause(now, notify=False)

    def allows(self, now: float) -> bool:
        """Whether a video frame may be sent now (moves on from a pause, or a try, as time passes)."""
        if self.state == PAUSED:
            if now < self._retry_at:
                return False
            self._start_try(now)
        elif self.state == PROBING and now - self._probe_at >= PROBE_S:
            self.state = ON
            self._low_since = None
            self._retry_s = RETRY_S
            self._notify(RESUMED_EVENT)
        return True

    def _start_try(self, now: float) -> None:
        self.state = PROBING
        self._probe_at = now
        self._probe_from = None
        self._low_since = None  # judged afresh, by what the try's own packets make of it
        self._history.clear()

    @property
    def paused(self) -> bool:
        return self.state == PAUSED

    def reset(self) -> None:
        """Video on again without a word (the output was unbridged: a new call starts afresh)."""
        self.state = ON
        self._low_since = None
        self._retry_s = RETRY_S

    def _pause(self, now: float, notify: bool = True) -> None:
        self.state = PAUSED
        self._retry_at = now + self._retry_s
        self._low_since = None
        if notify:
            self.pauses += 1
            self._notify(PAUSED_EVENT)

    def _notify(self, event: str) -> None:
        if self.on_change is not None:
            self.on_change(event)
