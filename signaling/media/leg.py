"""A leg: one WebRTC peer connection between one participant and the server."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import Any

from aiortc import RTCConfiguration, RTCIceCandidate, RTCPeerConnection, RTCSessionDescription
from aiortc import sdp as aiortc_sdp
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcrtptransceiver import RTCRtpTransceiver

from . import adaptation, aiortc_hooks
from .errors import MediaError
from .ice import AnnouncedAddresses, candidate_address, is_mdns_candidate, parse_candidate
from .relay import OutputTrack, Tap

logger = logging.getLogger(__name__)

# (kind, ordinal among the leg's m-lines of that kind): ("audio", 0) is the
# microphone, ("video", 0) the camera, ("video", 1) the screen share.
SlotKey = tuple[str, int]
StateCallback = Callable[[str], None]
# (slot, "paused" | "resumed", the tap whose video it is): an output of this leg stopped or resumed video.
VideoStateCallback = Callable[[SlotKey, str, "Tap | None"], None]

MAX_SDP_BYTES = 64_000  # a participant's offer is 5-10 KB; sixteen m-lines stay well under this
# A participant needs 3 (audio, camera, screen), the monitor 6, a three-party call about a dozen.
MAX_MEDIA_SECTIONS = 16
# The contract's codecs (Opus, VP8); an offer without them cannot be bridged.
# H.264 is also taken for video: such a leg is bridged by transcoding.
_ACCEPTED_CODECS = {"audio": ("audio/opus",), "video": ("video/vp8", "video/h264")}


def _strip_candidates(sdp: str, reachable: Callable[[str], bool] | None) -> str:
    """Drop `a=candidate` lines with an mDNS address (unresolvable server-side) or one the leg
    cannot reach (ice.reachable_from)."""

    def dropped(candidate: str) -> bool:
        address = candidate_address(candidate)
        return is_mdns_candidate(candidate) or (reachable is not None and address is not None
                                                and not reachable(address))

    lines = sdp.replace("\r\n", "\n").split("\n")
    kept = [line for line in lines if not (line.startswith("a=candidate:") and dropped(line[len("a=candidate:"):]))]
    return "\r\n".join(kept)


def _check_offer(sdp: Any, reachable: Callable[[str], bool] | None = None) -> str:
    """Validate an offer before aiortc touches the peer connection.

    aiortc mutates the connection while applying a description, so catching
    the common mistakes first keeps a refused renegotiation from leaving the
    leg half-changed.
    """
    if not isinstance(sdp, str) or not sdp.strip():
        raise MediaError("bad_sdp", "sdp must be a non-empty string")
    if len(sdp) > MAX_SDP_BYTES:
        raise MediaError("bad_sdp", "sdp is too large")
    # Counted before parsing: aiortc's parse and apply cost grows with the m-lines (50 bundled
    # m-lines froze the event loop for seconds).
    if sdp.count("\nm=") + sdp.startswith("m=") > MAX_MEDIA_SECTIONS:
        raise MediaError("too_many_media", f"an offer may carry at most {MAX_MEDIA_SECTIONS} media sections")
    sdp = _strip_candidates(sdp, reachable)
    try:
        description = aiortc_sdp.SessionDescription.parse(sdp)
    except Exception as exc:  # the parser raises anything from ValueError to KeyError
        raise MediaError("bad_sdp", f"unparsable sdp: {exc.__class__.__name__}") from exc
    media = [m for m in description.media if m.kind in ("audio", "video")]
    if not media:
        raise MediaError("bad_sdp", "the offer has no audio or video section")
    for m in description.media:
        if not m.ice.usernameFragment or not m.ice.password:
            raise MediaError("bad_sdp", "ICE username fragment or password is missing")
        if m.dtls is None or not m.dtls.fingerprints:
            raise MediaError("bad_sdp", "DTLS fingerprint is missing")
    for m in media:
        if m.direction is None:
            raise MediaError("bad_sdp", f"{m.kind} section has no direction")
        wanted = _ACCEPTED_CODECS[m.kind]
        if not any(c.mimeType.lower() in wanted for c in m.rtp.codecs):
            raise MediaError("bad_sdp", f"{m.kind} section does not offer {' or '.join(wanted)}")
    return sdp


class Leg:
    """One participant's peer connection to the server.

    The participant always offers; the server answers sendrecv on every
    audio/video m-line so that it can send the other party's media once
    bridged. Until then each sender holds an idle :class:`OutputTrack` and
    sends nothing, and received frames are counted and dropped without being
    decoded (see :class:`~.relay.Tap`).
    """

    def __init__(
        self,
        owner: str,
        configuration: RTCConfiguration,
        on_closed: Callable[[Leg], None] | None = None,
        *,
        bind_host: aiortc_hooks.HostBinder | None = None,
        announced: AnnouncedAddresses | None = None,
        reachable: Callable[[str], bool] | None = None,
    ) -> None:
        self.id = uuid.uuid4().hex
        self.owner = owner
        self.adapt = False  # adaptation in passthrough on the slots its offers make (media/adaptation.py)
        self._pc = RTCPeerConnection(configuration)
        # Host sockets bound in VW_UDP_PORTS (ports.PortRange.bind) and VW_ANNOUNCED_ADDRESSES.
        self._bind_host = bind_host
        self._announced = announced.announce if announced else None
        self._reachable = reachable  # remote candidate addresses kept (ice.reachable_from)
        self._on_closed = on_closed
        self._lock = asyncio.Lock()  # one offer at a time
        self._described = False  # a remote description has been applied
        self._pending: list[RTCIceCandidate] = []  # candidates that beat their offer
        self._pending_end = False
        self._taps: dict[RTCRtpTransceiver, Tap] = {}
        self._outputs: dict[RTCRtpTransceiver, OutputTrack] = {}
        self._pacer = adaptation.Pacer()  # one link: its outputs share one budget (adaptation on)
        self._state_callbacks: list[StateCallback] = []
        self._watchers: list[Callable[[], None]] = []
        self._video_callbacks: list[VideoStateCallback] = []
        self._closed = False
        self._pc.on("track", self._on_track)
        self._pc.on("connectionstatechange", self._on_connection_state)

    # -- state --------------------------------------------------------------

    @property
    def state(self) -> str:
        """The peer connection's connectionState (new, connecting, connected, failed, closed)."""
        return self._pc.connectionState

    @property
    def closed(self) -> bool:
        return self._closed

    def on_state(self, callback: StateCallback) -> Callable[[], None]:
        """Call `callback(state)` on every connection state change; returns an unsubscriber."""
        self._state_callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in self._state_callbacks:
                self._state_callbacks.remove(callback)

        return unsubscribe

    def _on_connection_state(self) -> None:
        state = self._pc.connectionState
        for callback in list(self._state_callbacks):
            try:
                callback(state)
            except Exception:
                logger.exception("leg %s state callback failed", self.id)

    def on_video(self, callback: VideoStateCallback) -> None:
        """Call `callback(slot, state, source tap)` when an output of this leg pauses or resumes video
        because this participant's link is too weak for it (adaptation on)."""
        self._video_callbacks.append(callback)

    def _video_changed(self, output: OutputTrack, state: str) -> None:
        slot = next((key for key, out in self.outputs().items() if out is output), None)
        if slot is None:
            return
        for callback in list(self._video_callbacks):
            try:
                callback(slot, state, output.upstream)
            except Exception:
                logger.exception("leg %s video callback failed", self.id)

    # -- tracks -------------------------------------------------------------

    def _keys(self) -> dict[RTCRtpTransceiver, SlotKey]:
        keys: dict[RTCRtpTransceiver, SlotKey] = {}
        counts: dict[str, int] = {}
        for t in self._pc.getTransceivers():
            n = counts.get(t.kind, 0)
            counts[t.kind] = n + 1
            keys[t] = (t.kind, n)
        return keys

    @property
    def received_tracks(self) -> dict[str, list[MediaStreamTrack]]:
        """Remote tracks by kind, in m-line order: {"audio": [mic], "video": [camera, screen?]}."""
        tracks: dict[str, list[MediaStreamTrack]] = {"audio": [], "video": []}
        for t in self._pc.getTransceivers():
            if t in self._taps:
                tracks.setdefault(t.kind, []).append(self._taps[t].track)
        return tracks

    def inputs(self) -> dict[SlotKey, Tap]:
        """What this leg receives, by slot."""
        keys = self._keys()
        return {keys[t]: tap for t, tap in self._taps.items() if t in keys}

    def outputs(self) -> dict[SlotKey, OutputTrack]:
        """What this leg can send, by slot."""
        keys = self._keys()
        return {keys[t]: out for t, out in self._outputs.items() if t in keys}

    def watch(self, callback: Callable[[], None]) -> None:
        """Call `callback()` whenever inputs or outputs change (for bridges)."""
        self._watchers.append(callback)

    def unwatch(self, callback: Callable[[], None]) -> None:
        if callback in self._watchers:
            self._watchers.remove(callback)

    def _on_track(self, track: MediaStreamTrack) -> None:
        for t in self._pc.getTransceivers():
            if t.receiver.track is track and t not in self._taps:
                self._taps[t] = Tap(t, adapt=self.adapt)

    def frames_received(self) -> int:
        """Encoded frames received on every slot so far (the engine watches it for stalls)."""
        return sum(tap.frames for tap in self._taps.values())

    async def packets_sent(self) -> int:
        """RTP packets sent on this leg so far (0 while never bridged)."""
        total = 0
        for sender in self._pc.getSenders():
            report = await sender.getStats()
            total += sum(
                getattr(s, "packetsSent", 0) for s in report.values() if s.type == "outbound-rtp"
            )
        return total

    async def rtp_stats(self) -> tuple[list[Any], list[tuple[str, str, int, int, int]]]:
        """For media/quality.py: aiortc's statistics of every sender (outbound-rtp, remote-inbound-rtp,
        transport), and what every receiver counted per media SSRC: (kind, key, received, lost, jitter)."""
        sent: list[Any] = []
        received: list[tuple[str, str, int, int, int]] = []
        for transceiver in self._pc.getTransceivers():
            sent.extend((await transceiver.sender.getStats()).values())
            for ssrc, got, lost, jitter in aiortc_hooks.received_streams(transceiver.receiver):
                received.append((transceiver.kind, f"{transceiver.mid}:{ssrc}", got, lost, jitter))
        return sent, received

    # -- negotiation ----------------------------------------------------------

    async def handle_offer(self, sdp: str) -> str:
        """Apply the participant's offer (first or renegotiation) and return the answer SDP."""
        self._assert_open()
        sdp = _check_offer(sdp, self._reachable)
        async with self._lock:
            self._assert_open()
            try:
                await self._pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
                self._described = True
                aiortc_hooks.confine_ice(self._pc, self._bind_host, self._announced)
                for t in self._pc.getTransceivers():
                    if t.kind in ("audio", "video") and t not in self._outputs:
                        # Created by the offer as recvonly: answer sendrecv, with a
                        # sender that stays silent until a bridge feeds it.
                        output = OutputTrack(t.kind, t, adapt=self.adapt, pacer=self._pacer)
                        output.on_video = self._video_changed
                        t.sender.replaceTrack(output)
                        t.direction = "sendrecv"
                        self._outputs[t] = output
                await self._pc.setLocalDescription(await self._pc.createAnswer())
            except MediaError as exc:
                if exc.code == "no_ports":  # gathering failed: the next offer gets a new leg
                    await self.close()
                raise
            except Exception as exc:  # aiortc raises several types; never leak them
                if self._closed:
                    raise MediaError("no_leg", "the leg was closed") from exc
                raise MediaError("bad_sdp", f"offer refused: {exc}") from exc
            await self._flush_pending()
            answer = self._pc.localDescription.sdp
        self._notify()
        return answer

    async def add_candidate(self, payload: dict[str, Any]) -> None:
        """Add a trickled candidate; `candidate == ""` ends them; `.local` ones are dropped."""
        self._assert_open()
        if not isinstance(payload, dict):
            raise MediaError("bad_candidate", "candidate payload must be an object")
        if payload.get("candidate") in ("", None):
            if not self._described:
                self._pending_end = True
                return
            await self._add(None)
            return
        try:
            candidate = parse_candidate(payload)
        except ValueError as exc:
            raise MediaError("bad_candidate", str(exc)) from exc
        if candidate is None:
            return  # mDNS: see parse_candidate
        if self._reachable is not None and not self._reachable(candidate.ip):
            return  # an address this leg cannot reach from where it gathers: see ice.reachable_from
        if not self._described:
            self._pending.append(candidate)  # the offer is still being applied
            return
        await self._add(candidate)

    async def _flush_pending(self) -> None:
        pending, self._pending = self._pending, []
        for candidate in pending:
            await self._add(candidate)
        if self._pending_end:
            self._pending_end = False
            await self._add(None)

    async def _add(self, candidate: RTCIceCandidate | None) -> None:
        try:
            await self._pc.addIceCandidate(candidate)
        except Exception as exc:
            raise MediaError("bad_candidate", f"candidate refused: {exc}") from exc

    # -- lifetime -------------------------------------------------------------

    def _assert_open(self) -> None:
        if self._closed:
            raise MediaError("no_leg", "the leg is closed")

    def _notify(self) -> None:
        for callback in list(self._watchers):
            try:
                callback()
            except Exception:
                logger.exception("leg %s watcher failed", self.id)

    async def close(self) -> None:
        """Close the peer connection and stop reading its tracks. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._on_closed is not None:
            self._on_closed(self)  # unbridges first, so nobody pushes to dead outputs
        await self._pc.close()
        for tap in self._taps.values():
            await tap.stop()
        self._watchers.clear()
        self._state_callbacks.clear()
        self._video_callbacks.clear()

    def __repr__(self) -> str:
        return f"<Leg {self.id[:8]} owner={self.owner!r} state={self.state}>"
