"""Media capacity: K concurrent recorded two-way video calls through one server process.

Each call is a caller and an auto-answer specialist, each with a real aiortc
leg opened before the call, sending 640x480 30 fps VP8 (~1 Mbit/s, encoded
once and replayed, so clients spend no CPU on encoding) and Opus, and
counting what they receive without decoding it. The clients run in other
processes than the server. The server runs passthrough, then transcode
(`VW_RELAY=transcode`), in one invocation; every call is recorded.

Reported per mode: server CPU (% of one core, over the measuring window),
frames delivered vs. sent (per direction, in the window), event-loop lag p99
(sampled every 10 ms inside the server), connect_ms p50/p99 (the session
log: request -> media flowing both ways), and CPU per call; then the
passthrough : transcode cost ratio.

    python bench/media_capacity.py --calls 8 --transcode-calls 2 --seconds 20 --write docs/benchmarks.md

Comparing two versions of the server on a shared, noisy machine: give each
source tree as LABEL=DIR to `--trees` (export each revision into a directory
of your own, e.g. `D=$(mktemp -d); mkdir $D/before; git archive REV | tar -x
-C $D/before`: a fixed name under /tmp may be overwritten by someone else's
comparison halfway through); every round runs each tree's server in turn (the
order alternates between rounds, so a drift in the machine's load falls on
both), with the clients of this checkout. Server CPU is also sampled every
second, so medians and p99 are reported per tree, with CPU time per
delivered frame (CPU per call falls when a starved server delivers less):

    python bench/media_capacity.py --calls 8 --transcode-calls 0 --seconds 20 --rounds 3 \
        --trees before=$D/before after=$D/after

`--hot-path FRAMES` measures the per-frame media code alone, with little
noise: each tree's taps, bridge, recorder, monitor and outputs in one
process, no network, received frames pushed in and every output packed by
aiortc's packer; it reports CPU time of that (event-loop) thread per frame:

    python bench/media_capacity.py --hot-path 20000 --rounds 6 --trees before=$D/before after=$D/after

`--quality-compare` runs this checkout's server with network quality sampling off
(`VW_QUALITY_INTERVAL_S=0`) and on (`--quality-interval`, default 2 s) in alternating rounds, like
two trees, and reports the sampler's own CPU time per leg sampled (engine/quality.py counts it):

    python bench/media_capacity.py --calls 4 --transcode-calls 0 --seconds 20 --rounds 4 --quality-compare

Roles used internally: `_server` (the server with a lag sampler), `_clients`,
`_hotpath`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from report import machine, write_section  # noqa: E402  (bench/report.py)

SI = "SI-001"
PASSWORD = "bench-pass-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


# -- the server role -------------------------------------------------------------------


async def run_server(args: argparse.Namespace) -> None:
    from aiohttp import web

    from signaling import keys
    from signaling.app import make_app
    from signaling.config import Settings

    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{args.dir}/vw.db", host="127.0.0.1", port=args.port,
        recordings_dir=Path(args.dir) / "recordings", secret_key="bench", ice_servers=[],
        media_addresses=["127.0.0.1"], demo=True, relay=args.relay,
    )
    if args.quality_interval is not None:  # a tree from before network quality sampling takes no such option
        settings.quality_interval_s = args.quality_interval
    app = make_app(settings)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.port).start()
    store = app[keys.STORE]
    for i in range(args.specialists):
        await store.upsert_account(f"bench{i}", "specialist", PASSWORD, f"Bench {i}", [SI])
    print("READY", flush=True)
    loop = asyncio.get_running_loop()
    lags: list[float] = []
    last_report = time.monotonic()
    try:
        while True:
            started = loop.time()
            await asyncio.sleep(0.01)
            lags.append((loop.time() - started - 0.01) * 1000)
            if time.monotonic() - last_report >= 1:
                line = {"t": time.time(), "lags": [round(x, 2) for x in lags]}
                quality = getattr(app[keys.ENGINE], "quality", None)
                if quality is not None:  # the sampler's CPU time so far, and the legs it sampled
                    line["quality"] = [quality.cost_s, quality.legs_sampled]
                print(json.dumps(line), flush=True)
                lags, last_report = [], time.monotonic()
    finally:
        await runner.cleanup()


# -- the client role -------------------------------------------------------------------


async def run_clients(args: argparse.Namespace) -> None:
    from signaling.client import Caller, EncodedClip, Specialist

    clip = EncodedClip.load(args.clip)
    url = f"http://127.0.0.1:{args.port}"
    addresses = ["127.0.0.1"]
    pairs = []
    for i in range(args.first, args.first + args.count):
        spec = Specialist(url, username=f"bench{i}", password=PASSWORD, media_addresses=addresses, clip=clip, timeout=30)
        caller = Caller(url, media_addresses=addresses, clip=clip, timeout=30)
        await spec.connect()
        await spec.open_leg()
        assert (await spec.set_state("ready", auto_answer=True))["ok"]
        await caller.connect()
        await caller.open_leg()
        pairs.append((caller, spec))
    await asyncio.sleep(max(0.0, args.call_at - time.time()))
    t_request = {}

    async def call(caller):
        t_request[id(caller)] = time.monotonic()
        ack = await caller.request(SI, "bench")
        assert ack["ok"], ack
        await caller.wait_media(1, 1, timeout=30)

    await asyncio.gather(*(call(c) for c, _ in pairs))
    first_frame_ms = [round((c.first_frame_at["video"] - t_request[id(c)]) * 1000, 1) for c, _ in pairs]

    def snapshot():
        return [(dict(c.sent), dict(c.received), dict(s.sent), dict(s.received)) for c, s in pairs]

    await asyncio.sleep(max(0.0, args.window_at - time.time()))
    start = snapshot()
    await asyncio.sleep(args.seconds)
    end = snapshot()
    for caller, spec in pairs:
        await caller.hangup()
    await asyncio.sleep(1)
    for caller, spec in pairs:
        await caller.close()
        await spec.close()
    sent = {"audio": 0, "video": 0}
    delivered = {"audio": 0, "video": 0}
    for (cs0, cr0, ss0, sr0), (cs1, cr1, ss1, sr1) in zip(start, end):
        for kind in sent:
            sent[kind] += (cs1[kind] - cs0[kind]) + (ss1[kind] - ss0[kind])
            delivered[kind] += (sr1[kind] - sr0[kind]) + (cr1[kind] - cr0[kind])
    Path(args.out).write_text(json.dumps({"sent": sent, "delivered": delivered, "first_frame_ms": first_frame_ms}))


# -- the hot path alone (the `_hotpath` role) -------------------------------------------


class _FakeLeg:
    """Just what Bridge and Monitor read of a leg: its taps and outputs, always connected."""

    state, closed = "connected", False

    def __init__(self, taps: dict, outputs: dict) -> None:
        self._taps, self._outputs = taps, outputs

    def inputs(self) -> dict:
        return self._taps

    def outputs(self) -> dict:
        return self._outputs

    def watch(self, callback) -> None:
        pass

    def unwatch(self, callback) -> None:
        pass


async def run_hot_path(args: argparse.Namespace) -> None:
    """Feed received frames through one tree's media plane code, no network: loop-thread CPU per frame.

    A caller's mic and camera taps each feed a bridge link, the recorder and
    a monitor; the specialist's and the administrator's outputs are drained
    and packed by aiortc's own packers, as their senders would.
    """
    sys.path.insert(0, str(args.tree))  # that tree's signaling package, not this checkout's
    from aiortc import RTCPeerConnection, RTCRtpCodecParameters
    from aiortc.codecs import get_encoder
    from aiortc.jitterbuffer import JitterFrame

    from signaling.client import EncodedClip
    from signaling.media import ice
    from signaling.media.bridge import Bridge
    from signaling.media.monitor import Monitor
    from signaling.media.recorder import Recorder
    from signaling.media.relay import OutputTrack, Tap

    clip = EncodedClip.load(args.clip)
    pcs = []

    async def slots(kinds: list[str]) -> tuple[dict, dict]:
        offerer, answerer = RTCPeerConnection(ice.rtc_configuration([])), RTCPeerConnection(ice.rtc_configuration([]))
        for kind in kinds:
            offerer.addTransceiver(kind)
        await answerer.setRemoteDescription(await offerer.createOffer())  # receivers with tracks; no network
        pcs.extend((offerer, answerer))
        taps, outputs, counts = {}, {}, {}
        for t in answerer.getTransceivers():
            key = (t.kind, counts.setdefault(t.kind, 0))
            counts[t.kind] += 1
            taps[key], outputs[key] = Tap(t), OutputTrack(t.kind, t)
        return taps, outputs

    caller, specialist = _FakeLeg(*await slots(["audio", "video"])), _FakeLeg(*await slots(["audio", "video"]))
    admin = _FakeLeg({}, (await slots(["audio", "video", "audio", "video"]))[1])
    with tempfile.TemporaryDirectory() as tmp:
        recorder = Recorder(Path(tmp) / "hot.webm")
        bridge = Bridge(caller, specialist, recorders={caller: recorder})
        monitor = Monitor("hot", admin)
        monitor.follow(caller, specialist)
        feeds = [(caller.inputs()[key], key[0]) for key in (("audio", 0), ("video", 0))]
        drains = [leg.outputs()[key] for leg, key in ((specialist, ("audio", 0)), (specialist, ("video", 0)),
                                                       (admin, ("audio", 0)), (admin, ("video", 0)))]
        codecs = {"audio": RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=111),
                  "video": RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)}
        encoders = {id(out): get_encoder(codecs[out.kind]) for out in drains}
        n_video = args.frames * 3 // 8  # 30 video : 50 audio frames a second
        a = 0
        started = time.thread_time()
        for i in range(n_video):
            for _ in range(1 if i % 3 == 2 else 2):  # 5 audio frames per 3 video frames
                feeds[0][0].splitter.put((codecs["audio"], JitterFrame(clip.audio[a % len(clip.audio)], a * 960)))
                a += 1
            feeds[1][0].splitter.put((codecs["video"], JitterFrame(clip.video[i % len(clip.video)], i * 3000)))
            for out in drains:
                while not out._queue.empty():  # what its sender would take now (recv() would wait otherwise)
                    encoders[id(out)].pack(await out.recv())
        cpu = time.thread_time() - started
        received = sum(tap.frames for tap, _ in feeds)
        sent = sum(out.frames for out in drains)
        monitor.detach()
        bridge.detach()
        recorder.close()
        recorder.join(30)
        for tap, _ in feeds:
            await tap.stop()
        for pc in pcs:
            await pc.close()
    print(json.dumps({"frames": received, "packed": sent, "loop_cpu_s": round(cpu, 4),
                      "us_per_frame": round(cpu / received * 1e6, 2), "recorded_frames": recorder.muxed}), flush=True)


def rounds(args: argparse.Namespace, trees: list[tuple[str, Path]]):
    """(round, label, tree) for every run: each round runs every tree, in alternating order,
    so that a trend in the shared machine's load falls on all trees alike."""
    for round_ in range(1, args.rounds + 1):
        for label, tree in trees if round_ % 2 else trees[::-1]:
            yield round_, label, tree


def hot_path(args: argparse.Namespace, clip_path: str) -> list[dict]:
    results = []
    for round_, label, tree in rounds(args, args.trees):
        out = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "_hotpath", "--tree", str(tree), "--clip", clip_path,
             "--frames", str(args.hot_path)], capture_output=True, text=True, cwd=ROOT, check=True,
        ).stdout.strip().splitlines()[-1]
        result = {"label": label, "round": round_, **json.loads(out)}
        print(json.dumps(result), flush=True)
        results.append(result)
    return results


def render_hot_path(args: argparse.Namespace, results: list[dict], command: str) -> str:
    lines = [
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {machine()}, aiortc 1.16.0; "
        f"{args.rounds} rounds, each running every tree in turn (order alternating), {args.hot_path} received frames "
        "per run (30 VP8 : 50 Opus), each to a bridge link, the recorder and a monitor, every output packed by "
        "aiortc's packer. CPU time of the event-loop thread only (the recorder's muxing thread is not counted).",
        "",
        f"Command: `{command}`",
        "",
        "| tree | runs | loop CPU µs per received frame, median | min | max | frames packed per run |",
        "|---|---|---|---|---|---|",
    ]
    for label, _ in args.trees:
        runs = [r["us_per_frame"] for r in results if r["label"] == label]
        packed = statistics.median(r["packed"] for r in results if r["label"] == label)
        lines.append(f"| {label} | {len(runs)} | {statistics.median(runs):.1f} | {min(runs):.1f} | {max(runs):.1f} "
                     f"| {packed:.0f} |")
    return "\n".join(lines) + "\n"


# -- the orchestrator -------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[float, float]:
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


async def run_mode(relay: str, calls: int, args: argparse.Namespace, clip_path: str, workdir: Path,
                   tree: Path = ROOT, label: str = "") -> dict:
    port = free_port()
    name = f"{label}-{relay}" if label else relay
    sdir = workdir / name
    for n in range(2, 1000):  # a directory per run (several rounds of one tree)
        if not sdir.exists():
            break
        sdir = workdir / f"{name}-{n}"
    sdir.mkdir()
    me = [sys.executable, str(Path(__file__).resolve())]
    # The server runs from `tree` (its own bench script and signaling package); the clients from here.
    quality = QUALITY_OFF if label == QUALITY_LABELS[0] else args.quality_interval if args.quality_compare else None
    server = subprocess.Popen(
        [sys.executable, str(tree / "bench" / "media_capacity.py"), "_server", "--port", str(port), "--dir", str(sdir),
         "--relay", relay, "--specialists", str(calls),
         *(["--quality-interval", str(quality)] if quality is not None else [])],
        stdout=subprocess.PIPE, text=True, cwd=tree,
    )
    lag_lines: list[dict] = []
    try:
        assert server.stdout is not None
        for line in server.stdout:
            if line.startswith("READY"):
                break
        loop = asyncio.get_running_loop()

        def read_lags():
            for line in server.stdout:
                if line.startswith("{"):
                    lag_lines.append(json.loads(line))

        loop.run_in_executor(None, read_lags)  # drains the server's stdout in a thread
        workers = max(1, min(args.workers, calls))
        per = [calls // workers + (1 if i < calls % workers else 0) for i in range(workers)]
        setup_s = 3 + 1.0 * calls
        call_at = time.time() + setup_s
        window_at = call_at + 4
        outs, procs, first = [], [], 0
        for i, n in enumerate(per):
            out = sdir / f"clients-{i}.json"
            outs.append(out)
            procs.append(subprocess.Popen(
                me + ["_clients", "--port", str(port), "--clip", clip_path, "--first", str(first), "--count", str(n),
                      "--call-at", str(call_at), "--window-at", str(window_at), "--seconds", str(args.seconds),
                      "--out", str(out)], cwd=ROOT))
            first += n
        await asyncio.sleep(max(0.0, window_at - time.time()))
        cpu0, m0, t0 = cpu_seconds(server.pid), machine_cpu(), time.time()
        per_second: list[float] = []  # server CPU per call, % of a core, each second of the window
        last_cpu, last_t, end_t = cpu0, t0, t0 + args.seconds
        while (left := end_t - time.time()) > 0:
            await asyncio.sleep(min(1.0, left))
            now_cpu, now_t = cpu_seconds(server.pid), time.time()
            if now_t - last_t >= 0.5:
                per_second.append(round((now_cpu - last_cpu) / (now_t - last_t) * 100 / calls, 2))
                last_cpu, last_t = now_cpu, now_t
        cpu1, m1, t1 = cpu_seconds(server.pid), machine_cpu(), time.time()
        for p in procs:
            p.wait(timeout=120)
        results = [json.loads(o.read_text()) for o in outs if o.exists()]
        connect = await session_connect_ms(port)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    lags = [x for line in lag_lines if t0 <= line["t"] <= t1 for x in line["lags"]]
    sampled = [line["quality"] for line in lag_lines if t0 <= line["t"] <= t1 and "quality" in line]
    quality_us = None
    if len(sampled) >= 2 and sampled[-1][1] > sampled[0][1]:
        quality_us = round((sampled[-1][0] - sampled[0][0]) / (sampled[-1][1] - sampled[0][1]) * 1e6, 1)
    sent = {k: sum(r["sent"][k] for r in results) for k in ("audio", "video")}
    delivered = {k: sum(r["delivered"][k] for r in results) for k in ("audio", "video")}
    recordings = list((sdir / "recordings").glob("*.webm"))
    cpu = (cpu1 - cpu0) / (t1 - t0) * 100
    frames = sum(delivered.values())
    return {
        "label": label, "relay": relay, "calls": calls, "completed_workers": len(results), "workers": workers,
        "server_cpu_pct": round(cpu, 1), "cpu_per_call_pct": round(cpu / calls, 1),
        "machine_busy_pct": round((m1[0] - m0[0]) / max(1, m1[1] - m0[1]) * 100, 1),
        "sent": sent, "delivered": delivered,
        "delivered_ratio": {k: round(delivered[k] / sent[k], 4) if sent[k] else None for k in sent},
        "lag_p99_ms": round(pct(lags, 0.99), 1), "lag_max_ms": round(max(lags), 1) if lags else None,
        "connect_ms_p50": connect and pct(connect, 0.5), "connect_ms_p99": connect and pct(connect, 0.99),
        "first_frame_ms_p50": pct([x for r in results for x in r["first_frame_ms"]], 0.5),
        "recordings": len(recordings),
        "cpu_per_call_per_second": per_second,
        "cpu_us_per_frame": round((cpu1 - cpu0) / frames * 1e6, 1) if frames else None,
        "lag_p50_ms": round(pct(lags, 0.5), 1),
        "quality_us_per_leg": quality_us,  # the sampler's CPU time per leg sampled, in the window
    }


async def session_connect_ms(port: int) -> list[float]:
    import aiohttp

    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        async with http.post(url + "/api/login", json={"username": "admin", "password": "admin123"}) as r:
            token = (await r.json())["token"]
        async with http.get(url + "/api/sessions?limit=500", headers={"Authorization": f"Bearer {token}"}) as r:
            items = (await r.json())["items"]
    return [s["connect_ms"] for s in items if s.get("connect_ms") is not None]


def render(args: argparse.Namespace, results: list[dict], command: str) -> str:
    lines = [
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {machine()}, aiortc 1.16.0; "
        f"clients in {args.workers} other processes on the same machine; window {args.seconds} s; every call recorded.",
        "",
        f"Command: `{command}`",
        "",
        "| relay | calls | server CPU (% of a core) | per call | video delivered | audio delivered | loop lag p99 ms | connect_ms p50 / p99 | recordings | machine busy |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if not complete(r):
            lines.append(f"| {r['relay']} | {r['calls']} | {r['server_cpu_pct']} | not counted: "
                         f"{r['workers'] - r['completed_workers']} of {r['workers']} client processes timed out "
                         f"| | | {r['lag_p99_ms']} | | {r['recordings']} | {r['machine_busy_pct']}% |")
            continue
        dv, da = r["delivered_ratio"]["video"], r["delivered_ratio"]["audio"]
        lines.append(
            f"| {r['relay']} | {r['calls']} | {r['server_cpu_pct']} | {r['cpu_per_call_pct']} | "
            f"{dv:.2%} ({r['delivered']['video']}/{r['sent']['video']}) | {da:.2%} | {r['lag_p99_ms']} | "
            f"{r['connect_ms_p50']} / {r['connect_ms_p99']} | {r['recordings']} | {r['machine_busy_pct']}% |"
        )
    by = {r["relay"]: r for r in results if complete(r)}
    if "passthrough" in by and "transcode" in by and by["passthrough"]["cpu_per_call_pct"]:
        ratio = by["transcode"]["cpu_per_call_pct"] / by["passthrough"]["cpu_per_call_pct"]
        lines += ["", f"Calls carried at equal CPU, passthrough : transcode = **{ratio:.1f} : 1** "
                      f"(server CPU per call {by['transcode']['cpu_per_call_pct']}% / {by['passthrough']['cpu_per_call_pct']}%)."]
    return "\n".join(lines) + "\n"


def render_compare(args: argparse.Namespace, results: list[dict], command: str) -> str:
    """Per tree and relay mode: medians over rounds and over per-second samples, and p99s."""
    lines = [
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {machine()}, aiortc 1.16.0; "
        f"{args.rounds} rounds, each running every tree in turn (order alternating); clients in {args.workers} "
        f"other processes on the same machine; window {args.seconds} s per run; every call recorded.",
        "",
        f"Command: `{command}`",
        "",
        "| tree | relay | calls | runs | server CPU per call, median of runs | per call, per-second p50 / p99 "
        "| CPU µs per delivered frame, median | video delivered, median (min) | audio delivered, median "
        "| loop lag p99 ms, median | machine busy, median |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in results:
        runs = groups.setdefault((r["label"], r["relay"]), [])
        if complete(r):  # a run whose clients gave up (machine overloaded) measures nothing
            runs.append(r)
    for (label, relay), runs in groups.items():
        if not runs:
            lines.append(f"| {label} | {relay} | | 0 | no complete run | | | | | | |")
            continue
        samples = [x for r in runs for x in r["cpu_per_call_per_second"]]
        video = [r["delivered_ratio"]["video"] or 0 for r in runs]
        lines.append(
            f"| {label} | {relay} | {runs[0]['calls']} | {len(runs)} "
            f"| {statistics.median(r['cpu_per_call_pct'] for r in runs):.2f} "
            f"| {pct(samples, 0.5):.2f} / {pct(samples, 0.99):.2f} "
            f"| {statistics.median(r['cpu_us_per_frame'] or 0 for r in runs):.0f} "
            f"| {statistics.median(video):.2%} ({min(video):.2%}) "
            f"| {statistics.median(r['delivered_ratio']['audio'] or 0 for r in runs):.2%} "
            f"| {statistics.median(r['lag_p99_ms'] for r in runs):.1f} "
            f"| {statistics.median(r['machine_busy_pct'] for r in runs):.1f}% |"
        )
    # A starved server delivers less and so spends less: the fairest CPU figures
    # come from rounds in which every run delivered (nearly) everything.
    clean = sorted({r["round"] for r in results} - {r["round"] for r in results if not delivered_all(r)})
    if clean:
        medians = []
        for label, relay in groups:
            per_call = [r["cpu_per_call_pct"] for r in results
                        if (r["label"], r["relay"]) == (label, relay) and r["round"] in clean]
            medians.append(f"{label} {relay} {statistics.median(per_call):.2f}")
        lines += ["", f"Rounds in which every run delivered ≥ {CLEAN_SHARE:.0%} of its video and audio: "
                      f"{', '.join(map(str, clean))}. Over those, server CPU per call (median of runs): "
                      f"{'; '.join(medians)}."]
    else:
        lines += ["", f"No round in which every run delivered ≥ {CLEAN_SHARE:.0%} of its video and audio."]
    costs = [r["quality_us_per_leg"] for r in results if r.get("quality_us_per_leg") is not None]
    if costs:  # --quality-compare: the sampler timed itself
        legs = 2 * results[0]["calls"]
        per_core = statistics.median(costs) * legs / args.quality_interval / 1e4
        lines += ["", f"Network quality sampling, the sampler's own CPU time per leg sampled: median "
                      f"**{statistics.median(costs):.0f} µs** (runs: {', '.join(f'{c:.0f}' for c in costs)}); "
                      f"{legs} legs every {args.quality_interval:g} s is {per_core:.3f}% of a core."]
    lines += ["", "Every run (server CPU per call, % of a core; frames delivered in the window):", "",
              "| round | tree | relay | server CPU | per call | CPU µs per frame | video delivered | audio delivered "
              "| loop lag p99 ms | machine busy |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if not complete(r):
            lines.append(f"| {r['round']} | {r['label']} | {r['relay']} | {r['server_cpu_pct']} | "
                         f"not counted: {r['workers'] - r['completed_workers']} of {r['workers']} client processes "
                         f"timed out | | | | {r['lag_p99_ms']} | {r['machine_busy_pct']}% |")
            continue
        lines.append(
            f"| {r['round']} | {r['label']} | {r['relay']} | {r['server_cpu_pct']} | {r['cpu_per_call_pct']} "
            f"| {r['cpu_us_per_frame']} | {r['delivered_ratio']['video']:.2%} ({r['delivered']['video']}/{r['sent']['video']}) "
            f"| {r['delivered_ratio']['audio']:.2%} | {r['lag_p99_ms']} | {r['machine_busy_pct']}% |"
        )
    return "\n".join(lines) + "\n"


CLEAN_SHARE = 0.99
QUALITY_LABELS = ("quality off", "quality on")  # --quality-compare's two "trees"
QUALITY_OFF = 0.0


def complete(result: dict) -> bool:
    return result["completed_workers"] == result["workers"] and all(result["sent"].values())


def delivered_all(result: dict) -> bool:
    return complete(result) and all(x >= CLEAN_SHARE for x in result["delivered_ratio"].values())


def tree_arg(value: str) -> tuple[str, Path]:
    label, sep, path = value.partition("=")
    tree = Path(path if sep else label).resolve()
    if not (tree / "bench" / "media_capacity.py").exists() or not (tree / "signaling").is_dir():
        raise argparse.ArgumentTypeError(f"{tree} is not a source tree of this project")
    return (label if sep else tree.name), tree


async def orchestrate(args: argparse.Namespace) -> int:
    from signaling.client import EncodedClip

    with tempfile.TemporaryDirectory(prefix="vw-media-bench-") as tmp:
        workdir = Path(tmp)
        clip_path = str(workdir / "clip.pkl")
        clip = EncodedClip(seconds=4)
        clip.save(clip_path)
        print(f"clip: {len(clip.video)} VP8 frames, {clip.video_bitrate / 1e6:.2f} Mbit/s", flush=True)
        if args.hot_path:
            args.trees = args.trees or [("this tree", ROOT)]
            results = hot_path(args, clip_path)
        else:
            results = []
            for round_, label, tree in rounds(args, args.trees or [("", ROOT)]):
                for relay, calls in (("passthrough", args.calls), ("transcode", args.transcode_calls)):
                    if calls <= 0:
                        continue
                    print(f"round {round_}: running {label or 'this tree'} {relay} with {calls} calls...", flush=True)
                    result = await run_mode(relay, calls, args, clip_path, workdir, tree, label)
                    result["round"] = round_
                    print(json.dumps(result), flush=True)
                    results.append(result)
    command = "python " + " ".join(["bench/media_capacity.py"] + sys.argv[1:])
    if args.hot_path:
        text = render_hot_path(args, results, command)
    else:
        text = render_compare(args, results, command) if args.trees else render(args, results, command)
    print(text)
    if args.write:
        write_section(args.write, args.section, text)
        print(f"written to {args.write}")
    return 0


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "_hotpath":
        p = argparse.ArgumentParser()
        p.add_argument("--tree", type=Path, required=True)
        p.add_argument("--clip", required=True)
        p.add_argument("--frames", type=int, required=True)
        asyncio.run(run_hot_path(p.parse_args(sys.argv[2:])))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] in ("_server", "_clients"):
        role = sys.argv[1]
        p = argparse.ArgumentParser()
        p.add_argument("--port", type=int, required=True)
        if role == "_server":
            p.add_argument("--dir", required=True)
            p.add_argument("--relay", required=True)
            p.add_argument("--specialists", type=int, required=True)
            p.add_argument("--quality-interval", type=float)
            asyncio.run(run_server(p.parse_args(sys.argv[2:])))
        else:
            for name in ("--clip", "--out"):
                p.add_argument(name, required=True)
            for name in ("--first", "--count"):
                p.add_argument(name, type=int, required=True)
            for name in ("--call-at", "--window-at", "--seconds"):
                p.add_argument(name, type=float, required=True)
            asyncio.run(run_clients(p.parse_args(sys.argv[2:])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=8, help="concurrent calls, passthrough")
    parser.add_argument("--transcode-calls", type=int, default=2, help="concurrent calls, transcode (0: skip)")
    parser.add_argument("--seconds", type=float, default=20, help="measuring window")
    parser.add_argument("--workers", type=int, default=2, help="client processes")
    parser.add_argument("--write", type=Path, help="record the figures in this Markdown file (docs/benchmarks.md)")
    parser.add_argument("--section", default="Media capacity", help="the section --write replaces")
    parser.add_argument("--trees", type=tree_arg, nargs="+", metavar="LABEL=DIR",
                        help="compare servers run from these source trees (default: this checkout alone)")
    parser.add_argument("--rounds", type=int, default=1, help="runs of every tree (with --trees)")
    parser.add_argument("--quality-compare", action="store_true",
                        help="run this checkout with network quality sampling off and on, as two trees")
    parser.add_argument("--quality-interval", type=float, default=2.0, help="the sampling period when on")
    parser.add_argument("--hot-path", type=int, default=0, metavar="FRAMES",
                        help="instead of calls: push this many received frames through each tree's media code "
                             "in-process (no network) and report event-loop CPU per frame")
    args = parser.parse_args()
    if args.quality_compare:
        args.trees = [(label, ROOT) for label in QUALITY_LABELS]
    return asyncio.run(orchestrate(args))


if __name__ == "__main__":
    sys.exit(main())
