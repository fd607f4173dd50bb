"""The media plane: every leg and bridge of this server process."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .bridge import Bridge
from .errors import MediaError
from .ice import rtc_configuration, use_media_addresses
from .leg import Leg


class MediaPlane:
    """Opens legs, bridges them, and closes everything on shutdown.

    `ice_servers` is the configured list (possibly empty: aiortc's default
    public STUN server is never used); `media_addresses` restricts the host
    addresses gathered on (process-wide, see `use_media_addresses`).
    """

    def __init__(self, ice_servers: list[dict[str, Any]], media_addresses: list[str] | None = None) -> None:
        self._ice_servers = list(ice_servers)
        rtc_configuration(self._ice_servers)  # fail at start-up, not at the first call
        use_media_addresses(media_addresses)
        self._legs: dict[str, Leg] = {}
        self._bridges: list[Bridge] = []

    async def open_leg(self, owner: str) -> Leg:
        leg = Leg(owner, rtc_configuration(self._ice_servers), on_closed=self._leg_closed)
        self._legs[leg.id] = leg
        return leg

    def get_leg(self, leg_id: str) -> Leg:
        try:
            return self._legs[leg_id]
        except KeyError:
            raise MediaError("no_leg", "no such leg") from None

    def bridge(self, a: Leg, b: Leg, on_media: Callable[[], None] | None = None) -> Bridge:
        """Bridge two open legs; any bridge either was in is undone first (a switch)."""
        for leg in (a, b):
            if leg.closed or self._legs.get(leg.id) is not leg:
                raise MediaError("no_leg", "the leg is closed or unknown")
        self._unbridge(lambda br: br.involves(a) or br.involves(b))
        bridge = Bridge(a, b, on_media)
        self._bridges.append(bridge)
        return bridge

    def bridge_of(self, leg: Leg) -> Bridge | None:
        return next((br for br in self._bridges if not br.closed and br.involves(leg)), None)

    def _unbridge(self, which: Callable[[Bridge], bool]) -> None:
        for bridge in [br for br in self._bridges if br.closed or which(br)]:
            bridge.detach()
            self._bridges.remove(bridge)

    def _leg_closed(self, leg: Leg) -> None:
        self._unbridge(lambda br: br.involves(leg))
        self._legs.pop(leg.id, None)

    async def close(self) -> None:
        """Unbridge and close every leg."""
        self._unbridge(lambda br: True)
        for leg in list(self._legs.values()):
            await leg.close()
        self._legs.clear()

    def stats(self) -> dict[str, int]:
        self._unbridge(lambda br: False)  # forget bridges closed directly
        return {"legs": len(self._legs), "bridges": len(self._bridges)}
