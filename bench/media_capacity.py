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

Roles used internally: `_server` (the server with a lag sampler), `_clients`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
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
                print(json.dumps({"t": time.time(), "lags": [round(x, 2) for x in lags]}), flush=True)
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


# -- the orchestrator -------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[float, float]:
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


async def run_mode(relay: str, calls: int, args: argparse.Namespace, clip_path: str, workdir: Path) -> dict:
    port = free_port()
    sdir = workdir / relay
    sdir.mkdir()
    me = [sys.executable, str(Path(__file__).resolve())]
    server = subprocess.Popen(
        me + ["_server", "--port", str(port), "--dir", str(sdir), "--relay", relay, "--specialists", str(calls)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
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
            out = workdir / f"{relay}-{i}.json"
            outs.append(out)
            procs.append(subprocess.Popen(
                me + ["_clients", "--port", str(port), "--clip", clip_path, "--first", str(first), "--count", str(n),
                      "--call-at", str(call_at), "--window-at", str(window_at), "--seconds", str(args.seconds),
                      "--out", str(out)], cwd=ROOT))
            first += n
        await asyncio.sleep(max(0.0, window_at - time.time()))
        cpu0, m0, t0 = cpu_seconds(server.pid), machine_cpu(), time.time()
        await asyncio.sleep(args.seconds)
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
    sent = {k: sum(r["sent"][k] for r in results) for k in ("audio", "video")}
    delivered = {k: sum(r["delivered"][k] for r in results) for k in ("audio", "video")}
    recordings = list((sdir / "recordings").glob("*.webm"))
    cpu = (cpu1 - cpu0) / (t1 - t0) * 100
    return {
        "relay": relay, "calls": calls, "completed_workers": len(results),
        "server_cpu_pct": round(cpu, 1), "cpu_per_call_pct": round(cpu / calls, 1),
        "machine_busy_pct": round((m1[0] - m0[0]) / max(1, m1[1] - m0[1]) * 100, 1),
        "sent": sent, "delivered": delivered,
        "delivered_ratio": {k: round(delivered[k] / sent[k], 4) if sent[k] else None for k in sent},
        "lag_p99_ms": round(pct(lags, 0.99), 1), "lag_max_ms": round(max(lags), 1) if lags else None,
        "connect_ms_p50": connect and pct(connect, 0.5), "connect_ms_p99": connect and pct(connect, 0.99),
        "first_frame_ms_p50": pct([x for r in results for x in r["first_frame_ms"]], 0.5),
        "recordings": len(recordings),
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
        dv, da = r["delivered_ratio"]["video"], r["delivered_ratio"]["audio"]
        lines.append(
            f"| {r['relay']} | {r['calls']} | {r['server_cpu_pct']} | {r['cpu_per_call_pct']} | "
            f"{dv:.2%} ({r['delivered']['video']}/{r['sent']['video']}) | {da:.2%} | {r['lag_p99_ms']} | "
            f"{r['connect_ms_p50']} / {r['connect_ms_p99']} | {r['recordings']} | {r['machine_busy_pct']}% |"
        )
    by = {r["relay"]: r for r in results}
    if "passthrough" in by and "transcode" in by and by["passthrough"]["cpu_per_call_pct"]:
        ratio = by["transcode"]["cpu_per_call_pct"] / by["passthrough"]["cpu_per_call_pct"]
        lines += ["", f"Calls carried at equal CPU, passthrough : transcode = **{ratio:.1f} : 1** "
                      f"(server CPU per call {by['transcode']['cpu_per_call_pct']}% / {by['passthrough']['cpu_per_call_pct']}%)."]
    return "\n".join(lines) + "\n"


async def orchestrate(args: argparse.Namespace) -> int:
    from signaling.client import EncodedClip

    with tempfile.TemporaryDirectory(prefix="vw-media-bench-") as tmp:
        workdir = Path(tmp)
        clip_path = str(workdir / "clip.pkl")
        clip = EncodedClip(seconds=4)
        clip.save(clip_path)
        print(f"clip: {len(clip.video)} VP8 frames, {clip.video_bitrate / 1e6:.2f} Mbit/s", flush=True)
        results = []
        for relay, calls in (("passthrough", args.calls), ("transcode", args.transcode_calls)):
            if calls <= 0:
                continue
            print(f"running {relay} with {calls} calls...", flush=True)
            result = await run_mode(relay, calls, args, clip_path, workdir)
            print(json.dumps(result), flush=True)
            results.append(result)
    command = "python " + " ".join(["bench/media_capacity.py"] + sys.argv[1:])
    text = render(args, results, command)
    print(text)
    if args.write:
        write_section(args.write, "Media capacity", text)
        print(f"written to {args.write}")
    return 0


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] in ("_server", "_clients"):
        role = sys.argv[1]
        p = argparse.ArgumentParser()
        p.add_argument("--port", type=int, required=True)
        if role == "_server":
            p.add_argument("--dir", required=True)
            p.add_argument("--relay", required=True)
            p.add_argument("--specialists", type=int, required=True)
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
    args = parser.parse_args()
    return asyncio.run(orchestrate(args))


if __name__ == "__main__":
    sys.exit(main())
