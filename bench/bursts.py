"""Burst benchmark: N callers ask for a call in the same instant, N auto-answer specialists are ready.

For each database (SQLite, PostgreSQL) and each N, a fresh server (a subprocess on
127.0.0.1) gets N specialists (state ready, auto_answer) and N connected callers;
then every caller's `call:request` is emitted at once. No media legs: the contract
lets a call be answered without them, and the callers hang up once answered.

Reports the request's ack latency as the caller saw it (emit → ack), the server's
`wait_ms` (answered_at − created_at, from GET /api/sessions) and the time until the
caller was told `call:connected`. Target: ack p99 and wait_ms p99 ≤ 100 ms.

    python bench/bursts.py [--sizes 30,100] [--databases sqlite,postgres] [--label "v1 center"] \\
        [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import sys
import time
from datetime import datetime, timezone

from harness import (  # bench/harness.py
    SERVICE_ITEM, BenchCaller, BenchSpecialist, ack_code, bench_accounts, cli, close_all, connected_callers, counts,
    logged_lines, ms, print_logged, progress, publish, ready_specialists, running_server, session_log, summary,
    timed_call,
)
from report import machine  # bench/report.py

TARGET_MS = 100
ACK_TIMEOUT_S = 30  # a caller waits this long for its ack (the tail is what is measured)


async def request(caller: BenchCaller, n: int) -> tuple[float, float, dict]:
    """(emitted at, ack ms, ack) of one caller's request."""
    emitted = time.monotonic()
    ack_ms, ack = await timed_call(lambda: caller.request(SERVICE_ITEM, f"Burst caller {n}", company="Bench Co."))
    return emitted, ack_ms, ack


async def connected_ms(caller: BenchCaller, emitted: float, timeout: float) -> float | None:
    """emit → S→C call:connected, as the caller saw it (None if not within `timeout`)."""
    try:
        message = await caller.wait_for("call:connected", timeout=timeout)
    except TimeoutError:
        return None
    return (caller.seen_at[("call:connected", message["call_id"])] - emitted) * 1000


async def wrap_up(spec: BenchSpecialist) -> None:
    """Finish the specialist's call so it is ready for the next burst."""
    try:
        ended = await spec.wait_for("call:ended", timeout=10)
        await timed_call(lambda: spec.wrapup(ended["call_id"]))
    except TimeoutError:
        pass
    await timed_call(lambda: spec.set_state("ready", auto_answer=True))


async def burst(url: str, specialists: list[BenchSpecialist], kind: str) -> dict:
    n = len(specialists)
    callers = await connected_callers(url, n, timeout=ACK_TIMEOUT_S)
    try:
        progress(f"{n} specialists ready, {n} callers connected")
        await asyncio.sleep(1.0)  # let logins and connections settle before the burst
        sent = await asyncio.gather(*(request(c, i) for i, c in enumerate(callers)))
        acked = [(c, emitted, ack) for c, (emitted, _, ack) in zip(callers, sent) if ack_code(ack) == "ok"]
        connect = await asyncio.gather(*(connected_ms(c, emitted, 30) for c, emitted, _ in acked))
        progress(f"burst of {n}: {len(acked)} acknowledged, {sum(v is not None for v in connect)} connected")
        await asyncio.gather(*(timed_call(c.hangup) for c, _, _ in acked))
        await asyncio.gather(*(wrap_up(spec) for spec in specialists))
        by_id = await session_log(url)
    finally:
        await close_all(callers)
    ids = [ack["call_id"] for _, _, ack in acked]
    return {
        "database": kind,
        "n": n,
        "acks": collections.Counter(ack_code(ack) for _, _, ack in sent),
        "ack_ms": [ack_ms for _, ack_ms, _ in sent],
        "wait_ms": [float(by_id[i]["wait_ms"]) for i in ids if by_id.get(i, {}).get("wait_ms") is not None],
        "connected_ms": [v for v in connect if v is not None],
        "missing": sum(i not in by_id for i in ids),
    }


async def bursts_on(kind: str, sizes: list[int]) -> tuple[list[dict], collections.Counter]:
    """One server per database; each burst adds specialists (logins cost ~1 s each on this machine)."""
    accounts = list(bench_accounts(max(sizes)))
    results: list[dict] = []
    async with running_server(kind, bench_accounts(max(sizes))) as server:
        specialists: list[BenchSpecialist] = []
        try:
            for n in sorted(sizes):
                specialists += await ready_specialists(server.url, accounts[len(specialists):n])
                results.append(await burst(server.url, specialists[:n], kind))
        finally:
            await close_all(specialists)
    return results, print_logged(server)


def render(args: argparse.Namespace, results: list[dict], logged: dict[str, collections.Counter]) -> str:
    lines = [
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {machine()}; server: **{args.label}**. "
        "All callers' `call:request` emitted in the same instant, as many auto-answer specialists ready; "
        "no media legs; one client process (all sockets) beside the server on the same 2 cores.",
        "",
        f"Command: `python bench/bursts.py --sizes {args.sizes} --databases {args.databases} --label \"{args.label}\"`",
        "",
        f"Target: ack p99 and wait_ms p99 ≤ {TARGET_MS} ms.",
        "",
        "| database | N | acks | ack p50 / p99 / max ms | wait_ms p50 / p99 / max | call:connected at caller p50 / p99 | "
        "answered | target met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ack, wait, conn = summary(r["ack_ms"]), summary(r["wait_ms"]), summary(r["connected_ms"])
        met = (ack["p99"] is not None and wait["p99"] is not None and ack["p99"] <= TARGET_MS
               and wait["p99"] <= TARGET_MS and wait["n"] == r["n"])
        lines.append(
            f"| {r['database']} | {r['n']} | {counts(r['acks'])} | {ms(ack['p50'])} / {ms(ack['p99'])} / {ms(ack['max'])} "
            f"| {ms(wait['p50'])} / {ms(wait['p99'])} / {ms(wait['max'])} | {ms(conn['p50'])} / {ms(conn['p99'])} "
            f"| {conn['n']}/{r['n']} | {'yes' if met else 'no'} |"
        )
    lines.append("")
    for r in results:
        if r["missing"]:
            lines.append(f"- {r['database']} N={r['n']}: {r['missing']} acknowledged sessions missing from GET /api/sessions.")
    for kind, found in logged.items():
        lines += logged_lines(found, prefix=f"{kind}: ")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = cli(__doc__)
    parser.add_argument("--sizes", default="30,100", help="comma-separated N")
    parser.add_argument("--databases", default="sqlite,postgres", help="sqlite, postgres or both")
    args = parser.parse_args()

    async def run() -> tuple[list[dict], dict[str, collections.Counter]]:
        results, logged = [], {}
        for kind in args.databases.split(","):
            found, logged[kind] = await bursts_on(kind, [int(n) for n in args.sizes.split(",")])
            results += found
        return results, logged

    text = render(args, *asyncio.run(run()))
    return publish(args, "Bursts", text)


if __name__ == "__main__":
    sys.exit(main())
