"""Impaired networks: what a call delivers when one party's downlink loses, delays or caps packets.

A real server (`python -m signaling serve` on 127.0.0.1) and two headless aiortc
participants. The sender sends what a camera would cost: aiortc's real VP8
encoder on a panning picture with film grain (640x480, 30 fps, filling its
target, about 1.3 Mbps; bench/camera.py), and Opus audio (a tone). The
receiver sends back a small pre-encoded clip and counts the complete frames
its jitter buffer gives out, without decoding them (the benchmark's process
is shared by both parties). The receiver's own UDP path is impaired with bench/netem.py
(its aioice connection wrapped: there is no netem here): random loss, delay,
or a bandwidth cap (a bottleneck with a 150 ms drop-tail queue).

Every scenario is one call: `--pre` seconds clean (the reference frame rate),
`--impaired` seconds impaired, then `--post` seconds clean again (the cap is
lifted: recovery, and whether added delay lingers). Each runs with
adaptation off and on: the server started twice (`VW_ADAPTATION=off|on`);
a server without that setting runs as it is both times.

Figures per scenario (over the impaired window unless said):

- audio delivered: distinct audio RTP packets the receiver got / audio frames
  the sender sent (one Opus packet per 20 ms frame); "played" is what
  aiortc's own jitter buffer at the receiver gave out (it drops after gaps);
- video: frames received / frames sent, the frame rate, and freeze time by
  WebRTC's definition (an inter-frame gap > max(3 x mean interval, mean +
  150 ms), the mean over the 30 intervals before);
- recovery: from the end of the impairment until the frame rate over the
  last second is back to 80 % of its clean value ("–": not within --post);
- audio delay added: arrival time against the RTP timestamp, relative to the
  clean phase, median while impaired and in the last 3 s after;
- the capped link: what the server offered onto it (kbit/s), the share of
  that which was retransmission (RTX) and what the queue dropped; and the
  sender's encoder target (kbit/s, min–max while impaired);
- how far the timings can be trusted: this process's event-loop lag p99,
  and how long the server took to answer /healthz (p99).

With `--chromium`, the specialist-downlink scenarios also with a Chromium
specialist receiving (see bench/chromium_receiver.py); `--chromium-only`.
docs/benchmarks.md ("Impaired networks: how it is measured") defines every column.

    python bench/impairment.py --chromium            # every scenario, adaptation off and on
    python bench/impairment.py --quick               # shorter phases, fewer scenarios
    python bench/impairment.py --chromium --write docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import functools
import re
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (  # noqa: E402  (bench/harness.py)
    ADDRESSES, BENCH_PASSWORD, SERVICE_ITEM, bench_accounts, cli, logged_lines, percentile, print_logged, progress,
    publish, running_server)
from camera import CameraTrack, CountedTone, frames_sent  # noqa: E402
from netem import Impairment, Link, ice_connection  # noqa: E402
from report import machine  # noqa: E402

from signaling.client import Caller, EncodedClip, Participant, Specialist  # noqa: E402
from signaling.media import aiortc_hooks  # noqa: E402

QUEUE_MS = 150  # the bottleneck's buffer (drop-tail)
MODES = ("off", "on")  # VW_ADAPTATION


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    link: dict[str, Any]  # netem Link settings while impaired
    downlink: str = "specialist"  # whose downlink is impaired (the other party sends the camera)
    quick: bool = True  # part of --quick


SCENARIOS = [
    Scenario("no impairment", {}),  # the reference: what this machine delivers right now
    Scenario("2% loss", {"loss": 0.02}, quick=False),
    Scenario("5% loss", {"loss": 0.05}),
    Scenario("150 ms delay", {"delay_ms": 150, "jitter_ms": 5}, quick=False),
    Scenario("600 kbps cap", {"rate_kbps": 600, "queue_ms": QUEUE_MS}),
    Scenario("300 kbps cap", {"rate_kbps": 300, "queue_ms": QUEUE_MS}),
    Scenario("600 kbps cap", {"rate_kbps": 600, "queue_ms": QUEUE_MS}, downlink="caller", quick=False),
    Scenario("300 kbps cap", {"rate_kbps": 300, "queue_ms": QUEUE_MS}, downlink="caller", quick=False),
]


# -- participants: who sends the camera, and what a receiver records -----------------


@functools.lru_cache(maxsize=1)
def receiver_clip() -> EncodedClip:
    """What a receiver sends back: a small pre-encoded clip (no encoder), so that the benchmark's
    process spends its CPU on the measured direction; it then counts frames without decoding them."""
    return EncodedClip(width=320, height=240, bitrate=150_000, seconds=2)


class _Camera:
    """Sends the camera (real VP8 encoding) and a tone instead of the cheap moving bar."""

    def _sending_tracks(self, screen: bool) -> list:
        return [CountedTone(), CameraTrack()]


class CameraCaller(_Camera, Caller):
    pass


class CameraSpecialist(_Camera, Specialist):
    pass


def video_encoder_target(participant: Participant) -> int | None:
    """The bitrate aiortc's VP8 encoder aims at now (what REMB told it), in bit/s."""
    if participant.pc is None:
        return None
    for sender in participant.pc.getSenders():
        encoder = getattr(sender, "_RTCRtpSender__encoder", None)
        if sender.track is not None and sender.track.kind == "video" and encoder is not None:
            return getattr(encoder, "target_bitrate", None)
    return None


class AiortcSender:
    """What a timeline reads of an aiortc sender: frames handed to it, its VP8 encoder's target."""

    def __init__(self, participant: Participant) -> None:
        self.participant = participant

    async def sent(self) -> dict[str, int]:
        return frames_sent(self.participant._tracks)

    async def target(self) -> int | None:
        return video_encoder_target(self.participant)


class Watch:
    """What one aiortc receiver got, with arrival times: video and audio frames (out of its jitter buffer,
    or decoded when it decodes), audio RTP packets."""

    def __init__(self, participant: Participant) -> None:
        self.video: list[float] = []
        self.audio_played: list[float] = []
        self.audio_rtp: list[tuple[float, int]] = []  # (arrival, RTP timestamp)
        for transceiver in participant.pc.getTransceivers():
            splitter = aiortc_hooks.splitter_of(transceiver.receiver)
            if splitter is not None:  # a clip-playing participant counts frames out of the jitter buffer
                self._time_packets(splitter, transceiver.kind)
            else:
                self._time_frames(transceiver.receiver.track)
            if transceiver.kind == "audio":
                self._tap_rtp(transceiver.receiver)

    def _times(self, kind: str) -> list[float]:
        return self.video if kind == "video" else self.audio_played

    def _time_packets(self, splitter: Any, kind: str) -> None:
        original, times = splitter.on_packet, self._times(kind)

        def on_packet(mime: str, frame: Any) -> None:
            times.append(time.monotonic())
            original(mime, frame)

        splitter.on_packet = on_packet

    def _time_frames(self, track: Any) -> None:
        # The participant's consumer awaits `track.recv()`, looked up on each frame: wrapped per instance.
        original, times = track.recv, self._times(track.kind)

        async def recv() -> Any:
            frame = await original()
            times.append(time.monotonic())
            return frame

        track.recv = recv

    def _tap_rtp(self, receiver: Any) -> None:
        # Wrapped per instance: the DTLS transport looks `_handle_rtp_packet` up on the receiver.
        original = receiver._handle_rtp_packet

        async def handle(packet: Any, arrival_time_ms: int) -> None:
            self.audio_rtp.append((time.monotonic(), packet.timestamp))
            await original(packet, arrival_time_ms)

        receiver._handle_rtp_packet = handle

    def reset(self) -> None:
        self.video.clear()
        self.audio_played.clear()
        self.audio_rtp.clear()

    def figures(self, phases: dict[str, float], sent: dict[str, int]) -> dict[str, Any]:
        """What arrived while impaired (and how it recovered after), against what was `sent` meanwhile."""
        during = (phases["impaired"], phases["cleared"])
        clean_fps = fps(self.video, phases["start"], phases["impaired"])
        frozen, count = freezes(self.video, *during)
        audio = audio_figures(self.audio_rtp, phases)
        return {
            "audio_delivered": audio.get("delivered"),
            "audio_played": sum(during[0] <= t < during[1] for t in self.audio_played) / max(sent.get("audio", 1), 1),
            "video_frames": sum(during[0] <= t < during[1] for t in self.video),
            "fps_clean": clean_fps,
            "fps_impaired": fps(self.video, *during),
            "frozen_s": frozen,
            "freezes": count,
            "recovery_s": recovery(self.video, phases["cleared"], phases["end"], 0.8 * clean_fps),
            "delay_during_ms": audio.get("delay_during_ms"),
            "delay_after_ms": audio.get("delay_after_ms"),
        }


def payload_kinds(pc: Any) -> dict[int, str]:
    """RTP payload type -> "audio", "video" or "rtx", from the negotiated SDP (both sides agree)."""
    kinds: dict[int, str] = {}
    for description in (pc.localDescription, pc.remoteDescription):
        kind = None
        for line in description.sdp.splitlines():
            if line.startswith("m="):
                kind = line[2:].split()[0]
            m = re.match(r"a=rtpmap:(\d+) ([^/]+)/", line)
            if m and kind:
                kinds[int(m.group(1))] = "rtx" if m.group(2).lower() == "rtx" else kind
    return kinds


# -- figures ----------------------------------------------------------------------------


def freezes(times: list[float], start: float, end: float) -> tuple[float, int]:
    """(seconds frozen, freezes) among the frame gaps ending in [start, end] (WebRTC's definition)."""
    frozen, count = 0.0, 0
    intervals: list[float] = []
    for previous, current in zip(times, times[1:]):
        gap = current - previous
        if len(intervals) >= 5 and start <= current <= end:
            mean = statistics.fmean(intervals[-30:])
            if gap > max(3 * mean, mean + 0.150):
                frozen += gap
                count += 1
        intervals.append(gap)
    # A picture still frozen at the end of the window: the gap so far counts too.
    last = max((t for t in times if t <= end), default=start)
    if intervals and end - last > max(3 * statistics.fmean(intervals[-30:]), 0.150 + statistics.fmean(intervals[-30:])):
        frozen += end - max(last, start)
        count += 1
    return frozen, count


def fps(times: list[float], start: float, end: float) -> float:
    return sum(start <= t < end for t in times) / max(end - start, 1e-9)


def recovery(times: list[float], since: float, until: float, target_fps: float) -> float | None:
    """Seconds from `since` until the frame rate over the last second is back to `target_fps`."""
    window: list[float] = []
    for t in times:
        if t < since - 1.0:
            continue
        window.append(t)
        while window and window[0] <= t - 1.0:
            window.pop(0)
        if t >= since and t <= until and len(window) >= target_fps:
            return t - since
    return None


def audio_figures(rtp: list[tuple[float, int]], phases: dict[str, float]) -> dict[str, Any]:
    """Delivered share and added delay, from (arrival, RTP timestamp) of the audio packets."""
    if not rtp:
        return {}
    first_ts = rtp[0][1]
    # (arrival, when it was sent by the RTP clock, offset unknown yet); timestamps unwrapped from the first.
    points = [(arrival, ((ts - first_ts) % 2**32) / 48000) for arrival, ts in rtp]
    clean = [arrival - sent for arrival, sent in points if phases["start"] + 1 <= arrival < phases["impaired"]]
    if not clean:
        return {}
    offset = min(clean)  # the clean one-way delay (plus the clocks' offset)
    delay = [(sent + offset, arrival - sent - offset) for arrival, sent in points]  # (sent at, added delay)
    impaired = {round(sent * 50) for arrival, sent in points
                if phases["impaired"] <= sent + offset < phases["cleared"]}
    expected = (phases["cleared"] - phases["impaired"]) * 50
    during = [d for at, d in delay if phases["impaired"] <= at < phases["cleared"]]
    after = [d for at, d in delay if phases["end"] - 3 <= at < phases["end"]]
    return {
        "delivered": min(len(impaired) / expected, 1.0),
        "delay_during_ms": statistics.median(during) * 1000 if during else None,
        "delay_after_ms": statistics.median(after) * 1000 if after else None,
    }


@dataclasses.dataclass
class Result:
    scenario: Scenario
    mode: str
    figures: dict[str, Any]
    receiver: str = "aiortc"


# -- one scenario -------------------------------------------------------------------------


async def sample(sender: Any, targets: list[tuple[float, int]], lags: list[float]) -> None:
    """The sender's encoder target every 0.25 s, and this process's event-loop lag every 10 ms (a
    starved benchmark process delays arrivals itself: the lag says how far its timings can be trusted)."""
    loop = asyncio.get_running_loop()
    last_target = 0.0
    while True:
        before = loop.time()
        await asyncio.sleep(0.01)
        lags.append(loop.time() - before - 0.01)
        if before - last_target >= 0.25:
            last_target = before
            target = await sender.target()
            if target is not None:
                targets.append((time.monotonic(), target))


def link_figures(link: Link, seconds: float, kinds: dict[int, str]) -> dict[str, Any]:
    """What was offered onto the impaired link while impaired: kbit/s, the RTX and dropped shares."""
    c = link.counters
    offered = sum(c.offered_bytes.values()) or 1
    rtx = sum(n for kind, n in c.offered_bytes.items()
              if kind.startswith("rtp:") and kinds.get(int(kind[4:])) == "rtx")
    return {
        "offered_kbps": offered * 8 / 1000 / seconds,
        "delivered_kbps": c.delivered_kbps(seconds),
        "rtx_share": rtx / offered,
        "dropped_share": (sum(c.dropped.values()) + sum(c.lost.values())) / (sum(c.offered.values()) or 1),
    }


async def health_latencies(url: str, into: list[float]) -> None:
    """GET /healthz every 0.5 s: how long the server takes to answer (a starved server delays media too)."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        while True:
            started = time.monotonic()
            with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                async with http.get(url + "/healthz") as response:
                    await response.read()
            into.append(time.monotonic() - started)
            await asyncio.sleep(0.5)


async def timeline(url: str, sender: Any, link: Link, probe: Any, kinds: Callable[[], dict[int, str]],
                   scenario: Scenario, args: argparse.Namespace) -> dict[str, Any]:
    """Clean, impaired, clean again, on a call whose media flows; the figures of `probe` (what the
    receiver got: `figures(phases, sent)`), of the link and of the `sender` (AiortcSender, or
    chromium_sender.ChromiumCaller: `sent()`, frames by kind, and `target()`, its encoder's)."""
    targets: list[tuple[float, int]] = []
    lags: list[float] = []
    health: list[float] = []
    samplers = [asyncio.ensure_future(sample(sender, targets, lags)),
                asyncio.ensure_future(health_latencies(url, health))]
    try:
        phases = {"start": time.monotonic()}
        await asyncio.sleep(args.pre)
        phases["impaired"] = time.monotonic()
        sent_before = await sender.sent()
        link.counters.reset()
        link.set(**scenario.link)
        await asyncio.sleep(args.impaired)
        link.clear()
        phases["cleared"] = time.monotonic()
        sent = {k: v - sent_before.get(k, 0) for k, v in (await sender.sent()).items()}
        found = link_figures(link, phases["cleared"] - phases["impaired"], kinds())
        await asyncio.sleep(args.post)
        phases["end"] = time.monotonic()
    finally:
        for task in samplers:
            task.cancel()
    found.update(probe.figures(phases, sent))
    found["video_sent"] = sent.get("video", 0)
    in_window = [t for at, t in targets if phases["impaired"] <= at < phases["cleared"]]
    found["target_kbps"] = (min(in_window) / 1000, max(in_window) / 1000) if in_window else None
    found["lag_p99_ms"] = percentile(lags, 99) * 1000 if lags else None
    found["health_p99_ms"] = percentile(health, 99) * 1000 if health else None
    return found


async def run_scenario(url: str, scenario: Scenario, specialist: Specialist, spec_watch: Watch | None,
                       spec_imp: Impairment | None, args: argparse.Namespace) -> dict[str, Any]:
    """One call through `scenario` to an aiortc receiver; the specialist is signed in, ready, its leg
    open (and, when it receives, watched and impaired)."""
    receives = scenario.downlink
    caller = (CameraCaller(url, media_addresses=ADDRESSES) if receives == "specialist"
              else Caller(url, media_addresses=ADDRESSES, clip=receiver_clip()))
    try:
        await caller.connect()
        await caller.open_leg()
        if receives == "caller":
            receiver, sender, watch = caller, specialist, Watch(caller)
            imp = Impairment(ice_connection(caller.pc), seed=args.seed)
        else:
            receiver, sender, watch, imp = specialist, caller, spec_watch, spec_imp
        imp.inbound.clear()
        ack = await caller.request(SERVICE_ITEM, "Impaired network")
        if not ack.get("ok"):
            raise RuntimeError(f"call:request refused: {ack}")
        await caller.wait_for("call:connected", timeout=20)
        watch.reset()
        await receiver.wait_media(30, 30, timeout=20)
        return await timeline(url, AiortcSender(sender), imp.inbound, watch, lambda: payload_kinds(receiver.pc),
                              scenario, args)
    finally:
        if caller.call_id:
            with contextlib.suppress(Exception):
                await caller.hangup()
            with contextlib.suppress(Exception):
                ended = await specialist.wait_for("call:ended", timeout=10)
                await specialist.wrapup(ended.get("call_id", caller.call_id), notes="impairment bench")
        await caller.close()


# -- a run ----------------------------------------------------------------------------------


async def signed_in(url: str, username: str, cls: type[Specialist], password: str = BENCH_PASSWORD,
                    clip: EncodedClip | None = None) -> Specialist:
    """A specialist connected, its leg open, ready with auto-answer."""
    spec = cls(url, username=username, password=password, media_addresses=ADDRESSES, timeout=15, clip=clip)
    await spec.connect()
    await spec.open_leg()
    ack = await spec.set_state("ready", auto_answer=True)
    if not ack.get("ok"):
        raise RuntimeError(f"agent:state refused: {ack}")
    return spec


async def run_mode(mode: str, scenarios: list[Scenario], args: argparse.Namespace) -> tuple[list[Result], list[str]]:
    """Every scenario against one server started with VW_ADAPTATION=`mode`."""
    results: list[Result] = []
    env = {"VW_ADAPTATION": mode, "VW_ICE_SERVERS": "[]"}
    async with running_server("sqlite", bench_accounts(2), env=env) as server:
        for downlink in ("specialist", "caller"):
            mine = [s for s in scenarios if s.downlink == downlink]
            if not mine:
                continue
            # The specialist receives (a cheap bar out, the camera in) or sends the camera.
            cls = Specialist if downlink == "specialist" else CameraSpecialist
            spec = await signed_in(server.url, "bench0" if downlink == "specialist" else "bench1", cls,
                                   clip=receiver_clip() if downlink == "specialist" else None)
            watch = Watch(spec) if downlink == "specialist" else None
            imp = Impairment(ice_connection(spec.pc), seed=args.seed) if downlink == "specialist" else None
            try:
                for scenario in mine:
                    progress(f"adaptation {mode}: {scenario.name} on the {downlink}'s downlink")
                    try:
                        found = await run_scenario(server.url, scenario, spec, watch, imp, args)
                    except (RuntimeError, TimeoutError) as exc:
                        found = {"error": str(exc)[:80]}
                    results.append(Result(scenario, mode, found))
            finally:
                await spec.close()
        logged = logged_lines(print_logged(server), prefix=f"adaptation {mode}: ")
    return results, logged


async def chromium_scenario(url: str, app: Any, spec: Any, scenario: Scenario,
                            args: argparse.Namespace) -> dict[str, Any]:
    """One call through `scenario` to the Chromium specialist, its downlink impaired on the server's side."""
    from chromium_receiver import ChromeProbe, server_link

    caller = CameraCaller(url, media_addresses=ADDRESSES)
    probe = ChromeProbe(spec)
    wrapped = await spec.wrapped()
    try:
        await caller.connect()
        await caller.open_leg()
        link, leg_pc = server_link(app)
        link.clear()
        ack = await caller.request(SERVICE_ITEM, "Impaired network")
        if not ack.get("ok"):
            raise RuntimeError(f"call:request refused: {ack}")
        await caller.wait_for("call:connected", timeout=20)
        await spec.wait_frames(30, timeout=20)
        probe.start()
        return await timeline(url, AiortcSender(caller), link, probe, lambda: payload_kinds(leg_pc), scenario, args)
    finally:
        await probe.stop()
        if caller.call_id:
            with contextlib.suppress(Exception):
                await caller.hangup()
            with contextlib.suppress(Exception):
                await spec.wait_wrapped(wrapped + 1, timeout=10)
        await caller.close()


async def run_chromium(mode: str, scenarios: list[Scenario], args: argparse.Namespace) -> list[Result]:
    """The specialist-downlink scenarios with a Chromium specialist, the server in this process."""
    from playwright.async_api import async_playwright

    from chromium_receiver import CHROMIUM, CHROMIUM_ARGS, ChromiumSpecialist, in_process_server

    results: list[Result] = []
    async with in_process_server(mode) as (url, app), async_playwright() as pw:
        progress(f"in-process server (adaptation {mode}) up at {url}")
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        spec = ChromiumSpecialist(browser, url)
        try:
            await spec.open()
            for scenario in (s for s in scenarios if s.downlink == "specialist"):
                progress(f"adaptation {mode}: {scenario.name} on the Chromium specialist's downlink")
                try:
                    found = await chromium_scenario(url, app, spec, scenario, args)
                except (RuntimeError, TimeoutError) as exc:
                    found = {"error": str(exc)[:80]}
                results.append(Result(scenario, mode, found, receiver="Chromium"))
        finally:
            await spec.close()
            await browser.close()
    return results


async def run_chromium_sender(mode: str, scenarios: list[Scenario], args: argparse.Namespace) -> list[Result]:
    """The specialist-downlink scenarios with a Chromium caller sending to the aiortc specialist."""
    from playwright.async_api import async_playwright

    from chromium_receiver import CHROMIUM, CHROMIUM_ARGS
    from chromium_sender import ChromiumCaller, camera_file

    results: list[Result] = []
    env = {"VW_ADAPTATION": mode, "VW_ICE_SERVERS": "[]"}
    camera = camera_file()
    async with running_server("sqlite", bench_accounts(2), env=env) as server, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                           args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={camera}"])
        spec = await signed_in(server.url, "bench0", Specialist, clip=receiver_clip())
        watch = Watch(spec)
        imp = Impairment(ice_connection(spec.pc), seed=args.seed)
        try:
            for scenario in (s for s in scenarios if s.downlink == "specialist"):
                progress(f"adaptation {mode}: {scenario.name} on the specialist's downlink, a Chromium caller")
                caller = ChromiumCaller(browser, server.url)
                try:
                    await caller.open(SERVICE_ITEM)
                    imp.inbound.clear()
                    call_id = await caller.call()
                    watch.reset()
                    await spec.wait_media(30, 30, timeout=20)
                    found = await timeline(server.url, caller, imp.inbound, watch, lambda: payload_kinds(spec.pc),
                                           scenario, args)
                    await caller.hangup()
                    ended = await spec.wait_for("call:ended", timeout=10)
                    await spec.wrapup(ended.get("call_id", call_id), notes="impairment bench")
                except (RuntimeError, TimeoutError) as exc:
                    found = {"error": str(exc)[:80]}
                finally:
                    await caller.close()
                results.append(Result(scenario, mode, found, receiver="aiortc receiver, Chromium caller"))
        finally:
            await spec.close()
            await browser.close()
    return results


# -- the table ---------------------------------------------------------------------------------


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%" if value < 0.995 else f"{value * 100:.1f}%"


def num(value: float | None, digits: int = 0, suffix: str = "") -> str:
    return "–" if value is None else f"{value:.{digits}f}{suffix}"


COLUMNS = {
    "aiortc": ("audio delivered", "audio played (aiortc)", "audio delay added: during / after"),
    "aiortc receiver, Chromium caller": ("audio delivered", "audio played (aiortc)", "audio delay added: during / after"),
    "Chromium": ("audio not concealed", "audio packets delivered", "jitter buffer delay added: during / after"),
}


def render(results: list[Result], args: argparse.Namespace, logged: list[str]) -> str:
    lines = [
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {machine()}; "
        f"`python bench/impairment.py{' --quick' if args.quick else ''}{' --chromium' if args.chromium else ''}"
        f"{' --chromium-sender' if args.chromium_sender else ''}` "
        f"({args.pre:.0f} s clean, {args.impaired:.0f} s impaired, {args.post:.0f} s clean again; "
        f"caps with a {QUEUE_MS} ms drop-tail queue, lifted after {args.impaired:.0f} s).",
    ]
    for receiver, (audio, second, delay) in COLUMNS.items():
        mine = [r for r in results if r.receiver == receiver]
        if not mine:
            continue
        lines += [
            "", f"{receiver}:" if "caller" in receiver else f"{receiver} receiver:", "",
            f"| impaired downlink | adaptation | {audio} | {second} | video frames / sent "
            f"| fps clean → impaired | frozen | recovery | {delay} "
            "| offered onto the link | of which RTX | dropped | encoder target | bench loop lag p99 | /healthz p99 |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        lines += [row(r) for r in mine]
    return "\n".join(lines + [""] + logged) + "\n"


def row(r: Result) -> str:
    f = r.figures
    where = f"{r.scenario.name}, {r.scenario.downlink}"
    if "error" in f:
        return f"| {where} | {r.mode} | failed: {f['error']} |" + " |" * 12
    target = f["target_kbps"]
    second = f.get("audio_played", f.get("audio_packets"))
    return (
        f"| {where} | {r.mode} | {pct(f['audio_delivered'])} | {pct(second)} "
        f"| {f['video_frames']} / {f['video_sent']} | {f['fps_clean']:.0f} → {f['fps_impaired']:.1f} "
        f"| {f['frozen_s']:.1f} s ({f['freezes']}) | {num(f['recovery_s'], 1, ' s')} "
        f"| {num(f['delay_during_ms'], 0, ' ms')} / {num(f['delay_after_ms'], 0, ' ms')} "
        f"| {f['offered_kbps']:.0f} kbps | {pct(f['rtx_share'])} | {pct(f['dropped_share'])} "
        f"| {f'{target[0]:.0f}–{target[1]:.0f} kbps' if target else '–'} | {num(f['lag_p99_ms'], 0, ' ms')} | {num(f['health_p99_ms'], 0, ' ms')} |")


def main() -> int:
    parser = cli(__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter phases and the main scenarios only")
    parser.add_argument("--pre", type=float, help="seconds clean before the impairment (default 5, quick 4)")
    parser.add_argument("--impaired", type=float, help="seconds impaired (default 20, quick 8)")
    parser.add_argument("--post", type=float, help="seconds clean after it (default 8, quick 5)")
    parser.add_argument("--modes", default=",".join(MODES), help="VW_ADAPTATION values to run (default off,on)")
    parser.add_argument("--only", help="run only the scenarios whose name contains this")
    parser.add_argument("--seed", type=int, default=1, help="the random loss's seed")
    parser.add_argument("--chromium", action="store_true",
                        help="also a Chromium specialist receiving (the server in this process, its side impaired)")
    parser.add_argument("--chromium-only", action="store_true", help="only the Chromium receiver")
    parser.add_argument("--chromium-sender", action="store_true",
                        help="only a Chromium caller sending to the aiortc specialist (its encoder goes below "
                             "aiortc's 250 kbit/s)")
    args = parser.parse_args()
    args.chromium = args.chromium or args.chromium_only
    args.pre = args.pre or (4 if args.quick else 5)
    args.impaired = args.impaired or (8 if args.quick else 20)
    args.post = args.post or (5 if args.quick else 8)
    scenarios = [s for s in SCENARIOS if (s.quick or not args.quick) and (not args.only or args.only in s.name)]

    async def run() -> tuple[list[Result], list[str]]:
        results, logged = [], []
        for mode in args.modes.split(","):
            if args.chromium_sender:
                results += await run_chromium_sender(mode, scenarios, args)
                continue
            if not args.chromium_only:
                found, said = await run_mode(mode, scenarios, args)
                results += found
                logged += said
            if args.chromium:
                results += await run_chromium(mode, scenarios, args)
        results.sort(key=lambda r: scenarios.index(r.scenario))  # stable: the modes stay in their order
        return results, logged

    results, logged = asyncio.run(run())
    return publish(args, "Impaired networks", render(results, args, logged))


if __name__ == "__main__":
    sys.exit(main())
