"""The media plane: every leg, bridge and recording of this server process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from . import aiortc_hooks
from .bridge import PASSTHROUGH, RELAY_MODES, Bridge
from .call import Call, Renegotiate
from .errors import MediaError
from .ice import AnnouncedAddresses, reachable_from, rtc_configuration, use_media_addresses
from .leg import Leg
from .monitor import Monitor
from .ports import PortRange
from .recorder import RECORDING, Recorder, RecordingResult
from .turn import TurnRest

logger = logging.getLogger(__name__)

# (session_id, party, path, duration_s, bytes, state) -> indexed somewhere (the store): once with state
# `recording` (duration and bytes None) when the file starts, again when it is finalized (`complete`).
OnRecorded = Callable[[str, str, str, float | None, int | None, str], Awaitable[None]]
PARTIES = ("caller", "specialist")


class MediaPlane:
    """Opens legs, bridges them, records bridged sessions, and closes everything on shutdown.

    `ice_servers` is the configured list (possibly empty: aiortc's default
    public STUN server is never used); `media_addresses` restricts the host
    addresses gathered on (process-wide, see `use_media_addresses`); `relay`
    is ``"passthrough"`` (forward encoded frames where the codecs match) or
    ``"transcode"`` (always decode and re-encode); recordings are written
    under `recordings_dir` and reported to `on_recorded` when their file
    starts and again once finalized. `udp_ports` confines the legs' host
    sockets to a range (VW_UDP_PORTS), `announced` rewrites the host
    addresses their answers carry (VW_ANNOUNCED_ADDRESSES), and `turn` adds a
    TURN server with short-term credentials, fresh for each leg.
    """

    def __init__(
        self,
        ice_servers: list[dict[str, Any]],
        media_addresses: list[str] | None = None,
        *,
        relay: str = PASSTHROUGH,
        adaptation: bool = True,
        recordings_dir: Path | None = None,
        on_recorded: OnRecorded | None = None,
        udp_ports: tuple[int, int] | None = None,
        announced: AnnouncedAddresses | None = None,
        turn: TurnRest | None = None,
    ) -> None:
        aiortc_hooks.check_aiortc()  # refuse to start on an aiortc these hooks do not know
        if relay not in RELAY_MODES:
            raise ValueError(f"relay must be one of {RELAY_MODES}, not {relay!r}")
        self._ice_servers = list(ice_servers)
        self._turn = turn
        rtc_configuration(self._leg_ice_servers())  # fail at start-up, not at the first call
        self.ports = PortRange(*udp_ports) if udp_ports else None
        self._announced = announced
        if self.ports or announced or turn:  # what a firewall or NAT must match, said once at start-up
            logger.info("media network: ICE host ports %s, announced addresses %s, TURN REST %s",
                        f"{self.ports.low}-{self.ports.high}" if self.ports else "any",
                        announced or "none", ", ".join(turn.urls) if turn else "none")
        use_media_addresses(media_addresses)
        self._reachable = reachable_from(media_addresses)
        self.relay = relay
        self.adaptation = adaptation  # VW_ADAPTATION: new legs adapt their passthrough (media/adaptation.py)
        self.recordings_dir = Path(recordings_dir) if recordings_dir is not None else None
        self._on_recorded = on_recorded
        self._legs: dict[str, Leg] = {}
        self._bridges: list[Bridge] = []
        self._recorders: dict[str, dict[str, Recorder]] = {}  # session id -> party -> recorder
        self._closing: set[Recorder] = set()
        self._tasks: set[asyncio.Future[Any]] = set()
        self._session_legs: dict[str, tuple[Leg, Leg]] = {}  # session id -> (caller, specialist) last bridged
        self._monitors: list[Monitor] = []  # supervisors listening to bridged sessions
        self._calls: dict[str, Call] = {}  # session id -> its call of several parties

    async def open_leg(self, owner: str) -> Leg:
        leg = Leg(owner, rtc_configuration(self._leg_ice_servers()), on_closed=self._leg_closed,
                  bind_host=self.ports.bind if self.ports else None, announced=self._announced,
                  reachable=self._reachable)
        self._legs[leg.id] = leg
        leg.adapt = self.adaptation  # before its offer makes any slot
        return leg

    def _leg_ice_servers(self) -> list[dict[str, Any]]:
        return self._ice_servers + ([self._turn.server()] if self._turn else [])

    def get_leg(self, leg_id: str) -> Leg:
        try:
            return self._legs[leg_id]
        except KeyError:
            raise MediaError("no_leg", "no such leg") from None

    def bridge(
        self,
        a: Leg,
        b: Leg,
        on_media: Callable[[], None] | None = None,
        *,
        session_id: str | None = None,
        record: bool = False,
    ) -> Bridge:
        """Bridge two open legs; any bridge either was in is undone first (a switch).

        With `record`, what `a` (the caller) and `b` (the specialist) send is
        written to one file each for `session_id`; bridging the session again
        (after a reconnection) continues the same files.
        """
        for leg in (a, b):
            if leg.closed or self._legs.get(leg.id) is not leg:
                raise MediaError("no_leg", "a leg to bridge is closed or unknown")
            if any(call.involves(leg) for call in self._calls.values()):
                raise MediaError("in_call", "the leg is a party of a call of several parties")
        self._unbridge(lambda br: br.involves(a) or br.involves(b))
        recorders: dict[Leg, Recorder] = {}
        if record and session_id is not None and self.recordings_dir is not None:
            for leg, party in zip((a, b), PARTIES):
                recorders[leg] = self._recorder(session_id, party)
        bridge = Bridge(a, b, on_media, relay=self.relay, recorders=recorders)
        self._bridges.append(bridge)
        if session_id is not None:
            self._session_legs[session_id] = (a, b)
            for monitor in self._monitors:
                if monitor.session_id == session_id:
                    monitor.follow(a, b)
        return bridge

    def _recorder(self, session_id: str, party: str) -> Recorder:
        """The recorder of one party of a session: one file for the whole session, whoever bridges it."""
        mine = self._recorders.setdefault(session_id, {})
        if party not in mine:
            assert self.recordings_dir is not None
            path = self.recordings_dir / f"{session_id}-{party}.webm"
            done, start = self._recorded_callbacks(session_id, party)
            mine[party] = Recorder(path, done, on_start=start)
        return mine[party]

    # -- calls of several parties ---------------------------------------------------

    def call(
        self,
        session_id: str,
        *,
        record: bool = False,
        on_media: Callable[[str], None] | None = None,
        on_renegotiate: Renegotiate | None = None,
        on_layout: Callable[[str], None] | None = None,
    ) -> Call:
        """The session's call of several parties (made on first use; see media/call.py).

        From then on the session's media is the call's: a leg that becomes a
        party leaves its bridge or monitor, and :meth:`bridge` refuses it.
        With `record`, each party is written to `<session>-<party>.webm`
        (the bridge's caller and specialist files go on).
        """
        call = self._calls.get(session_id)
        if call is None or call.closed:
            recording = record and self.recordings_dir is not None
            call = Call(
                session_id,
                recorder=(lambda party: self._recorder(session_id, party)) if recording else None,
                take=self._take_leg,
                on_media=on_media, on_renegotiate=on_renegotiate, on_layout=on_layout,
            )
            self._calls[session_id] = call
        return call

    def call_of(self, session_id: str) -> Call | None:
        call = self._calls.get(session_id)
        return call if call is not None and not call.closed else None

    def _take_leg(self, leg: Leg) -> None:
        if leg.closed or self._legs.get(leg.id) is not leg:
            raise MediaError("no_leg", "the leg is closed or unknown")
        self._unbridge(lambda br: br.involves(leg))
        self.unmonitor(leg)

    # -- supervisor monitor of a bridged session -----------------------------------

    def monitor(self, session_id: str, leg: Leg) -> Monitor:
        """Feed `leg` (an administrator's, receive-only) with both parties of `session_id`.

        A leg monitors one session at a time: any monitor it had is detached
        first. The parties' legs are those the session was last bridged with;
        a session not bridged yet is followed from its first bridge on.
        """
        if leg.closed or self._legs.get(leg.id) is not leg:
            raise MediaError("no_leg", "the leg is closed or unknown")
        self.unmonitor(leg)
        monitor = Monitor(session_id, leg)
        self._monitors.append(monitor)
        legs = self._session_legs.get(session_id)
        if legs is not None:
            monitor.follow(*(None if party.closed else party for party in legs))
        return monitor

    def monitor_of(self, leg: Leg) -> Monitor | None:
        return next((m for m in self._monitors if m.leg is leg and not m.closed), None)

    def unmonitor(self, leg: Leg) -> bool:
        """Detach the monitor fed to `leg`, if any; True when there was one."""
        found = [m for m in self._monitors if m.leg is leg]
        for monitor in found:
            monitor.detach()
            self._monitors.remove(monitor)
        return bool(found)

    def recorders(self, session_id: str) -> dict[str, Recorder]:
        return dict(self._recorders.get(session_id, {}))

    def end_session(self, session_id: str) -> None:
        """The session is over: finalize its recordings (on their threads)."""
        for recorder in self._recorders.pop(session_id, {}).values():
            self._closing.add(recorder)
            recorder.close()
        call = self._calls.pop(session_id, None)
        if call is not None:
            call.detach()
        self._session_legs.pop(session_id, None)  # the legs it was last bridged with
        for monitor in [m for m in self._monitors if m.session_id == session_id]:
            monitor.detach()
            self._monitors.remove(monitor)

    def _recorded_callbacks(
        self, session_id: str, party: str
    ) -> tuple[Callable[[RecordingResult | None], None], Callable[[Path], None]]:
        loop = asyncio.get_running_loop()

        # Both run on the recorder's thread; the loop runs them in order (start before done).
        def done(result: RecordingResult | None) -> None:
            if not loop.is_closed():
                loop.call_soon_threadsafe(self._index, session_id, party, result)

        def start(path: Path) -> None:
            if not loop.is_closed():
                loop.call_soon_threadsafe(self._index_start, session_id, party, path)

        return done, start

    def _index_start(self, session_id: str, party: str, path: Path) -> None:
        self._report(session_id, party, str(path), None, None, RECORDING)

    def _index(self, session_id: str, party: str, result: RecordingResult | None) -> None:
        self._closing = {r for r in self._closing if not r.done.is_set()}
        if result is not None:
            self._report(session_id, party, result.path, result.duration_s, result.size, result.state)

    def _report(self, session_id: str, party: str, path: str, duration_s: float | None, size: int | None,
                state: str) -> None:
        if self._on_recorded is None:
            return
        future = asyncio.ensure_future(self._on_recorded(session_id, party, path, duration_s, size, state))
        self._tasks.add(future)
        future.add_done_callback(self._index_done)

    def _index_done(self, future: asyncio.Future[Any]) -> None:
        self._tasks.discard(future)
        if not future.cancelled() and future.exception() is not None:
            logger.error("indexing a recording failed", exc_info=future.exception())

    async def flush_recordings(self, timeout: float = 10) -> None:
        """Wait until every closed recording is finalized and indexed."""
        loop = asyncio.get_running_loop()
        for recorder in list(self._closing):
            await loop.run_in_executor(None, recorder.join, timeout)
        await asyncio.sleep(0)  # let the indexing callbacks run
        self._closing = {r for r in self._closing if not r.done.is_set()}
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def bridge_of(self, leg: Leg) -> Bridge | None:
        return next((br for br in self._bridges if not br.closed and br.involves(leg)), None)

    def _unbridge(self, which: Callable[[Bridge], bool]) -> None:
        for bridge in [br for br in self._bridges if br.closed or which(br)]:
            bridge.detach()
            self._bridges.remove(bridge)

    def _leg_closed(self, leg: Leg) -> None:
        self._unbridge(lambda br: br.involves(leg))
        self.unmonitor(leg)
        for follower in [*self._monitors, *self._calls.values()]:
            follower.forget(leg)
        self._legs.pop(leg.id, None)

    async def close(self) -> None:
        """Unbridge and close every leg; finalize every recording."""
        self._unbridge(lambda br: True)
        for follower in [*self._monitors, *self._calls.values()]:
            follower.detach()
        self._monitors.clear()
        for session_id in list(self._recorders):
            self.end_session(session_id)
        for leg in list(self._legs.values()):
            await leg.close()
        self._legs.clear()
        await self.flush_recordings()

    def stats(self) -> dict[str, int]:
        self._unbridge(lambda br: False)  # forget bridges closed directly
        return {"legs": len(self._legs), "bridges": len(self._bridges)}

    @property
    def monitors(self) -> list[Monitor]:
        return [m for m in self._monitors if not m.closed]
