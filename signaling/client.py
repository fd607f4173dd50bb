"""Headless Python caller and specialist speaking the wire contract (CONTRACT.md).

Used by tests, benchmarks and operators' smoke tests. Each participant has a
real aiortc leg sending synthetic media (a sine tone and a moving bar) and
counts the frames it receives.

    python -m signaling.client smoke --url http://127.0.0.1:8080 \\
        --username demo --password demo123 --service-item SI-001
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import json
import math
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import aiohttp
import av
import numpy as np
import socketio
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack, VideoStreamTrack
from av import AudioFrame, VideoFrame

from signaling.media import aiortc_hooks
from signaling.media.ice import rtc_configuration, use_media_addresses

Predicate = Callable[[dict[str, Any]], bool]


class ClientError(Exception):
    """The server refused something the client cannot go on without."""

    def __init__(self, message: str, payload: Any = None) -> None:
        super().__init__(message)
        self.payload = payload


# -- synthetic media -----------------------------------------------------------


class ToneTrack(MediaStreamTrack):
    """A sine tone, 48 kHz mono, 20 ms frames, paced in real time."""

    kind = "audio"

    def __init__(self, frequency: float = 440.0, sample_rate: int = 48000, ptime: float = 0.02) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self.samples = int(sample_rate * ptime)
        self._step = 2 * math.pi * frequency / sample_rate
        self._start: float | None = None
        self._pts = 0

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        else:
            self._pts += self.samples
            await asyncio.sleep(self._start + self._pts / self.sample_rate - time.time())
        t = np.arange(self._pts, self._pts + self.samples)
        samples = (np.sin(t * self._step) * 8000).astype(np.int16).reshape(1, -1)
        frame = AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = self.sample_rate
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, self.sample_rate)
        return frame


# Chroma (U, V) of the colours a BarTrack can be tinted with; tests tell parties apart by them.
COLOURS = {"red": (90, 240), "green": (54, 34), "blue": (240, 110), "yellow": (16, 146)}


class BarTrack(VideoStreamTrack):
    """A gray gradient with a white bar sweeping across, 30 fps (cheap to make); `colour` tints it."""

    def __init__(self, width: int = 320, height: int = 240, colour: str | None = None) -> None:
        super().__init__()
        self.width, self.height = width, height
        yuv = np.full((height * 3 // 2, width), 128, dtype=np.uint8)
        yuv[:height] = np.linspace(16, 160, width, dtype=np.uint8)[None, :]
        if colour is not None:
            u, v = COLOURS[colour]
            yuv[height:height + height // 4], yuv[height + height // 4:] = u, v
        self._base = yuv
        self._count = 0

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        yuv = self._base.copy()
        bar = max(self.width // 16, 2)
        x = (self._count * 4) % (self.width - bar)
        yuv[: self.height, x : x + bar] = 235
        self._count += 1
        frame = VideoFrame.from_ndarray(yuv, format="yuv420p")
        frame.pts = pts
        frame.time_base = time_base
        return frame


class EncodedClip:
    """A few seconds of VP8 video and Opus audio encoded once, replayed as `av.Packet`s.

    Sending pre-encoded media costs a client almost nothing (no encoder), so
    one process can play many participants (benchmarks). The VP8 clip is a
    moving bar at `width`x`height`, `fps`, about `bitrate` bit/s, with a
    keyframe every `gop` frames.
    """

    def __init__(self, width: int = 640, height: int = 480, fps: int = 30, bitrate: int = 1_000_000,
                 seconds: float = 4, gop: int = 60) -> None:
        self.fps = fps
        enc = av.CodecContext.create("libvpx", "w")
        enc.width, enc.height, enc.pix_fmt = width, height, "yuv420p"
        enc.time_base = fractions.Fraction(1, fps)
        enc.framerate = fractions.Fraction(fps, 1)
        enc.bit_rate = bitrate
        enc.gop_size = gop
        enc.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0", "error-resilient": "1"}
        bar = BarTrack(width, height)
        self.video: list[bytes] = []
        self.keyframes: list[bool] = []
        rng = np.random.default_rng(7)
        for i in range(int(seconds * fps)):
            yuv = bar._base.copy()
            # Film grain, so the encoder really spends the bitrate a camera would.
            yuv[:height] += rng.integers(0, 24, size=(height, width), dtype=np.uint8)
            w = max(width // 16, 2)
            x = (i * 4) % (width - w)
            yuv[:height, x:x + w] = 235
            frame = VideoFrame.from_ndarray(yuv, format="yuv420p")
            frame.pts = i
            for packet in enc.encode(frame):
                self.video.append(bytes(packet))
                self.keyframes.append(bool(packet.is_keyframe))
        for packet in enc.encode(None):
            self.video.append(bytes(packet))
            self.keyframes.append(bool(packet.is_keyframe))
        aenc = av.CodecContext.create("libopus", "w")
        aenc.sample_rate, aenc.layout, aenc.format = 48000, "stereo", "s16"
        aenc.bit_rate = 32000
        tone = ToneTrack()
        self.audio: list[bytes] = []
        t = np.arange(48000 * 2)
        samples = (np.sin(t * tone._step) * 8000).astype(np.int16)
        for i in range(0, len(samples) - 960, 960):
            chunk = np.repeat(samples[i:i + 960], 2).reshape(1, -1)
            frame = AudioFrame.from_ndarray(chunk, format="s16", layout="stereo")
            frame.sample_rate = 48000
            frame.pts = i
            self.audio += [bytes(p) for p in aenc.encode(frame)]


    def save(self, path: str) -> None:
        import pickle

        with open(path, "wb") as f:
            pickle.dump({"fps": self.fps, "video": self.video, "keyframes": self.keyframes, "audio": self.audio}, f)

    @classmethod
    def load(cls, path: str) -> EncodedClip:
        """A clip written by :meth:`save` (a local file this program made; not for untrusted input)."""
        import pickle

        with open(path, "rb") as f:
            data = pickle.load(f)
        clip = cls.__new__(cls)
        clip.fps, clip.video, clip.keyframes, clip.audio = data["fps"], data["video"], data["keyframes"], data["audio"]
        return clip

    @property
    def video_bitrate(self) -> float:
        return sum(map(len, self.video)) * 8 * self.fps / max(len(self.video), 1)


class EncodedTrack(MediaStreamTrack):
    """Plays an :class:`EncodedClip` in real time, looping; `sent` counts frames; `keyframe()` restarts at one."""

    def __init__(self, clip: EncodedClip, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._clip = clip
        self._data = clip.video if kind == "video" else clip.audio
        self._step = 90000 // clip.fps if kind == "video" else 960
        self._rate = 90000 if kind == "video" else 48000
        self._time_base = fractions.Fraction(1, self._rate)
        self._index = 0
        self._pts = 0
        self._start: float | None = None
        self.sent = 0

    def keyframe(self) -> None:
        """Jump to the start of the clip (its first frame is a keyframe)."""
        self._index = 0

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        else:
            self._pts += self._step
            await asyncio.sleep(max(0.0, self._start + self._pts / self._rate - time.time()))
        if self._index >= len(self._data):
            self._index = 0  # the clip starts with a keyframe, so looping decodes
        packet = av.Packet(self._data[self._index])
        if self.kind == "video":
            packet.is_keyframe = self._clip.keyframes[self._index]
        self._index += 1
        packet.pts = packet.dts = self._pts
        packet.time_base = self._time_base
        self.sent += 1
        return packet


# -- what arrives, per m-line ------------------------------------------------------


def colour_of(frame: VideoFrame) -> str | None:
    """The name of the COLOURS entry nearest the picture's mean chroma (None: a gray picture)."""
    yuv = frame.to_ndarray(format="yuv420p")
    h = frame.height
    u, v = float(yuv[h:h + h // 4].mean()), float(yuv[h + h // 4:].mean())
    name, (cu, cv) = min(COLOURS.items(), key=lambda c: (c[1][0] - u) ** 2 + (c[1][1] - v) ** 2)
    return name if (cu - u) ** 2 + (cv - v) ** 2 < 40 ** 2 else None


def pitch_of(frame: AudioFrame) -> float:
    """The strongest frequency of an audio frame, in Hz (ToneTracks are told apart by it)."""
    samples = frame.to_ndarray().astype(np.float64).reshape(-1, len(frame.layout.channels))[:, 0]
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum[1:]) + 1) * frame.sample_rate / len(samples)


class Reception:
    """Decoded frames a peer connection receives, per mid: counts, the pictures' colour, the tone's pitch.

    `by_mid[mid]` = {"kind", "frames", "colour" (last picture, see COLOURS), "pitch" (last audio frame, Hz)}.
    The colour and pitch are worked out for every 5th frame (cheap enough for a test peer).
    """

    def __init__(self, pc: RTCPeerConnection) -> None:
        self.pc = pc
        self.by_mid: dict[str, dict[str, Any]] = {}

    def add(self, track: MediaStreamTrack, frame: Any) -> None:
        """Count one decoded frame of `track`."""
        transceiver = next((t for t in self.pc.getTransceivers() if t.receiver.track is track), None)
        if transceiver is None or transceiver.mid is None:
            return
        seen = self.by_mid.setdefault(transceiver.mid, {"kind": track.kind, "frames": 0, "colour": None, "pitch": None})
        seen["frames"] += 1
        if seen["frames"] % 5 == 1:
            if track.kind == "video":
                seen["colour"] = colour_of(frame)
            else:
                seen["pitch"] = pitch_of(frame)

    def frames(self) -> dict[str, int]:
        return {mid: seen["frames"] for mid, seen in self.by_mid.items()}


# -- participants ----------------------------------------------------------------


class Participant:
    """What callers and specialists share: a socket.io connection and one leg."""

    namespace = "/"

    def __init__(self, base_url: str, *, media_addresses: list[str] | None = None, timeout: float = 10,
                 clip: EncodedClip | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        # With a clip: send it pre-encoded and count received frames without decoding them.
        self.clip = clip
        self.media_addresses = media_addresses
        self.timeout = timeout
        self.sio = socketio.AsyncClient(reconnection=False)
        self.sio.on("*", self._on_event, namespace=self.namespace)
        self.sio.on("rtc:renegotiate", self._on_renegotiate, namespace=self.namespace)
        self.pc: RTCPeerConnection | None = None
        # What the leg sends without a clip (set before open_leg): the bar's tint (COLOURS) and the tone's pitch.
        self.colour: str | None = None
        self.pitch = 440.0
        self.reception: Reception | None = None  # decoded frames per mid, while the leg is open
        self._offering = asyncio.Lock()  # one offer at a time
        self.received: dict[str, int] = {"audio": 0, "video": 0}
        self.first_frame_at: dict[str, float] = {}
        self.leg_connected_at: float | None = None
        self._events: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._arrived = asyncio.Condition()
        self._http: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._tracks: list[MediaStreamTrack] = []

    # events

    async def _on_event(self, event: str, data: Any = None) -> None:
        async with self._arrived:
            self._events[event].append(data if isinstance(data, dict) else {"data": data})
            self._arrived.notify_all()

    async def wait_for(self, event: str, timeout: float = 10, predicate: Predicate | None = None) -> dict[str, Any]:
        """The next S→C `event` (matching `predicate`; earlier non-matching ones are dropped).

        Events that arrived before the call are kept, so there is no race
        between an action and waiting for its consequence.
        """
        found: list[dict[str, Any]] = []

        def take() -> bool:
            queue = self._events[event]
            while queue:
                payload = queue.pop(0)
                if predicate is None or predicate(payload):
                    found.append(payload)
                    return True
            return False

        async with self._arrived:
            try:
                await asyncio.wait_for(self._arrived.wait_for(take), timeout)
            except asyncio.TimeoutError:
                raise TimeoutError(f"no {event!r} within {timeout} s") from None
        return found[0]

    async def _call(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        return await self.sio.call(event, payload, namespace=self.namespace, timeout=self.timeout)

    async def emit_raw(self, namespace: str, event: str, payload: Any) -> Any:
        """Send anything (malformed payloads included) and return the ack."""
        return await self.sio.call(event, payload, namespace=namespace, timeout=self.timeout)

    # http

    async def _request_json(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        if self._http is None:
            self._http = aiohttp.ClientSession()
        async with self._http.request(method, self.base_url + path, **kwargs) as response:
            try:
                body = await response.json(content_type=None)
            except (ValueError, aiohttp.ContentTypeError):
                body = None
            return response.status, body

    # media

    async def _new_peer_connection(self) -> RTCPeerConnection:
        """A peer connection with the server's ICE servers (never aiortc's public default)."""
        if self.pc is not None:
            raise ClientError("the leg is already open")
        status, config = await self._request_json("GET", "/api/config")
        if status != 200 or not isinstance(config, dict):
            raise ClientError(f"GET /api/config answered {status}", config)
        if self.media_addresses is not None:
            use_media_addresses(self.media_addresses)
        policy = config.get("ice_transport_policy") or "all"  # as a page does: "relay" is through TURN only
        return RTCPeerConnection(rtc_configuration(config.get("ice_servers") or [], policy))

    async def open_leg(self, *, screen: bool = False) -> None:
        """Open this participant's leg: offer mic + camera (+ screen), apply the answer."""
        self.pc = pc = await self._new_peer_connection()
        self.reception = Reception(pc)
        self._tracks = self._sending_tracks(screen)
        for track in self._tracks:
            transceiver = pc.addTransceiver(track, direction="sendrecv")
            if self.clip is not None:
                aiortc_hooks.on_keyframe_request(transceiver.sender, track.keyframe)
        pc.on("track", self._count if self.clip is None else self._count_encoded)
        pc.on("connectionstatechange", self._on_leg_state)

        await pc.setLocalDescription(await pc.createOffer())  # aiortc gathers fully here
        ack = await self._call("rtc:offer", {"type": "offer", "sdp": pc.localDescription.sdp})
        if not isinstance(ack, dict) or not ack.get("ok"):
            raise ClientError("rtc:offer refused", ack)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=ack["sdp"], type="answer"))
        # Our candidates were all in the offer: tell the server there are no more.
        mid = pc.getTransceivers()[0].mid
        await self._call("rtc:candidate", {"candidate": "", "sdpMid": mid, "sdpMLineIndex": 0})

    def _sending_tracks(self, screen: bool) -> list[MediaStreamTrack]:
        """What the leg sends: the clip, else a tone and a moving bar (+ a screen); subclasses choose others."""
        if self.clip is not None:
            return [EncodedTrack(self.clip, "audio"), EncodedTrack(self.clip, "video")]
        return [ToneTrack(self.pitch), BarTrack(colour=self.colour)] + ([BarTrack()] if screen else [])

    async def _on_renegotiate(self, data: Any = None) -> dict[str, Any]:
        """The server's `rtc:renegotiate {audio, video}`: add that many receive-only m-lines and offer again."""
        await self._on_event("rtc:renegotiate", data)
        counts = data if isinstance(data, dict) else {}
        audio, video = counts.get("audio", 0), counts.get("video", 0)
        if not all(isinstance(n, int) and 0 <= n <= 8 for n in (audio, video)):
            return {"ok": False, "error": {"code": "invalid_value", "message": "audio and video: 0 to 8"}}
        if self.pc is None:
            return {"ok": False, "error": {"code": "no_leg", "message": "no media leg to renegotiate"}}
        async with self._offering:
            pc = self.pc
            for kind in ["audio"] * audio + ["video"] * video:
                pc.addTransceiver(kind, direction="recvonly")
                self._added_line(kind)
            await pc.setLocalDescription(await pc.createOffer())
            ack = await self._call("rtc:offer", {"type": "offer", "sdp": pc.localDescription.sdp})
            if not isinstance(ack, dict) or not ack.get("ok"):
                return {"ok": False, "error": (ack or {}).get("error") if isinstance(ack, dict) else None}
            await pc.setRemoteDescription(RTCSessionDescription(sdp=ack["sdp"], type="answer"))
        return {"ok": True}

    def _added_line(self, kind: str) -> None:
        """A receive-only m-line was added by a renegotiation (subclasses keep a list of them)."""

    def _on_leg_state(self) -> None:
        if self.pc is not None and self.pc.connectionState == "connected" and self.leg_connected_at is None:
            self.leg_connected_at = time.monotonic()

    def _count_encoded(self, track: MediaStreamTrack) -> None:
        """Count received frames straight from the jitter buffer (no decoder)."""
        assert self.pc is not None
        receiver = next(t.receiver for t in self.pc.getTransceivers() if t.receiver.track is track)
        kind = track.kind

        def counted(mime: str, packet: av.Packet) -> None:
            self.first_frame_at.setdefault(kind, time.monotonic())
            self.received[kind] = self.received.get(kind, 0) + 1

        aiortc_hooks.tap_receiver(receiver, counted)

    @property
    def sent(self) -> dict[str, int]:
        """Frames sent so far by a clip-playing participant."""
        return {t.kind: t.sent for t in self._tracks if isinstance(t, EncodedTrack)}

    async def close_leg(self) -> None:
        """Drop this participant's leg (as a network failure would); `open_leg()` makes a new one."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.pc is not None:
            pc, self.pc = self.pc, None
            await pc.close()
        self.leg_connected_at = None
        self.received = {"audio": 0, "video": 0}
        self.first_frame_at = {}

    def _count(self, track: MediaStreamTrack) -> None:
        async def consume() -> None:
            with contextlib.suppress(MediaStreamError):
                while True:
                    frame = await track.recv()
                    self.first_frame_at.setdefault(track.kind, time.monotonic())
                    self.received[track.kind] = self.received.get(track.kind, 0) + 1
                    if self.reception is not None:
                        self.reception.add(track, frame)

        task = asyncio.ensure_future(consume())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def leg_state(self) -> str:
        return self.pc.connectionState if self.pc is not None else "none"

    async def wait_media(self, min_video_frames: int = 10, min_audio_frames: int = 10, timeout: float = 10) -> dict[str, int]:
        """Wait until this participant has received that many decoded frames."""
        deadline = time.monotonic() + timeout
        while self.received["video"] < min_video_frames or self.received["audio"] < min_audio_frames:
            if time.monotonic() > deadline:
                raise TimeoutError(f"received only {self.received} within {timeout} s")
            await asyncio.sleep(0.05)
        return dict(self.received)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.pc is not None:
            await self.pc.close()
        if self.sio.connected:
            await self.sio.disconnect()
        if self._http is not None:
            await self._http.close()
            self._http = None


class Caller(Participant):
    """The enterprise caller (`/caller`, anonymous)."""

    namespace = "/caller"

    def __init__(self, base_url: str, *, media_addresses: list[str] | None = None, timeout: float = 10,
                 clip: EncodedClip | None = None) -> None:
        super().__init__(base_url, media_addresses=media_addresses, timeout=timeout, clip=clip)
        self.call_id: str | None = None
        self.call_token: str | None = None

    async def connect(self, resume: str | None = None) -> None:
        auth = {"resume": resume} if resume else {}
        await self.sio.connect(
            self.base_url, auth=auth, namespaces=[self.namespace],
            socketio_path="socket.io", transports=["websocket"], wait_timeout=self.timeout,
        )

    async def request(self, service_item: str, name: str, company: str | None = None, phone: str | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {"service_item": service_item, "name": name}
        if company is not None:
            payload["company"] = company
        if phone is not None:
            payload["phone"] = phone
        return self._session_from(await self._call("call:request", payload))

    def _session_from(self, ack: dict[str, Any]) -> dict[str, Any]:
        """The session an accepted request (or re-queue) started is this caller's from now on."""
        if isinstance(ack, dict) and ack.get("ok"):
            self.call_id = ack.get("call_id")
            self.call_token = ack.get("call_token")
        return ack

    async def hangup(self, call_id: str | None = None) -> dict[str, Any]:
        return await self._call("call:hangup", {"call_id": call_id or self.call_id})

    async def requeue(self, call_id: str | None = None) -> dict[str, Any]:
        """Wait again at the front of the queue after the specialist's console dropped (`call:requeue`)."""
        return self._session_from(await self._call("call:requeue", {"call_id": call_id or self.call_id}))

    async def rate(self, satisfaction: int, comment: str | None = None, call_id: str | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {"call_id": call_id or self.call_id, "satisfaction": satisfaction}
        if comment is not None:
            payload["comment"] = comment
        return await self._call("call:rate", payload)

    async def chat(self, text: str, call_id: str | None = None) -> dict[str, Any]:
        return await self._call("chat:message", {"call_id": call_id or self.call_id, "text": text})


class _Staff(Participant):
    """A participant who logs in first (`POST /api/login`) and connects with the token."""

    def __init__(self, base_url: str, *, username: str, password: str, media_addresses: list[str] | None = None,
                 timeout: float = 10, clip: EncodedClip | None = None) -> None:
        super().__init__(base_url, media_addresses=media_addresses, timeout=timeout, clip=clip)
        self.username = username
        self.password = password
        self.token: str | None = None
        self.user: dict[str, Any] | None = None

    async def login(self) -> dict[str, Any]:
        """POST /api/login; raises ClientError unless it answers 200."""
        status, body = await self._request_json(
            "POST", "/api/login", json={"username": self.username, "password": self.password}
        )
        if status != 200 or not isinstance(body, dict):
            raise ClientError(f"login answered {status}", body)
        self.token = body.get("token")
        self.user = body.get("user")
        return body

    async def connect(self) -> None:
        if self.token is None:
            await self.login()
        await self.sio.connect(
            self.base_url, auth={"token": self.token}, namespaces=[self.namespace],
            socketio_path="socket.io", transports=["websocket"], wait_timeout=self.timeout,
        )


class Specialist(_Staff):
    """A back-office specialist (`/agent`, with a login token)."""

    namespace = "/agent"

    async def set_state(self, state: str, auto_answer: bool | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {"state": state}
        if auto_answer is not None:
            payload["auto_answer"] = auto_answer
        return await self._call("agent:state", payload)

    async def accept(self, call_id: str) -> dict[str, Any]:
        return await self._call("call:accept", {"call_id": call_id})

    async def decline(self, call_id: str) -> dict[str, Any]:
        return await self._call("call:decline", {"call_id": call_id})

    async def hangup(self, call_id: str) -> dict[str, Any]:
        return await self._call("call:hangup", {"call_id": call_id})

    async def wrapup(self, call_id: str, notes: str | None = None, disposition: str | None = None, difficulty: int | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {"call_id": call_id}
        for key, value in (("notes", notes), ("disposition", disposition), ("difficulty", difficulty)):
            if value is not None:
                payload[key] = value
        return await self._call("call:wrapup", payload)

    async def chat(self, call_id: str, text: str) -> dict[str, Any]:
        return await self._call("chat:message", {"call_id": call_id, "text": text})


class Administrator(_Staff):
    """An administrator on `/admin`: the wallboard stream and the supervisor monitor.

    The monitor leg offers receive-only m-lines in the contract's order
    (caller audio, caller video, specialist audio, specialist video, and with
    `screens` the caller's and the specialist's screen). Received frames are
    counted per m-line straight from the jitter buffer (no decoder), with the
    size of the last VP8 keyframe, in :attr:`slots`.
    """

    namespace = "/admin"
    SLOT_NAMES = ("caller audio", "caller video", "specialist audio", "specialist video",
                  "caller screen", "specialist screen")

    def __init__(self, base_url: str, *, username: str, password: str, media_addresses: list[str] | None = None,
                 timeout: float = 10) -> None:
        super().__init__(base_url, username=username, password=password, media_addresses=media_addresses,
                         timeout=timeout)
        self.slots: list[dict[str, Any]] = []

    async def open_monitor_leg(self, *, screens: bool = False, send: EncodedClip | None = None,
                               speak: bool = False) -> None:
        """Open the receive-only monitor leg (with `send`, offer sendrecv and play that clip: tests only).

        With `speak` (whisper and barge), the first audio and video m-lines are sendrecv and carry a
        tone at :attr:`pitch` and a bar tinted :attr:`colour`; the others stay receive-only.
        """
        self.pc = pc = await self._new_peer_connection()
        kinds = ["audio", "video", "audio", "video"] + (["video", "video"] if screens else [])
        self.slots = [{"name": name, "kind": kind, "frames": 0, "keyframes": 0, "size": None}
                      for name, kind in zip(self.SLOT_NAMES, kinds)]
        for index, kind in enumerate(kinds):
            if send is not None:
                pc.addTransceiver(EncodedTrack(send, kind), direction="sendrecv")
            elif speak and index < 2:
                self._tracks.append(ToneTrack(self.pitch) if kind == "audio" else BarTrack(colour=self.colour))
                pc.addTransceiver(self._tracks[-1], direction="sendrecv")
            else:
                pc.addTransceiver(kind, direction="recvonly")
        pc.on("track", self._count_slot)
        pc.on("connectionstatechange", self._on_leg_state)
        await pc.setLocalDescription(await pc.createOffer())
        ack = await self._call("rtc:offer", {"type": "offer", "sdp": pc.localDescription.sdp})
        if not isinstance(ack, dict) or not ack.get("ok"):
            raise ClientError("rtc:offer refused", ack)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=ack["sdp"], type="answer"))
        mid = pc.getTransceivers()[0].mid
        await self._call("rtc:candidate", {"candidate": "", "sdpMid": mid, "sdpMLineIndex": 0})

    def _count_slot(self, track: MediaStreamTrack) -> None:
        assert self.pc is not None
        transceivers = self.pc.getTransceivers()
        index = next(i for i, t in enumerate(transceivers) if t.receiver.track is track)
        slot = self.slots[index]

        def counted(mime: str, packet: av.Packet) -> None:
            slot["frames"] += 1
            self.received[slot["kind"]] = self.received.get(slot["kind"], 0) + 1
            size = aiortc_hooks.vp8_dimensions(bytes(packet)) if mime == "video/vp8" else None
            if size is not None:
                slot["keyframes"] += 1
                slot["size"] = size

        aiortc_hooks.tap_receiver(transceivers[index].receiver, counted)

    def frames(self) -> dict[str, int]:
        """Frames received so far, by m-line name."""
        return {slot["name"]: slot["frames"] for slot in self.slots}

    def _added_line(self, kind: str) -> None:
        self.slots.append({"name": f"added {kind} {len(self.slots)}", "kind": kind, "frames": 0, "keyframes": 0,
                           "size": None})

    async def monitor_start(self, call_id: str, mode: str | None = None) -> dict[str, Any]:
        return await self._call("monitor:start", {"call_id": call_id, **({"mode": mode} if mode else {})})

    async def monitor_stop(self, call_id: str | None = None) -> dict[str, Any]:
        return await self._call("monitor:stop", {"call_id": call_id} if call_id else {})


# -- smoke test -------------------------------------------------------------------


async def smoke(args: argparse.Namespace) -> int:
    """One call end to end with auto-answer; prints timings and frame counts."""
    addresses = args.media_address or None
    if addresses is None and urlparse(args.url).hostname in ("127.0.0.1", "localhost"):
        addresses = ["127.0.0.1"]  # a local server gathers on loopback only
    specialist = Specialist(args.url, username=args.username, password=args.password, media_addresses=addresses)
    caller = Caller(args.url, media_addresses=addresses)
    try:
        await specialist.connect()
        await specialist.open_leg()
        ack = await specialist.set_state("ready", auto_answer=True)
        if not ack.get("ok"):
            raise ClientError("agent:state refused", ack)
        await caller.connect()
        await caller.open_leg()
        started = time.monotonic()
        ack = await caller.request(args.service_item, args.name)
        if not ack.get("ok"):
            raise ClientError("call:request refused", ack)
        await caller.wait_for("call:connected", timeout=args.timeout)
        answered = time.monotonic()
        await asyncio.gather(
            caller.wait_media(1, 1, timeout=args.timeout), specialist.wait_media(1, 1, timeout=args.timeout)
        )
        media = max(caller.first_frame_at["video"], specialist.first_frame_at["video"])
        await asyncio.sleep(args.seconds)
        report = {
            "call_id": caller.call_id,
            "answer_ms": round((answered - started) * 1000),
            "connect_ms": round((media - started) * 1000),
            "caller_received": caller.received,
            "specialist_received": specialist.received,
        }
        await caller.hangup()
        ended = await specialist.wait_for("call:ended", timeout=args.timeout)
        await specialist.wrapup(ended.get("call_id", caller.call_id), notes="smoke test")
        print(json.dumps(report, indent=2))
        return 0
    except (ClientError, TimeoutError, socketio.exceptions.SocketIOError, aiohttp.ClientError) as exc:
        print(f"smoke test failed: {exc} {getattr(exc, 'payload', '') or ''}", file=sys.stderr)
        return 1
    finally:
        await caller.close()
        await specialist.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m signaling.client")
    commands = parser.add_subparsers(dest="command", required=True)
    s = commands.add_parser("smoke", help="make one auto-answered call and report")
    s.add_argument("--url", default="http://127.0.0.1:8080")
    s.add_argument("--username", required=True)
    s.add_argument("--password", required=True)
    s.add_argument("--service-item", required=True)
    s.add_argument("--name", default="Smoke Test")
    s.add_argument("--seconds", type=float, default=3, help="how long to keep the call up")
    s.add_argument("--timeout", type=float, default=15)
    s.add_argument("--media-address", action="append", help="local address to gather on (repeatable)")
    args = parser.parse_args(argv)
    return asyncio.run(smoke(args))


if __name__ == "__main__":
    sys.exit(main())
