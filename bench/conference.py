"""A recorded three-party call against a recorded two-party call: the server's CPU, as a ratio.

The media plane runs in a child process (legs, the two-party bridge or the
three-party call of media/call.py, every party recorded); each party's aiortc
peer runs in a process of its own, sending 640x480 30 fps VP8 (~1 Mbit/s,
encoded once and replayed: no encoder) and Opus, and counting what they
receive straight from the jitter buffer (no decoder). Each party offers its
microphone and camera sendrecv, a receiving 3rd m-line (the console's, for a
screen) and one more receiving audio and video, so the third party needs no
renegotiation. The child reports its CPU time over the measuring window and
how many frames it decoded (must be 0: passthrough).

Rounds alternate the two shapes (a drift in the machine's load falls on both);
reported per shape: server CPU (% of one core) in the rounds at the full frame
rate, CPU per frame the server sent, the CPU at the full rate from that, and
the ratio three : two (see `report`).

    python bench/conference.py --seconds 15 --rounds 3 --write docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from report import machine, write_section  # noqa: E402  (bench/report.py)

PARTIES = ("caller", "specialist:1", "specialist:2")
LINES = [("audio", "sendrecv"), ("video", "sendrecv"), ("video", "recvonly"), ("audio", "recvonly"),
         ("video", "recvonly")]


# -- the server side (child process) ----------------------------------------------------


def serve(conn, recordings: str) -> None:
    asyncio.run(_serve(conn, recordings))


async def _serve(conn, recordings: str) -> None:
    from signaling.media import MediaPlane

    plane = MediaPlane(ice_servers=[], media_addresses=["127.0.0.1"], recordings_dir=Path(recordings))
    loop = asyncio.get_running_loop()
    legs = {}
    session = 0
    while True:
        op, arg = await loop.run_in_executor(None, conn.recv)
        if op == "offer":
            party, sdp = arg
            legs[party] = await plane.open_leg(party)
            conn.send(await legs[party].handle_offer(sdp))
        elif op == "join":  # arg: how many parties
            session += 1
            sid = f"bench{session}"
            if arg == 2:
                plane.bridge(legs["caller"], legs["specialist:1"], session_id=sid, record=True)
            else:
                names = PARTIES[:arg]
                plane.call(sid, record=True).set({p: legs[p] for p in names},
                                                 {p: set(names) - {p} for p in names})
            conn.send(sid)
        elif op == "cpu":  # CPU seconds so far, and frames the server's senders have sent
            t = os.times()
            sent = sum(out.frames for leg in legs.values() for out in leg.outputs().values())
            conn.send((t.user + t.system, sent))
        elif op == "end":
            plane.end_session(arg)
            await plane.flush_recordings()
            taps = [tap for leg in legs.values() for tap in leg.inputs().values()]
            decoded = sum(tap.decoded + tap.splitter.decoded for tap in taps)
            for leg in legs.values():
                await leg.close()
            legs.clear()
            sizes = sorted(p.stat().st_size for p in Path(recordings).glob(f"{arg}-*.webm"))
            conn.send({"decoded": decoded, "recordings": sizes})
        elif op == "quit":
            await plane.close()
            conn.send(None)
            return


# -- the parties (a process each, so that no client starves another) --------------------


def party_main(conn, clip_path: str, name: str) -> None:
    asyncio.run(_party(conn, clip_path, name))


async def _party(conn, clip_path: str, name: str) -> None:
    from aiortc import RTCPeerConnection, RTCSessionDescription

    from signaling.client import EncodedClip, EncodedTrack
    from signaling.media import aiortc_hooks, rtc_configuration, use_media_addresses

    use_media_addresses(["127.0.0.1"])
    clip = EncodedClip.load(clip_path)
    pc = RTCPeerConnection(rtc_configuration([]))
    frames = [0]
    for kind, direction in LINES:
        if direction == "sendrecv":
            transceiver = pc.addTransceiver(EncodedTrack(clip, kind), direction="sendrecv")
            aiortc_hooks.on_keyframe_request(transceiver.sender, transceiver.sender.track.keyframe)
        else:
            pc.addTransceiver(kind, direction="recvonly")

    def counted(mime, frame) -> None:
        frames[0] += 1

    def tap(track) -> None:
        receiver = next(t.receiver for t in pc.getTransceivers() if t.receiver.track is track)
        aiortc_hooks.tap_receiver(receiver, counted)  # counted straight from the jitter buffer: no decoder

    pc.on("track", tap)
    await pc.setLocalDescription(await pc.createOffer())
    loop = asyncio.get_running_loop()
    conn.send(pc.localDescription.sdp)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=await loop.run_in_executor(None, conn.recv), type="answer"))
    while pc.connectionState != "connected":
        await asyncio.sleep(0.05)
    conn.send("connected")
    while (await loop.run_in_executor(None, conn.recv)) == "frames":
        conn.send(frames[0])
    await pc.close()
    conn.send(None)


async def ask(conn, op: str, arg=None):
    conn.send((op, arg))
    return await asyncio.get_running_loop().run_in_executor(None, conn.recv)


async def recv(conn):
    return await asyncio.get_running_loop().run_in_executor(None, conn.recv)


async def run_shape(server, clip_path: str, count: int, args: argparse.Namespace) -> dict:
    spawn = multiprocessing.get_context("spawn")
    parties = {}
    for name in PARTIES[:count]:
        mine, theirs = multiprocessing.Pipe()
        process = spawn.Process(target=party_main, args=(theirs, clip_path, name))
        process.start()
        parties[name] = (process, mine)
    for name, (_, conn) in parties.items():
        conn.send(await ask(server, "offer", (name, await recv(conn))))
    for _, conn in parties.values():
        assert await recv(conn) == "connected"

    async def delivered() -> int:
        total = 0
        for _, conn in parties.values():
            conn.send("frames")
            total += await recv(conn)
        return total

    sid = await ask(server, "join", count)
    await asyncio.sleep(args.warmup)
    frames0 = await delivered()
    (cpu0, sent0), t0 = await ask(server, "cpu"), time.monotonic()
    await asyncio.sleep(args.seconds)
    (cpu1, sent1), t1 = await ask(server, "cpu"), time.monotonic()
    frames = await delivered() - frames0
    ended = await ask(server, "end", sid)
    for process, conn in parties.values():
        conn.send("close")
        await recv(conn)
        process.join(10)
    assert ended["decoded"] == 0, f"the server decoded {ended['decoded']} frames: passthrough is broken"
    assert len(ended["recordings"]) == count and all(ended["recordings"]), ended
    return {"parties": count, "cpu_pct": 100 * (cpu1 - cpu0) / (t1 - t0), "fps": frames / (t1 - t0),
            "sent_fps": (sent1 - sent0) / (t1 - t0), "us_per_sent": 1e6 * (cpu1 - cpu0) / max(sent1 - sent0, 1),
            "decoded": ended["decoded"], "recorded_bytes": sum(ended["recordings"])}


async def main_async(args: argparse.Namespace) -> list[dict]:
    from signaling.client import EncodedClip

    parent, child = multiprocessing.Pipe()
    with tempfile.TemporaryDirectory() as work:
        clip_path = str(Path(work) / "clip.pickle")
        EncodedClip(width=640, height=480, fps=30, bitrate=1_000_000, seconds=4).save(clip_path)
        recordings = Path(work) / "recordings"
        recordings.mkdir()
        server = multiprocessing.get_context("spawn").Process(target=serve, args=(child, str(recordings)))
        server.start()
        results = []
        try:
            for n in range(args.rounds):
                for count in ((2, 3) if n % 2 == 0 else (3, 2)):
                    result = await run_shape(parent, clip_path, count, args)
                    results.append(result)
                    print(f"round {n + 1}: {count} parties: server {result['cpu_pct']:.1f}% of a core, "
                          f"{result['sent_fps']:.0f} frames/s sent, {result['fps']:.0f} delivered, "
                          f"decoded {result['decoded']}", flush=True)
            await ask(parent, "quit")
        finally:
            server.join(10)
            if server.is_alive():
                server.kill()
    return results


FULL_RATE = {2: 160, 3: 480}  # frames/s the server sends when every party sends 30 video + 50 audio frames/s


def report(results: list[dict], args: argparse.Namespace) -> str:
    """The figures, two ways: measured in rounds at the full frame rate, and scaled to it from the per-frame cost.

    On a shared machine a starved sender sends less, and the server's CPU falls with it: a round under
    --min-rate of the full rate measures the starvation, not the call. Its CPU per frame sent still says
    what the call costs (the work is per packet), so the CPU at the full rate is also given as that
    per-frame cost (median over the rounds at half the rate or more) times the full rate.
    """
    shapes = (2, 3)
    full = {c: [r for r in results if r["parties"] == c and r["sent_fps"] >= args.min_rate * FULL_RATE[c]]
            for c in shapes}
    usable = {c: [r for r in results if r["parties"] == c and r["sent_fps"] >= 0.5 * FULL_RATE[c]]
              or [r for r in results if r["parties"] == c] for c in shapes}
    per_frame = {c: statistics.median(r["us_per_sent"] for r in usable[c]) for c in shapes}
    scaled = {c: per_frame[c] * FULL_RATE[c] / 10_000 for c in shapes}  # % of a core at the full rate
    measured = {c: statistics.median(r["cpu_pct"] for r in full[c]) if full[c] else None for c in shapes}

    def pct(value: float | None) -> str:
        return f"{value:.1f}" if value is not None else "—"

    rows = [f"| {name} | {pct(measured[c])} ({len(full[c])} of {args.rounds} rounds) | {per_frame[c]:.0f} "
            f"| {scaled[c]:.1f} | {FULL_RATE[c]} | 0 |"
            for c, name in ((2, "two parties (bridge)"), (3, "three parties (call)"))]
    direct = (f"; measured in full-rate rounds: **{measured[3] / measured[2]:.2f}**"
              if measured[2] and measured[3] else "; no full-rate round of both shapes to measure it directly")
    lines = [
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {machine()}; "
        f"`python bench/conference.py --seconds {args.seconds:g} --rounds {args.rounds}` (media plane in its own "
        "process, each party in another, every party recorded, 640x480 30 fps VP8 ~1 Mbit/s + Opus per party, "
        f"pre-encoded, received without decoding); load average {args.load[0]:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after (the machine is shared with other work).",
        "",
        "| call | server CPU at the full rate, measured (% of one core) | server CPU per frame sent (µs) "
        "| server CPU at the full rate, from the per-frame cost (%) | frames sent /s at the full rate "
        "| frames decoded |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        f"Ratio three : two in server CPU = **{scaled[3] / scaled[2]:.2f}** from the per-frame cost{direct}. "
        "A three-party call sends 6 streams of each kind instead of 2 but receives 3 instead of 2 and records 3 "
        f"files instead of 2; per frame sent it costs {per_frame[3] / per_frame[2]:.2f} of a bridge's: receiving "
        "a stream (SRTP, jitter buffer, RTCP) costs more than sending it once more.",
        "",
        "Every round: " + "; ".join(f"{r['parties']}p {r['cpu_pct']:.1f}% at {r['sent_fps']:.0f}/s" for r in results)
        + ".",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--min-rate", type=float, default=0.9,
                        help="count only rounds in which the server sent this share of the full frame rate")
    parser.add_argument("--write", type=Path, help="write the figures to this benchmarks document")
    args = parser.parse_args()
    args.load = os.getloadavg()
    results = asyncio.run(main_async(args))
    text = report(results, args)
    print(text)
    if args.write:
        write_section(args.write, "Several parties in one call (bench/conference.py)", text)


if __name__ == "__main__":
    main()
