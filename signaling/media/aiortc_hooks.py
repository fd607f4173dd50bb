"""Every aiortc internal the media plane touches, in one place.

aiortc has no public API for forwarding encoded media. The hooks here reach
just far enough in (aiortc 1.16.0, read from its source):

- **receive side** — `RTCRtpReceiver._handle_rtp_packet` puts each complete
  `JitterFrame` (depayloaded VP8 / Opus / Annex-B H.264, timestamp mapped to
  start at 0) on the private queue ``_RTCRtpReceiver__decoder_queue``, read by
  a `decoder_worker` thread started in `receive()` with that queue object.
  :func:`tap_receiver` swaps the queue, before `receive()`, for a
  :class:`FrameSplitter` that hands every encoded frame to a callback as one
  :class:`EncodedFrame` on the event loop, and passes it on to the decoder
  thread only while decoding is wanted (transcoding). Idle or forwarding,
  nothing is decoded and the decoder thread sleeps. The frame's bytes are the
  jitter buffer's own (`b"".join` of the RTP payloads, a fresh immutable
  `bytes` per frame), so they are shared, never copied.
- **send side** — `RTCRtpSender._next_encoded_frame` encodes what its track
  returns only if it is an `av.Frame`; anything else goes to
  `encoder.pack()`. The VP8 and Opus packers read nothing but
  `bytes(packet)`, `packet.pts` and `packet.time_base`, so an
  :class:`EncodedFrame` is sent as it is; the H.264 packer asserts an
  `av.Packet`, so :func:`sendable` builds one for H.264 only.
- **keyframe requests** — PLI/FIR reaching a sender only call
  `RTCRtpSender._send_keyframe()` (sets a flag read on the encode path);
  :func:`on_keyframe_request` wraps that method per instance, and
  :func:`request_keyframe` sends a PLI upstream with
  `RTCRtpReceiver._send_rtcp_pli(media_ssrc)`.
- **ICE host sockets and announced addresses** (aioice 0.13.0) — see the
  section before :func:`confine_ice`.
- **negotiated codecs** — `RTCRtpTransceiver._codecs` (first = the one sent).
- **adaptation** (`media/adaptation.py` decides, with ``VW_ADAPTATION=on``):
  an audio receiver's `JitterBuffer` (``_RTCRtpReceiver__jitter_buffer``) is
  replaced by :class:`PacketByPacket` (each Opus packet is a frame, handed on
  as it arrives: aiortc's buffer holds a run after a gap and then drops it),
  and a video receiver's by :class:`HoleSkipping` (aiortc's own, with
  ``_origin`` / ``_packets`` / ``smart_remove`` / ``_remove_frame`` used to
  skip a hole nobody repaired);
  `RTCRtpSender._retransmit` is wrapped per instance (:func:`gate_retransmissions`,
  reading the packet's size from ``_RTCRtpSender__rtp_history``, the round
  trip from ``_RTCRtpSender__rtt`` and the packets sent so far from
  ``_RTCRtpSender__packet_count``); a leg's DTLS transport's `_send_rtp` is
  wrapped per instance to pace its video (:func:`pace_sends`, re-registered
  through a per-instance `RTCRtpSender.setTransport` when bundling swaps it);
  REMB and receiver reports reaching a sender are read in a per-instance
  `_handle_rtcp_packet` (:func:`on_remb`: the DTLS transport looks it up on the instance; a report's round trip from
  ``_RTCRtpSender__lsr`` / ``__lsr_time``, as aiortc works it out); a receiver's own REMB and NACKs are rewritten in
  per-instance `_send_rtcp` / `_send_rtcp_nack` (:func:`limit_remb`,
  :func:`filter_nacks`), and :func:`send_remb` sends one more from its RTCP
  SSRC (``_RTCRtpReceiver__rtcp_ssrc``).

:func:`check_aiortc` verifies the pinned version and that each of these
still exists with the expected shape; `tests/unit/test_media_relay.py` calls
it, so an aiortc upgrade fails loudly instead of silently decoding again.
"""

from __future__ import annotations

import asyncio
import contextvars
import fractions
import functools
import inspect
import ipaddress
import logging
import queue
import re
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

import aioice
import aioice.candidate
import aioice.ice
import aioice.turn
import aiortc
import av
from aiortc import RTCIceCandidate, jitterbuffer, rtcpeerconnection, rtcrtpreceiver, rtcrtpsender
from aiortc.codecs import g711, g722, opus, vpx
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.rtcicetransport import RTCIceGatherer
from aiortc.rtcrtptransceiver import RTCRtpTransceiver
from aiortc.rtp import (RTCP_PSFB_APP, RTP_HISTORY_SIZE, RtcpPsfbPacket, RtcpRrPacket, RtcpSrPacket, is_rtcp,
                        pack_remb_fci, unpack_remb_fci)
from aiortc.utils import uint16_add, uint16_gt

logger = logging.getLogger(__name__)

PINNED_AIORTC = "1.16.0"


class EncodedFrame(NamedTuple):
    """One received encoded frame, made once and shared by every consumer.

    Immutable (a tuple: a consumer cannot restamp it under the others' feet;
    a NamedTuple rather than a frozen dataclass because it is built several
    times faster, once per frame). `pts` is the RTP timestamp counted from 0,
    `time_base` the codec's shared ``1 / clock rate`` (see :func:`time_base`).
    It is also what a sender packs (see :func:`sendable`).
    """

    mime: str  # lower case, e.g. "video/vp8"
    data: bytes
    pts: int
    time_base: fractions.Fraction
    keyframe: bool

    def __bytes__(self) -> bytes:
        return self.data  # the same object: bytes() of it copies nothing

    def at(self, pts: int) -> EncodedFrame:
        """The same frame (same bytes) at another timestamp."""
        return _new_tuple(EncodedFrame, (self.mime, self.data, pts, self.time_base, self.keyframe))


_new_tuple = tuple.__new__  # skips NamedTuple's keyword handling on the per-frame path

# (mime type, frame): the MIME type is frame.mime too; it stays the first
# argument because consumers outside the plane (the headless client) take it.
PacketCallback = Callable[[str, EncodedFrame], None]

_QUEUE_ATTR = "_RTCRtpReceiver__decoder_queue"
_THREAD_ATTR = "_RTCRtpReceiver__decoder_thread"
_RTX_ATTR = "_RTCRtpReceiver__rtx_ssrc"
_STREAMS_ATTR = "_RTCRtpReceiver__remote_streams"  # ssrc -> StreamStatistics (packets_received, packets_lost, jitter)


# Packers that take any object with bytes(), pts and time_base (H.264's asserts av.Packet).
_DUCK_PACKERS = (vpx.Vp8Encoder, opus.OpusEncoder, g711.PcmEncoder, g722.G722Encoder)


class AiortcChanged(RuntimeError):
    """The installed aiortc is not the one these hooks were written against."""


def check_aiortc() -> None:
    """Raise :class:`AiortcChanged` unless every internal used here is as expected."""
    problems: list[str] = []
    if aiortc.__version__ != PINNED_AIORTC:
        problems.append(f"aiortc {aiortc.__version__} installed, hooks written for {PINNED_AIORTC}")
    _check_aioice(problems)
    init = inspect.getsource(RTCRtpReceiver.__init__)
    for needle in ("self.__decoder_queue: queue.Queue", "self.__decoder_thread", "self.__rtx_ssrc",
                   "self.__remote_streams"):
        if needle not in init:
            problems.append(f"RTCRtpReceiver.__init__ lacks {needle!r}")
    receive = inspect.getsource(RTCRtpReceiver.receive)
    if "target=decoder_worker" not in receive or "self.__decoder_queue" not in receive:
        problems.append("RTCRtpReceiver.receive no longer starts decoder_worker on __decoder_queue")
    handle = inspect.getsource(RTCRtpReceiver._handle_rtp_packet)
    if "self.__decoder_queue.put((codec, encoded_frame))" not in handle:
        problems.append("RTCRtpReceiver._handle_rtp_packet no longer queues (codec, encoded_frame)")
    if "self.__timestamp_mapper.map" not in handle:
        problems.append("RTCRtpReceiver no longer maps timestamps before queueing")
    worker = inspect.getsource(rtcrtpreceiver.decoder_worker)
    if "task = input_q.get()" not in worker or "if task is None" not in worker:
        problems.append("decoder_worker no longer ends on a None task")
    if list(inspect.signature(RTCRtpReceiver._send_rtcp_pli).parameters) != ["self", "media_ssrc"]:
        problems.append("RTCRtpReceiver._send_rtcp_pli(media_ssrc) changed")
    rtcp = inspect.getsource(RTCRtpSender._handle_rtcp_packet)
    if "self._send_keyframe()" not in rtcp or "RTCP_PSFB_PLI" not in rtcp:
        problems.append("RTCRtpSender no longer calls _send_keyframe() on PLI/FIR")
    nxt = inspect.getsource(RTCRtpSender._next_encoded_frame)
    if "self.__encoder.pack(data)" not in nxt or "isinstance(data, Frame)" not in nxt:
        problems.append("RTCRtpSender no longer packs pre-encoded av.Packet")
    for encoder in _DUCK_PACKERS:
        pack = inspect.getsource(encoder.pack)
        if "bytes(packet)" not in pack or not set(re.findall(r"packet\.(\w+)", pack)) <= {"pts", "time_base"}:
            problems.append(f"{encoder.__name__}.pack reads more than bytes(packet), pts and time_base")
    if 'data=b"".join(' not in inspect.getsource(jitterbuffer.JitterBuffer._remove_frame):
        problems.append("JitterFrame.data is no longer a fresh bytes object per frame (it is shared uncopied)")
    if "self._codecs" not in inspect.getsource(RTCRtpTransceiver.__init__):
        problems.append("RTCRtpTransceiver._codecs is gone")
    if not hasattr(rtcrtpsender, "RTCEncodedFrame"):
        problems.append("rtcrtpsender.RTCEncodedFrame is gone (rtcrtpsender changed shape)")
    problems += _adaptation_problems(init, handle, rtcp)
    if problems:
        raise AiortcChanged("; ".join(problems))


# -- receive side -----------------------------------------------------------------


def vp8_is_keyframe(data: bytes) -> bool:
    """A VP8 frame is a keyframe when bit 0 of its first byte is 0 (RFC 6386 9.1)."""
    return len(data) >= 10 and not data[0] & 0x01 and data[3:6] == b"\x9d\x01\x2a"


def vp8_dimensions(data: bytes) -> tuple[int, int] | None:
    """Width and height from a VP8 keyframe header, else None."""
    if not vp8_is_keyframe(data):
        return None
    width = int.from_bytes(data[6:8], "little") & 0x3FFF
    height = int.from_bytes(data[8:10], "little") & 0x3FFF
    return width, height


class FrameSplitter(queue.Queue):
    """Replaces a receiver's decoder queue (see the module notes).

    `put((codec, jitter_frame))` happens on the event loop thread; the frame
    goes to `on_packet` as one :class:`EncodedFrame` (pts = RTP timestamp
    from 0, keyframes marked), and to the decoder thread only while `decode`
    is true. `put(None)` (the receiver stopping) still ends the decoder
    thread.
    """

    def __init__(self, on_packet: PacketCallback) -> None:
        super().__init__()
        self.on_packet = on_packet
        self.decode = False
        self.encoded = 0  # frames seen
        self.decoded = 0  # frames handed to the decoder thread

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is None:
            super().put(None)
            return
        codec, frame = item
        self.encoded += 1
        mime, base = _codec_facts(codec.mimeType, codec.clockRate)
        data = frame.data
        keyframe = vp8_is_keyframe(data) if mime == "video/vp8" else mime.startswith("audio/")
        try:
            self.on_packet(mime, _new_tuple(EncodedFrame, (mime, data, frame.timestamp, base, keyframe)))
        except Exception:  # a broken consumer must not break the receiver
            logger.exception("encoded frame consumer failed")
        if self.decode:
            self.decoded += 1
            super().put(item)


@functools.lru_cache(maxsize=16)
def time_base(clock_rate: int) -> fractions.Fraction:
    """``1 / clock_rate``, one shared object per clock (compared by identity on the hot path)."""
    return fractions.Fraction(1, clock_rate)


@functools.lru_cache(maxsize=16)
def _codec_facts(mime_type: str, clock_rate: int) -> tuple[str, fractions.Fraction]:
    """Lower-case MIME type and time base of a codec: worked out once, not per frame."""
    return mime_type.lower(), time_base(clock_rate)


def tap_receiver(receiver: RTCRtpReceiver, on_packet: PacketCallback) -> FrameSplitter:
    """Install a :class:`FrameSplitter` on a receiver that has not started yet."""
    if getattr(receiver, _THREAD_ATTR) is not None:
        raise AiortcChanged("the receiver already runs its decoder thread")
    splitter = FrameSplitter(on_packet)
    setattr(receiver, _QUEUE_ATTR, splitter)
    return splitter


def splitter_of(receiver: RTCRtpReceiver) -> FrameSplitter | None:
    q = getattr(receiver, _QUEUE_ATTR, None)
    return q if isinstance(q, FrameSplitter) else None


def media_ssrcs(receiver: RTCRtpReceiver) -> list[int]:
    """SSRCs the receiver got media from lately (retransmission SSRCs left out)."""
    rtx = getattr(receiver, _RTX_ATTR, {})
    return [s.source for s in receiver.getSynchronizationSources() if s.source not in rtx]


def received_streams(receiver: RTCRtpReceiver) -> list[tuple[int, int, int, int]]:
    """(SSRC, packets received, packets lost, jitter in RTP clock units) of each media SSRC the
    receiver counts, retransmission SSRCs left out (media/quality.py). Not getStats(): it gives one
    SSRC per receiver, the last one seen, which is the retransmission stream once a packet was resent."""
    rtx = getattr(receiver, _RTX_ATTR, {})
    streams = getattr(receiver, _STREAMS_ATTR, {})
    return [(ssrc, s.packets_received, s.packets_lost, s.jitter) for ssrc, s in list(streams.items())
            if ssrc not in rtx]


def request_keyframe(receiver: RTCRtpReceiver, tasks: set[asyncio.Task[None]]) -> bool:
    """Send a PLI for each media SSRC of `receiver`; False when none is known yet."""
    ssrcs = media_ssrcs(receiver)
    for ssrc in ssrcs:
        task = asyncio.ensure_future(receiver._send_rtcp_pli(ssrc))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    return bool(ssrcs)


def _adaptation_problems(receiver_init: str, handle_rtp: str, sender_rtcp: str) -> list[str]:
    """What the adaptation hooks (bottom of this module) need of aiortc, as :func:`check_aiortc` reports it."""
    problems = []
    if "self.__jitter_buffer = JitterBuffer(capacity=16, prefetch=4)" not in receiver_init:
        problems.append("RTCRtpReceiver.__init__ no longer makes the audio JitterBuffer(capacity=16, prefetch=4)")
    if "self.__jitter_buffer = JitterBuffer(capacity=512, is_video=True)" not in receiver_init:
        problems.append("RTCRtpReceiver.__init__ no longer makes the video JitterBuffer(capacity=512, is_video=True)")
    buffer_source = inspect.getsource(jitterbuffer.JitterBuffer)
    if not all(part in buffer_source for part in (
            "self._origin", "self._packets", "def smart_remove(self, count: int)", "def _remove_frame(self")):
        problems.append("JitterBuffer no longer keeps _origin / _packets / smart_remove / _remove_frame (HoleSkipping)")
    if "if pli_flag:" not in handle_rtp:
        problems.append("RTCRtpReceiver._handle_rtp_packet no longer sends a PLI on the jitter buffer's flag")
    if "self.__rtcp_ssrc" not in receiver_init:
        problems.append("RTCRtpReceiver.__init__ lacks self.__rtcp_ssrc")
    if "pli_flag, encoded_frame = self.__jitter_buffer.add(packet)" not in handle_rtp:
        problems.append("RTCRtpReceiver._handle_rtp_packet no longer takes (pli_flag, frame) from the jitter buffer")
    if "await self._send_rtcp(rtcp_packet)" not in handle_rtp or "pack_remb_fci(*remb)" not in handle_rtp:
        problems.append("RTCRtpReceiver no longer sends its REMB through self._send_rtcp")
    if "await self._send_rtcp_nack(" not in handle_rtp:
        problems.append("RTCRtpReceiver no longer sends NACKs through self._send_rtcp_nack")
    if "await self._retransmit(seq)" not in sender_rtcp or "unpack_remb_fci(packet.fci)" not in sender_rtcp:
        problems.append("RTCRtpSender._handle_rtcp_packet no longer calls self._retransmit(seq) / reads REMB")
    retransmit = inspect.getsource(RTCRtpSender._retransmit)
    if "self.__rtp_history.get(sequence_number % RTP_HISTORY_SIZE)" not in retransmit:
        problems.append("RTCRtpSender._retransmit no longer reads __rtp_history by sequence_number % RTP_HISTORY_SIZE")
    sender_init = inspect.getsource(RTCRtpSender.__init__)
    for attr in ("self.__rtt: Optional[float]", "self.__packet_count = 0", "self.__lsr: Optional[int]",
                 "self.__lsr_time: Optional[float]"):
        if attr not in sender_init:
            problems.append(f"RTCRtpSender.__init__ lacks {attr.split(':')[0].split(' =')[0]}")
    if "await recipient._handle_rtcp_packet(packet)" not in inspect.getsource(
            RTCDtlsTransport._handle_rtcp_data):
        problems.append("the DTLS transport no longer calls recipient._handle_rtcp_packet on the instance")
    run_rtp = inspect.getsource(RTCRtpSender._run_rtp)
    if "await self.transport._send_rtp(packet_bytes)" not in run_rtp or \
            "await self.transport._send_rtp(packet_bytes)" not in retransmit:
        problems.append("RTCRtpSender no longer sends RTP through self.transport._send_rtp (pace_sends)")
    if "self.__transport = transport" not in inspect.getsource(RTCRtpSender.setTransport):
        problems.append("RTCRtpSender.setTransport no longer just sets the transport")
    if list(inspect.signature(RTCRtpReceiver._send_rtcp_nack).parameters) != ["self", "media_ssrc", "lost"]:
        problems.append("RTCRtpReceiver._send_rtcp_nack(media_ssrc, lost) changed")
    return problems


# -- send side -------------------------------------------------------------------


def sendable(frame: EncodedFrame) -> EncodedFrame | av.Packet:
    """What a sender's track returns for `frame`: the frame itself, or an `av.Packet` for H.264.

    The H.264 packer asserts `isinstance(packet, av.Packet)`, so only H.264
    pays for a packet (and a copy of the bytes); see the module notes.
    """
    if frame.mime != "video/h264":
        return frame
    packet = av.Packet(frame.data)
    packet.pts = packet.dts = frame.pts
    packet.time_base = frame.time_base
    packet.is_keyframe = frame.keyframe
    return packet


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call `callback()` whenever the far end asks this sender for a keyframe (PLI/FIR)."""
    original = RTCRtpSender._send_keyframe.__get__(sender)

    def send_keyframe() -> None:
        original()  # still sets the encoder's flag, for transcoded media
        try:
            callback()
        except Exception:
            logger.exception("keyframe request callback failed")

    sender._send_keyframe = send_keyframe  # type: ignore[method-assign]


# -- ICE: host sockets in VW_UDP_PORTS, announced addresses ------------------------
#
# aioice 0.13.0 binds host candidates in `Connection.get_component_candidates`
# (`loop.create_datagram_endpoint(..., local_addr=(address, 0))`: a port of the
# OS's choice), then asks the STUN server about those sockets and allocates on
# the TURN server. :func:`confine_ice` replaces that method on each of a peer
# connection's aioice connections (found through `__iceTransports`, the set
# `__gather` gathers on) with one that binds the host sockets through a
# `HostBinder` (ports.PortRange.bind), asks STUN about them with aioice's own
# `server_reflexive_candidate`, and leaves TURN to aioice's method called with
# no host address. The TURN client socket is not a host candidate: it is an
# outbound socket on an OS-chosen port, connected to the TURN server.
# Announced addresses replace `RTCIceGatherer.getLocalCandidates` on the
# instance: aiortc writes the answer's `a=candidate` and `c=` lines from it,
# while aioice keeps pairing and checking with the real local candidates.

PINNED_AIOICE = "0.13.0"
_ICE_TRANSPORTS_ATTR = "_RTCPeerConnection__iceTransports"
_CONFINED_ATTR = "_vw_confined"

HostBinder = Callable[[str, Callable[[], Any]], Awaitable[tuple[asyncio.DatagramTransport, Any]]]


def _check_aioice(problems: list[str]) -> None:
    if aioice.__version__ != PINNED_AIOICE:
        problems.append(f"aioice {aioice.__version__} installed, hooks written for {PINNED_AIOICE}")
    component = inspect.getsource(aioice.ice.Connection.get_component_candidates)
    for needle in ("local_addr=(address, 0)", "server_reflexive_candidate(protocol, self.stun_server)",
                   "self._protocols += host_protocols", "if self.turn_server:", "relayed_candidate("):
        if needle not in component:
            problems.append(f"aioice Connection.get_component_candidates lacks {needle!r}")
    gather = inspect.getsource(aioice.ice.Connection.gather_candidates)
    if "self.get_component_candidates(component=component, addresses=addresses)" not in gather:
        problems.append("aioice Connection.gather_candidates no longer calls get_component_candidates")
    if "self.__iceTransports" not in inspect.getsource(aiortc.RTCPeerConnection._RTCPeerConnection__gather):
        problems.append("RTCPeerConnection no longer gathers on __iceTransports")
    if "self._connection.local_candidates" not in inspect.getsource(RTCIceGatherer.getLocalCandidates):
        problems.append("RTCIceGatherer.getLocalCandidates no longer reads its aioice connection")
    if "iceGatherer.getLocalCandidates()" not in inspect.getsource(rtcpeerconnection.add_transport_description):
        problems.append("aiortc no longer writes the SDP's candidates from RTCIceGatherer.getLocalCandidates")


def confine_ice(pc: aiortc.RTCPeerConnection, bind: HostBinder | None,
                announced: Callable[[list[RTCIceCandidate]], list[RTCIceCandidate]] | None) -> None:
    """Bind `pc`'s host sockets with `bind` and announce its candidates through `announced`.

    Call between `setRemoteDescription` and `setLocalDescription` (the ICE
    transports exist, gathering has not started); calling again after a
    renegotiation takes in any new transport. None leaves that part to aiortc.
    """
    if bind is None and announced is None:
        return
    for ice_transport in getattr(pc, _ICE_TRANSPORTS_ATTR):
        gatherer = ice_transport.iceGatherer
        if getattr(gatherer, _CONFINED_ATTR, False) or gatherer.state != "new":
            continue
        setattr(gatherer, _CONFINED_ATTR, True)
        if bind is not None:
            connection = gatherer._connection
            connection.get_component_candidates = functools.partial(_component_candidates, connection, bind)
        if announced is not None:
            local_candidates = gatherer.getLocalCandidates
            gatherer.getLocalCandidates = lambda local_candidates=local_candidates: announced(local_candidates())


async def _component_candidates(connection: aioice.Connection, bind: HostBinder, component: int,
                                addresses: list[str], timeout: int = 5) -> list[aioice.Candidate]:
    """aioice's `get_component_candidates`, with the host sockets bound by `bind` (see above)."""
    host = []
    try:
        for address in addresses:
            try:
                transport, protocol = await bind(address, lambda: aioice.ice.StunProtocol(connection))
            except OSError as exc:  # as aioice: an address that cannot be bound is skipped
                logger.info("could not bind to %s: %s", address, exc)
                continue
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, aioice.turn.UDP_SOCKET_BUFFER_SIZE)
            local_host, local_port = transport.get_extra_info("sockname")[:2]
            protocol.local_candidate = aioice.Candidate(
                foundation=aioice.candidate.candidate_foundation("host", "udp", local_host),
                component=component, transport="udp",
                priority=aioice.candidate.candidate_priority(component, "host"),
                host=local_host, port=local_port, type="host",
            )
            host.append(protocol)
    except BaseException:
        for protocol in host:
            await protocol.close()
        raise
    connection._protocols += host
    original = aioice.ice.Connection.get_component_candidates
    relayed, reflexive = await asyncio.gather(
        original(connection, component=component, addresses=[], timeout=timeout),  # TURN only
        _reflexive_candidates(connection, host, timeout),
    )
    return [p.local_candidate for p in host] + reflexive + relayed


async def _reflexive_candidates(connection: aioice.Connection, host: list[Any], timeout: float) -> list[aioice.Candidate]:
    """Server-reflexive candidates of the IPv4 host sockets, as aioice asks its STUN server."""
    if not connection.stun_server:
        return []
    tasks = [
        asyncio.create_task(aioice.ice.server_reflexive_candidate(p, connection.stun_server))
        for p in host
        if ipaddress.ip_address(p.local_candidate.host).version == 4
    ]
    if not tasks:
        return []
    done, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        task.cancel()
    return [task.result()[0] for task in done if task.exception() is None]


def negotiated_mime(transceiver: RTCRtpTransceiver) -> str | None:
    """The codec this transceiver sends (and the far end sends back), lower case."""
    codecs = [c for c in transceiver._codecs if c.name.lower() != "rtx"]
    return codecs[0].mimeType.lower() if codecs else None


# -- adaptation (media/adaptation.py decides; see the module notes) -------------------------------

_JITTER_ATTR = "_RTCRtpReceiver__jitter_buffer"
_RTCP_SSRC_ATTR = "_RTCRtpReceiver__rtcp_ssrc"
_HISTORY_ATTR = "_RTCRtpSender__rtp_history"
_RTT_ATTR = "_RTCRtpSender__rtt"
_PACKET_COUNT_ATTR = "_RTCRtpSender__packet_count"
_LSR_ATTR, _LSR_TIME_ATTR = "_RTCRtpSender__lsr", "_RTCRtpSender__lsr_time"  # its last sender report
_RESTART_DISTANCE = 100  # a sequence number this far behind is a restarted stream, not a late packet


class PacketByPacket:
    """Stands in for an audio receiver's JitterBuffer: each RTP packet is one frame, handed on at once.

    An Opus packet is a whole frame, so nothing is gained by waiting; aiortc's buffer (16 packets,
    4 prefetched) stops at a gap and later drops what piled up behind it, which turned 5 % packet
    loss into ~25 % lost audio. Late and repeated packets are dropped: forwarded, their older
    timestamp would read as a wrap-around downstream.
    """

    capacity = 1

    def __init__(self) -> None:
        self._last: int | None = None
        self.late = 0

    def add(self, packet: Any) -> tuple[bool, JitterFrame | None]:
        seq = packet.sequence_number
        if self._last is not None and not uint16_gt(seq, self._last) \
                and uint16_add(self._last, -seq) < _RESTART_DISTANCE:
            self.late += 1
            return False, None
        self._last = seq
        return False, JitterFrame(data=packet._data, timestamp=packet.timestamp)


def forward_packet_by_packet(receiver: RTCRtpReceiver) -> PacketByPacket:
    """Replace an audio receiver's jitter buffer (before it receives anything)."""
    buffer = PacketByPacket()
    setattr(receiver, _JITTER_ATTR, buffer)
    return buffer


class HoleSkipping(jitterbuffer.JitterBuffer):
    """A video receiver's JitterBuffer (aiortc's, 512 packets) that skips a hole nobody repaired.

    aiortc's gives nothing out while a packet is missing at its origin, until 512 more have come
    (4 s at 1.3 Mbit/s, 17 s at 300 kbit/s), so one packet lost for good froze the video passed on
    for that long. Here, once nothing has come out past a hole for `wait_s` (the NACKs have had their
    round trips), the hole and the rest of the frame after it are dropped (aiortc's own
    `smart_remove`, which stops at the next frame's first packet), and a keyframe is asked for
    (the PLI flag its receiver acts on). A repair arriving later is older than the origin: dropped.
    """

    def __init__(self, wait_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(capacity=512, is_video=True)
        self.wait_s = wait_s
        self._clock = clock
        self._highest: int | None = None  # the newest sequence number held
        self._hole_since: float | None = None
        self.skipped = 0  # holes skipped

    def add(self, packet: Any) -> tuple[bool, JitterFrame | None]:
        pli_flag, frame = super().add(packet)
        seq = packet.sequence_number
        if pli_flag or self._highest is None or uint16_gt(seq, self._highest):  # (a flag: aiortc started afresh)
            self._highest = seq
        newest = None if frame is not None or self._origin is None else uint16_add(self._highest, -self._origin)
        gap = None if newest is None or not 0 < newest < self._capacity else self._first_missing(newest)
        if gap is None:
            self._hole_since = None  # flowing, or waiting for the rest of a frame
            return pli_flag, frame
        now = self._clock()
        if self._hole_since is None:
            self._hole_since = now
        if now - self._hole_since < self.wait_s:
            return pli_flag, frame
        # The first packet held after the hole: at the latest the newest, which is always held.
        after = next(i for i in range(gap + 1, newest + 1) if self._held(i))
        self.smart_remove(after + 1)  # up to the hole, and the frame after it (it may lack its start)
        self._hole_since = None
        self.skipped += 1
        return True, self._remove_frame(seq)

    def _held(self, offset: int) -> bool:
        return self._packets[(self._origin + offset) % self._capacity] is not None

    def _first_missing(self, newest: int) -> int | None:
        """How far past the origin the first missing packet before the newest one is (None: none is)."""
        return next((i for i in range(newest) if not self._held(i)), None)


def skip_video_holes(receiver: RTCRtpReceiver, wait_s: float) -> HoleSkipping:
    """Replace a video receiver's jitter buffer (before it receives anything)."""
    buffer = HoleSkipping(wait_s)
    setattr(receiver, _JITTER_ATTR, buffer)
    return buffer


def sender_rtt(sender: RTCRtpSender) -> float | None:
    """The round trip aiortc measured from its receiver's reports (seconds), None before one."""
    return getattr(sender, _RTT_ATTR, None)


# decide(sequence number, packet size in bytes or None when no longer held, round trip,
#        packets sent so far) -> resend?
RetransmitDecision = Callable[[int, "int | None", "float | None", int], bool]


def gate_retransmissions(sender: RTCRtpSender, decide: RetransmitDecision) -> None:
    """Ask `decide` before this sender answers a NACK from its history."""
    original = RTCRtpSender._retransmit.__get__(sender)
    history: dict[int, Any] = getattr(sender, _HISTORY_ATTR)

    async def retransmit(sequence_number: int) -> None:
        packet = history.get(sequence_number % RTP_HISTORY_SIZE)
        held = packet is not None and packet.sequence_number == sequence_number
        size = len(packet.payload) + 12 if held else None
        try:
            resend = decide(sequence_number, size, sender_rtt(sender), getattr(sender, _PACKET_COUNT_ATTR))
        except Exception:
            logger.exception("retransmission decision failed")
            resend = True
        if resend:
            token = _RETRANSMITTING.set(True)  # what pace_sends charges without holding it back
            try:
                await original(sequence_number)
            finally:
                _RETRANSMITTING.reset(token)

    sender._retransmit = retransmit  # type: ignore[method-assign]


# Set while a sender resends from its history: the DTLS transport's RTCP loop awaits the resend,
# so holding it back would hold back everything the leg receives.
_RETRANSMITTING: contextvars.ContextVar[bool] = contextvars.ContextVar("vw_retransmitting", default=False)
_PACED_ATTR = "_vw_paced"  # on a DTLS transport: SSRC -> (delay, paced) of the senders on it

# delay(packet bytes, now, paced) -> seconds to wait before it leaves
PacingDelay = Callable[[int, float, bool], float]


def pace_sends(sender: RTCRtpSender, delay: PacingDelay, paced: bool) -> None:
    """Every RTP packet of `sender` goes through `delay` on its way to the DTLS transport: it waits
    what `delay` says if `paced` and it is not a retransmission, and is charged in any case.

    The transport (`RTCDtlsTransport._send_rtp`, shared by a leg's bundled senders) is wrapped
    per instance and tells the senders apart by SSRC (bytes 8-11 of the RTP header; RTX too).
    A sender changes transport when its offer bundles it (`RTCRtpSender.setTransport`)."""
    entry = (delay, paced)

    def register(transport: RTCDtlsTransport) -> None:
        table = getattr(transport, _PACED_ATTR, None)
        if table is None:
            table = {}
            setattr(transport, _PACED_ATTR, table)
            original = transport._send_rtp

            async def send_rtp(data: bytes) -> None:
                found = None if len(data) < 12 or is_rtcp(data) else table.get(int.from_bytes(data[8:12], "big"))
                if found is not None:
                    wait = found[0](len(data), time.monotonic(), found[1] and not _RETRANSMITTING.get())
                    if wait > 0.001:
                        await asyncio.sleep(wait)
                await original(data)

            transport._send_rtp = send_rtp  # type: ignore[method-assign]
        table[sender._ssrc] = table[sender._rtx_ssrc] = entry

    register(sender.transport)
    set_transport = sender.setTransport

    def set_transport_paced(transport: RTCDtlsTransport) -> None:
        set_transport(transport)
        register(transport)

    sender.setTransport = set_transport_paced  # type: ignore[method-assign]


def _remb(packet: Any) -> tuple[int, list[int]] | None:
    """(bit/s, SSRCs) of a REMB (receiver estimated maximum bitrate) packet; None for any other."""
    if not isinstance(packet, RtcpPsfbPacket) or packet.fmt != RTCP_PSFB_APP:
        return None
    try:
        return unpack_remb_fci(packet.fci)
    except ValueError:
        return None


def on_remb(sender: RTCRtpSender, callback: Callable[[int], None],
            on_report: Callable[[int, int, float | None], None] | None = None) -> None:
    """Call `callback(bit/s)` for every REMB naming this sender, and `on_report(highest_seq, lost,
    rtt_s)` for every receiver report on it: its extended highest sequence number, its cumulative
    loss, and the round trip it tells (None unless it answers the sender's latest report; not
    smoothed, unlike aiortc's own)."""
    original = sender._handle_rtcp_packet

    async def handle(packet: Any) -> None:
        remb = _remb(packet)
        try:
            if remb is not None and sender._ssrc in remb[1]:
                callback(remb[0])
            elif on_report is not None and isinstance(packet, (RtcpRrPacket, RtcpSrPacket)):
                for report in packet.reports:
                    if report.ssrc == sender._ssrc:
                        on_report(report.highest_sequence, report.packets_lost, _report_rtt(sender, report))
        except Exception:
            logger.exception("REMB or report callback failed")
        await original(packet)

    sender._handle_rtcp_packet = handle  # type: ignore[method-assign]


def _report_rtt(sender: RTCRtpSender, report: Any) -> float | None:
    """The round trip a receiver report tells, as aiortc works it out (from the sender's last SR)."""
    lsr, lsr_time = getattr(sender, _LSR_ATTR, None), getattr(sender, _LSR_TIME_ATTR, None)
    if lsr is None or lsr_time is None or report.lsr != lsr or not report.dlsr:
        return None
    return max(0.0, time.time() - lsr_time - report.dlsr / 65536)


def limit_remb(receiver: RTCRtpReceiver, limit: Callable[[int], int]) -> None:
    """Every REMB this receiver's own estimator sends says `limit(its estimate)` instead."""
    original = receiver._send_rtcp

    async def send(packet: Any) -> None:
        remb = _remb(packet)
        if remb is not None:
            packet = RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=packet.ssrc, media_ssrc=packet.media_ssrc,
                                    fci=pack_remb_fci(int(limit(remb[0])), remb[1]))
        await original(packet)

    receiver._send_rtcp = send  # type: ignore[method-assign]


def send_remb(receiver: RTCRtpReceiver, bitrate: int, tasks: set[asyncio.Task[None]]) -> bool:
    """Send a REMB of `bitrate` for the receiver's media SSRCs; False before it has an RTCP SSRC and media."""
    rtcp_ssrc = getattr(receiver, _RTCP_SSRC_ATTR, None)
    ssrcs = media_ssrcs(receiver)
    if rtcp_ssrc is None or not ssrcs:
        return False
    packet = RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0, fci=pack_remb_fci(int(bitrate), ssrcs))
    # The class's method: past limit_remb's wrapper, which would limit it a second time.
    task = asyncio.ensure_future(RTCRtpReceiver._send_rtcp(receiver, packet))
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return True


def filter_nacks(receiver: RTCRtpReceiver, keep: Callable[[list[int]], list[int]]) -> None:
    """The receiver's NACKs ask only for the sequence numbers `keep(lost)` returns (none: not sent)."""
    original = receiver._send_rtcp_nack

    async def send_nack(media_ssrc: int, lost: list[int]) -> None:
        wanted = keep(lost)
        if wanted:
            await original(media_ssrc, wanted)

    receiver._send_rtcp_nack = send_nack  # type: ignore[method-assign]
