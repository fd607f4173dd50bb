"""A network impairment for one aiortc peer's UDP path, since there is no netem here.

An :class:`Impairment` wraps one aioice ``Connection`` (the ICE connection a
peer connection's media runs over): what the peer sends goes through
``Connection.sendto``, what it receives through ``Connection.data_received``.
Both are wrapped per instance, so only that connection is impaired. STUN (ICE
checks, consent) never passes there, only DTLS, RTP and RTCP: the impairment
acts on media, and consent keeps the pair alive even at 30 % loss.

Each direction is a :class:`Link`, changeable while the call runs:

- ``loss``: random loss, a fraction (0.05 = 5 %), before the bottleneck;
- ``delay_ms`` (+ ``jitter_ms``, uniform, never reordering): propagation delay;
- ``rate_kbps``: a bottleneck with a drop-tail queue of ``queue_ms``: a packet
  waits behind the ones queued before it and is dropped when the queue holds
  more than ``queue_ms`` of transmission already (as a router's buffer does).

``Link.set(rate_kbps=None)`` lifts the cap (packets already queued still drain
in order). Counters (:class:`LinkCounters`) say what was offered, dropped and
delivered, by kind of packet (see :func:`packet_kind`), so a benchmark can say
what was offered onto a capped link and how much of it was retransmission.

    from netem import Impairment, ice_connection

    imp = Impairment(ice_connection(specialist.pc))      # the specialist's own UDP path
    imp.inbound.set(rate_kbps=300, queue_ms=150)          # its downlink capped
    ...
    imp.inbound.set(rate_kbps=None)                       # cap lifted
    print(imp.inbound.counters.offered_kbps(10.0))

Impairing the server's leg to a participant instead (a Chromium receiver,
whose UDP cannot be wrapped): ``Impairment(connection)`` on the server's
connection, where ``outbound`` is that participant's downlink.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import random
import time
from collections.abc import Callable
from typing import Any

Deliver = Callable[[bytes], None]
_ORDER_S = 1e-6  # the least time between two deliveries on one link (see Link.schedule)


def packet_kind(data: bytes) -> str:
    """`dtls`, `rtcp` or `rtp:<payload type>` (SRTP leaves the RTP header in the clear; RFC 7983/5761)."""
    if not data:
        return "other"
    first = data[0]
    if 20 <= first <= 63:
        return "dtls"
    if 128 <= first <= 191 and len(data) >= 2:
        pt = data[1] & 0x7F
        if 64 <= pt <= 95:  # RTCP packet types 192-223 with the marker bit folded in
            return "rtcp"
        return f"rtp:{pt}"
    return "other"


@dataclasses.dataclass
class LinkCounters:
    """Packets and bytes through one direction since the last :meth:`reset`, by packet kind."""

    offered: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    offered_bytes: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    lost: collections.Counter = dataclasses.field(default_factory=collections.Counter)  # random loss
    dropped: collections.Counter = dataclasses.field(default_factory=collections.Counter)  # queue full
    delivered: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    delivered_bytes: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    since: float = dataclasses.field(default_factory=time.monotonic)
    max_queue_ms: float = 0.0

    def reset(self) -> None:
        for counter in (self.offered, self.offered_bytes, self.lost, self.dropped, self.delivered,
                        self.delivered_bytes):
            counter.clear()
        self.since = time.monotonic()
        self.max_queue_ms = 0.0

    def offered_kbps(self, seconds: float | None = None) -> float:
        """What was offered onto the link, in kbit/s over `seconds` (default: since the reset)."""
        seconds = seconds if seconds is not None else time.monotonic() - self.since
        return sum(self.offered_bytes.values()) * 8 / 1000 / max(seconds, 1e-9)

    def delivered_kbps(self, seconds: float | None = None) -> float:
        seconds = seconds if seconds is not None else time.monotonic() - self.since
        return sum(self.delivered_bytes.values()) * 8 / 1000 / max(seconds, 1e-9)


class Link:
    """One direction of an impaired path (see the module notes); :meth:`offer` each datagram."""

    def __init__(self, *, loss: float = 0.0, delay_ms: float = 0.0, jitter_ms: float = 0.0,
                 rate_kbps: float | None = None, queue_ms: float = 150.0, seed: int | None = None,
                 loop: asyncio.AbstractEventLoop | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        self.loss = loss
        self.delay_ms = delay_ms
        self.jitter_ms = jitter_ms
        self.rate_kbps = rate_kbps
        self.queue_ms = queue_ms
        self.counters = LinkCounters()
        self._random = random.Random(seed)
        self._loop = loop
        self._clock = clock
        self._busy_until = 0.0  # when the bottleneck has sent everything queued so far
        self._last_delivery = 0.0  # deliveries never overtake each other

    def set(self, **changes: Any) -> Link:
        """Change `loss`, `delay_ms`, `jitter_ms`, `rate_kbps` (None: no cap) or `queue_ms` now."""
        for name, value in changes.items():
            if name not in ("loss", "delay_ms", "jitter_ms", "rate_kbps", "queue_ms"):
                raise TypeError(f"a link has no setting {name!r}")
            setattr(self, name, value)
        return self

    def clear(self) -> Link:
        """No impairment at all (what is queued still drains)."""
        return self.set(loss=0.0, delay_ms=0.0, jitter_ms=0.0, rate_kbps=None)

    @property
    def impaired(self) -> bool:
        return bool(self.loss or self.delay_ms or self.jitter_ms or self.rate_kbps)

    @property
    def passing(self) -> bool:
        """Unimpaired with nothing still in flight: a datagram may go straight through."""
        return not self.impaired and self._last_delivery <= self._now()

    def count_through(self, data: bytes) -> None:
        """Count a datagram that went straight through (see :attr:`passing`)."""
        kind = packet_kind(data)
        for counter, n in ((self.counters.offered, 1), (self.counters.offered_bytes, len(data)),
                           (self.counters.delivered, 1), (self.counters.delivered_bytes, len(data))):
            counter[kind] += n

    def _now(self) -> float:
        return self._clock() if self._clock is not None else self._get_loop().time()

    def _get_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def schedule(self, data: bytes) -> float | None:
        """When (loop time) `data` comes out of the link, or None if it is lost or dropped; counts it."""
        kind = packet_kind(data)
        counters = self.counters
        counters.offered[kind] += 1
        counters.offered_bytes[kind] += len(data)
        if self.loss and self._random.random() < self.loss:
            counters.lost[kind] += 1
            return None
        now = self._now()
        leaves = now
        if self.rate_kbps:
            start = max(now, self._busy_until)
            waiting_ms = (start - now) * 1000
            if waiting_ms > self.queue_ms:
                counters.dropped[kind] += 1
                return None
            counters.max_queue_ms = max(counters.max_queue_ms, waiting_ms)
            self._busy_until = leaves = start + len(data) * 8 / (self.rate_kbps * 1000)
        delay = self.delay_ms + (self._random.uniform(-self.jitter_ms, self.jitter_ms) if self.jitter_ms else 0.0)
        # Strictly after the previous one: asyncio runs timers due at the same moment in no set order,
        # which reordered datagrams held back to one time (and made aiortc's receiver NACK them).
        at = max(leaves + max(delay, 0.0) / 1000, self._last_delivery + _ORDER_S)
        self._last_delivery = at
        counters.delivered[kind] += 1
        counters.delivered_bytes[kind] += len(data)
        return at

    def offer(self, data: bytes, deliver: Deliver) -> None:
        """Put `data` on the link: `deliver(data)` is called when it comes out (at once if unimpaired)."""
        if self.passing:
            self.count_through(data)
            deliver(data)
            return
        at = self.schedule(data)
        if at is None:
            return
        # Always through the loop's timers, in the order of `at` (strictly increasing): one delivered
        # at once could overtake another whose time has come but whose timer has not run yet.
        self._get_loop().call_at(at, deliver, data)


class Impairment:
    """Both directions of one aioice connection: `outbound` (what it sends), `inbound` (what it receives).

    Wrapping is per instance and undone by :meth:`remove`; a connection is wrapped once at most.
    """

    def __init__(self, connection: Any, *, seed: int | None = None, **link: Any) -> None:
        if getattr(connection, "_vw_impairment", None) is not None:
            raise RuntimeError("this connection is already impaired")
        self.connection = connection
        self.outbound = Link(seed=None if seed is None else seed * 2, **link)
        self.inbound = Link(seed=None if seed is None else seed * 2 + 1, **link)
        self._sendto = connection.sendto
        self._data_received = connection.data_received
        self.send_errors = 0
        connection._vw_impairment = self
        connection.sendto = self._impaired_sendto
        connection.data_received = self._impaired_data_received

    @property
    def links(self) -> tuple[Link, Link]:
        return self.outbound, self.inbound

    async def _impaired_sendto(self, data: bytes, component: int) -> None:
        if self.outbound.passing:  # sent at once, as unwrapped (and awaited, as aioice's callers expect)
            self.outbound.count_through(data)
            await self._sendto(data, component)
            return
        self.outbound.offer(data, lambda d: self._send_later(d, component))

    def _send_later(self, data: bytes, component: int) -> None:
        task = asyncio.ensure_future(self._sendto(data, component))
        task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Future) -> None:
        if not task.cancelled() and task.exception() is not None:  # the connection closed meanwhile
            self.send_errors += 1

    def _impaired_data_received(self, data: bytes, component: int) -> None:
        self.inbound.offer(data, lambda d: self._data_received(d, component))

    def remove(self) -> None:
        """Put the connection's own methods back."""
        for name in ("sendto", "data_received"):
            self.connection.__dict__.pop(name, None)
        self.connection._vw_impairment = None


def ice_connection(pc: Any) -> Any:
    """The aioice ``Connection`` a peer connection's media runs over (its first transceiver's; bundled)."""
    for transceiver in pc.getTransceivers():
        dtls = transceiver.sender.transport
        if dtls is not None:
            return dtls.transport._connection
    raise RuntimeError("this peer connection has no transport yet")


def impair(pc: Any, **link: Any) -> Impairment:
    """An :class:`Impairment` on the peer connection's (bundled) ICE connection."""
    return Impairment(ice_connection(pc), **link)
