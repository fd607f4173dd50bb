"""The UDP port range the server's ICE host sockets bind in (`VW_UDP_PORTS`).

One :class:`PortRange` per media plane, shared by all its legs: a leg takes
the ports it needs when it gathers (one per media address, as every leg is
bundled with RTCP multiplexed) and they are free again once its sockets close,
so no leg holds more than its own sockets and none is reserved ahead. Ports
are handed out in turn from a cursor that moves on, rather than lowest first,
so a port just freed is the last to be reused (late packets of an ended call
do not land on the next one). A port something else holds (another process,
another node on the same host) is skipped: the bind fails and the next port
is tried.
"""

from __future__ import annotations

import asyncio
import errno
import logging
from collections.abc import Callable
from typing import TypeVar

from .errors import MediaError

logger = logging.getLogger(__name__)

P = TypeVar("P", bound=asyncio.DatagramProtocol)


def parse_port_range(text: str) -> tuple[int, int]:
    """``"50000-50199"`` → ``(50000, 50199)``; ValueError with the reason otherwise."""
    low_text, dash, high_text = text.strip().partition("-")
    if not dash or not low_text.strip().isdigit() or not high_text.strip().isdigit():
        raise ValueError(f"must be LOW-HIGH, e.g. 50000-50199, not {text!r}")
    low, high = int(low_text), int(high_text)
    if not 1024 <= low <= high <= 65535:
        raise ValueError(f"must be LOW-HIGH with 1024 <= LOW <= HIGH <= 65535, not {text!r}")
    return low, high


class PortRange:
    """Binds UDP sockets on ports LOW..HIGH (both included), one free port at a time."""

    def __init__(self, low: int, high: int) -> None:
        if not 1 <= low <= high <= 65535:
            raise ValueError(f"bad port range {low}-{high}")
        self.low = low
        self.high = high
        self._next = low
        self._held: dict[tuple[str, int], asyncio.BaseTransport] = {}
        self._exhausted = False  # logged once per shortage, not once per refused leg

    def __repr__(self) -> str:
        return f"PortRange({self.low}-{self.high})"

    @property
    def size(self) -> int:
        return self.high - self.low + 1

    def in_use(self) -> int:
        """Sockets this range has bound that are still open."""
        self._reclaim()
        return len(self._held)

    def _reclaim(self) -> None:
        # A closed socket's port is free again; its transport says so as soon as it is closed.
        self._held = {key: t for key, t in self._held.items() if not t.is_closing()}

    def _turn(self) -> list[int]:
        """Every port of the range once, starting at the cursor."""
        start = self._next - self.low
        ports = list(range(self.low, self.high + 1))
        return ports[start:] + ports[:start]

    async def bind(self, host: str, protocol_factory: Callable[[], P]) -> tuple[asyncio.DatagramTransport, P]:
        """A datagram endpoint on `host` and a free port of the range.

        Raises :class:`MediaError` ``no_ports`` when every port is taken, and
        OSError for anything but a taken port (e.g. `host` is not an address
        of this machine), as an unconfined bind would.
        """
        loop = asyncio.get_running_loop()
        self._reclaim()
        for port in self._turn():
            if (host, port) in self._held:
                continue
            try:
                transport, protocol = await loop.create_datagram_endpoint(protocol_factory, local_addr=(host, port))
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    continue  # held by something else: try the next one
                raise
            self._held[(host, port)] = transport
            self._next = port + 1 if port < self.high else self.low
            self._exhausted = False
            return transport, protocol
        if not self._exhausted:
            self._exhausted = True
            logger.warning("VW_UDP_PORTS %d-%d is exhausted on %s: new media legs are refused (no_ports) "
                           "until calls end; widen the range", self.low, self.high, host)
        raise MediaError("no_ports", f"every UDP port in {self.low}-{self.high} is in use; try again later")
