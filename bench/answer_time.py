"""Answer-time benchmark: how fast a request becomes a two-way call.

Starts the real server (a subprocess on 127.0.0.1 with a fresh SQLite database),
K auto-answer specialists with pre-opened legs, then N callers — first one after
another, then all at once — each with its leg opened during the "device check".
As a baseline in the same run, N more callers negotiate their leg only once
answered (what a design without persistent legs would do).
Reports, per run, connect_ms as the server logged it (request → media flowing
both ways) and as the caller saw it (request → first decoded video frame), as
p50/p90/p99 and the share within the two-second target.

    python bench/answer_time.py --specialists 4 --calls 20 [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from harness import (  # bench/harness.py
    ADDRESSES, BENCH_PASSWORD, SERVICE_ITEM, AdminHttp, Server, bench_accounts, prepare_database, summary,
)
from report import machine, write_section  # bench/report.py
from signaling.client import Caller, Specialist


async def admin_connect_ms(url: str, call_ids: list[str]) -> list[float]:
    admin = AdminHttp(url)
    try:
        await admin.login()
        sessions = [await admin.session(call_id) or {} for call_id in call_ids]
    finally:
        await admin.close()
    return [float(s["connect_ms"]) for s in sessions if s.get("connect_ms") is not None]


async def run_specialist(spec: Specialist) -> None:
    """Auto-answer; after each call, finish wrap-up at once."""
    while True:
        ended = await spec.wait_for("call:ended", timeout=3600)
        await spec.wrapup(ended["call_id"])


async def one_call(url: str, talk_s: float, preopen: bool = True) -> tuple[str | None, float | None]:
    caller = Caller(url, media_addresses=ADDRESSES)
    try:
        await caller.connect()
        if preopen:
            await caller.open_leg()  # the device check: the leg is up before the request
        started = time.monotonic()
        ack = await caller.request(SERVICE_ITEM, "Bench Caller", company="Bench Co.")
        if not ack.get("ok"):
            return None, None
        await caller.wait_for("call:connected", timeout=30)
        if not preopen:
            await caller.open_leg()  # the baseline: negotiate only once answered
        await caller.wait_media(min_video_frames=1, min_audio_frames=1, timeout=30)
        seen_ms = (caller.first_frame_at["video"] - started) * 1000
        await asyncio.sleep(talk_s)
        await caller.hangup()
        return ack["call_id"], seen_ms
    finally:
        await caller.close()


async def bench(args: argparse.Namespace) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="vw-bench-"))
    db_url = f"sqlite+aiosqlite:///{tmp / 'vw.db'}"
    await prepare_database(db_url, bench_accounts(args.specialists))
    server = Server(db_url, tmp)
    url = server.url
    specialists: list[Specialist] = []
    workers: list[asyncio.Task] = []
    try:
        await server.start()
        for i in range(args.specialists):
            spec = Specialist(url, username=f"bench{i}", password=BENCH_PASSWORD, media_addresses=ADDRESSES)
            await spec.connect()
            await spec.open_leg()
            await spec.set_state("ready", auto_answer=True)
            specialists.append(spec)
            workers.append(asyncio.create_task(run_specialist(spec)))

        results = {}
        # Sequential: one caller at a time.
        seq_ids, seq_seen = [], []
        for _ in range(args.calls):
            call_id, seen = await one_call(url, args.talk_s)
            if call_id:
                seq_ids.append(call_id)
                seq_seen.append(seen)
            await asyncio.sleep(0.3)  # let wrap-up finish
        results["sequential"] = (await admin_connect_ms(url, seq_ids), seq_seen)

        # Baseline: the same, but the caller's leg is negotiated after the answer.
        base_ids, base_seen = [], []
        for _ in range(args.calls):
            call_id, seen = await one_call(url, args.talk_s, preopen=False)
            if call_id:
                base_ids.append(call_id)
                base_seen.append(seen)
            await asyncio.sleep(0.3)
        results["sequential, leg opened at answer (baseline)"] = (await admin_connect_ms(url, base_ids), base_seen)

        # Concurrent: waves of K callers at once (each specialist takes one).
        con_ids, con_seen = [], []
        for _ in range(max(1, args.calls // args.specialists)):
            outcomes = await asyncio.gather(*(one_call(url, args.talk_s) for _ in range(args.specialists)))
            for call_id, seen in outcomes:
                if call_id:
                    con_ids.append(call_id)
                    con_seen.append(seen)
            await asyncio.sleep(0.5)
        results["concurrent"] = (await admin_connect_ms(url, con_ids), con_seen)
        return results
    finally:
        for task in workers:
            task.cancel()
        for spec in specialists:
            await spec.close()
        server.stop()


def render(args: argparse.Namespace, results: dict) -> str:
    lines = [
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {machine()}; "
        f"{args.specialists} auto-answer specialists, {args.calls} calls per mode, talk {args.talk_s} s.",
        "",
        f"Command: `python bench/answer_time.py --specialists {args.specialists} --calls {args.calls}`",
        "",
        "| mode | measured | n | p50 ms | p90 ms | p99 ms | within 2 s |",
        "|---|---|---|---|---|---|---|",
    ]
    for mode, (server_ms, seen_ms) in results.items():
        for label, values in (("connect_ms (server log)", server_ms), ("first remote frame (caller)", seen_ms)):
            if not values:
                continue
            s = summary(values)
            lines.append(
                f"| {mode} | {label} | {s['n']} | {s['p50']:.0f} | {s['p90']:.0f} | {s['p99']:.0f} | {s['within_2s']:.0%} |"
            )
    ours, base = results["sequential"], results["sequential, leg opened at answer (baseline)"]
    lines.append("")
    for index, label in ((0, "connect_ms"), (1, "first remote frame")):
        a, b = summary(ours[index])["p50"], summary(base[index])["p50"]
        lines.append(f"- Pre-opened legs vs. negotiating at answer, {label} p50: {a:.0f} ms vs. {b:.0f} ms ({b / a:.1f}×).")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--specialists", type=int, default=4)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--talk-s", type=float, default=1.0)
    parser.add_argument("--write", type=Path, help="record the figures in this Markdown file (docs/benchmarks.md)")
    args = parser.parse_args()
    results = asyncio.run(bench(args))
    text = render(args, results)
    print(text)
    if args.write:
        write_section(args.write, "Answer time", text)
        print(f"written to {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
