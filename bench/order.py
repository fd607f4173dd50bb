"""Arrival-order benchmark: are simultaneous callers offered and answered in the order they arrived?

100 callers emit `call:request` at once against 20 auto-answer specialists (one
queue, no priorities). Each specialist hangs up shortly after answering and ends
wrap-up at once (`call:wrapup`; VW_WRAP_UP_S=1 in case it is lost), so the 20
take all 100 in turn. Arrival order is the server's `created_at` (GET
/api/sessions; sessions matched to requests by the ack's call_id). Reported, for
the order of `offered_at`, of `answered_at` and of `call:connected` as the
callers received it: the pairs of sessions in the other order than they arrived
(inversions; sessions created in the same millisecond are not compared) and the
largest displacement (how many places a session moved from its arrival rank).

    python bench/order.py [--callers 100] [--specialists 20] [--talk-s 0.2] [--database sqlite] \\
        [--label "v1 center"] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import sys
from datetime import datetime, timezone

from harness import (  # bench/harness.py
    SERVICE_ITEM, BenchCaller, ack_code, bench_accounts, cli, close_all, connected_callers, counts, logged_lines,
    ms, print_logged, progress, publish, ready_specialists, running_server, session_log, summary, take_calls,
    timed_call,
)
from report import machine  # bench/report.py


def parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def disorder(arrived: list, done: list) -> tuple[int, int, int]:
    """(inversions, comparable pairs, max displacement) of `done` against `arrived` (same index = same session).

    A pair is comparable when the two arrived at different times; it is an inversion when
    they were done in the other order. Ranks break ties by arrival, so ties never move a session."""
    n = len(arrived)
    inversions = pairs = 0
    for i in range(n):
        for j in range(n):
            if arrived[i] < arrived[j]:
                pairs += 1
                inversions += done[i] > done[j]
    by_arrival = sorted(range(n), key=lambda i: (arrived[i], i))
    by_done = sorted(range(n), key=lambda i: (done[i], arrived[i], i))
    rank = {i: r for r, i in enumerate(by_arrival)}
    displacement = max((abs(rank[i] - r) for r, i in enumerate(by_done)), default=0)
    return inversions, pairs, displacement


async def caller_call(caller: BenchCaller, n: int) -> tuple[dict, bool]:
    """Request; wait to be answered and for the specialist to hang up; (ack, connected)."""
    _, ack = await timed_call(lambda: caller.request(SERVICE_ITEM, f"Order caller {n}", company="Bench Co."))
    if ack_code(ack) != "ok":
        return ack, False
    try:
        await caller.wait_for("call:connected", timeout=120)
    except TimeoutError:
        await timed_call(caller.hangup)
        return ack, False
    try:
        await caller.wait_for("call:ended", timeout=30)
    except TimeoutError:
        await timed_call(caller.hangup)
    return ack, True


async def bench(args: argparse.Namespace) -> dict:
    accounts = bench_accounts(args.specialists)
    env = {"VW_WRAP_UP_S": "1"}
    async with running_server(args.database, accounts, env) as server:
        log: collections.Counter = collections.Counter()
        specialists, callers, workers = [], [], []
        try:
            specialists = await ready_specialists(server.url, accounts)
            workers = [asyncio.create_task(take_calls(s, args.talk_s, log)) for s in specialists]
            callers = await connected_callers(server.url, args.callers, timeout=30)
            progress(f"{len(specialists)} specialists ready, {len(callers)} callers connected")
            await asyncio.sleep(1.0)
            outcomes = await asyncio.gather(*(caller_call(c, i) for i, c in enumerate(callers)))
            progress(f"{sum(ok for _, ok in outcomes)} of {len(callers)} calls answered")
            by_id = await session_log(server.url)
        finally:
            for task in workers:
                task.cancel()
            await close_all(callers + specialists)
    rows = []
    for caller, (ack, connected) in zip(callers, outcomes):
        session = by_id.get(ack.get("call_id", ""))
        if not connected or session is None or not session.get("answered_at"):
            continue
        rows.append({
            "created": parse(session["created_at"]),
            "offered": parse(session["offered_at"]) or parse(session["answered_at"]),
            "answered": parse(session["answered_at"]),
            "seen": caller.seen_at[("call:connected", ack["call_id"])],
            "wait_ms": session["wait_ms"],
        })
    created = [r["created"] for r in rows]
    return {
        "acks": collections.Counter(ack_code(ack) for ack, _ in outcomes),
        "answered": len(rows),
        "orders": {label: disorder(created, [r[key] for r in rows])
                   for label, key in (("offered_at", "offered"), ("answered_at", "answered"),
                                      ("call:connected at the caller", "seen"))},
        "created_spread_ms": (max(created) - min(created)).total_seconds() * 1000 if rows else None,
        "wait_ms": [float(r["wait_ms"]) for r in rows if r["wait_ms"] is not None],
        "specialists": log,
        "logged": print_logged(server),
    }


def render(args: argparse.Namespace, r: dict) -> str:
    wait = summary(r["wait_ms"])
    lines = [
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {machine()}; server: **{args.label}**, "
        f"{args.database}. {args.callers} callers request at once; {args.specialists} auto-answer specialists "
        f"hang up {args.talk_s} s after answering and end wrap-up at once (VW_WRAP_UP_S=1); no media legs.",
        "",
        f"Command: `python bench/order.py --callers {args.callers} --specialists {args.specialists} "
        f"--talk-s {args.talk_s} --database {args.database} --label \"{args.label}\"`",
        "",
        f"Acks: {counts(r['acks'])}; answered {r['answered']}/{args.callers}; the {r['answered']} arrivals "
        f"(`created_at`) spread over {ms(r['created_spread_ms'])} ms; wait_ms p50 {ms(wait['p50'])}, "
        f"p99 {ms(wait['p99'])}, max {ms(wait['max'])}.",
        "",
        "| order of | inversions | of comparable pairs | max displacement (places) |",
        "|---|---|---|---|",
    ]
    for label, (inversions, pairs, displacement) in r["orders"].items():
        share = f" ({inversions / pairs:.1%})" if pairs else ""
        lines.append(f"| {label} | {inversions}{share} | {pairs} | {displacement} |")
    lines.append("")
    lines.append(f"- Specialists' acks: {counts(r['specialists'])}.")
    lines += logged_lines(r["logged"])
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = cli(__doc__, database="sqlite")
    parser.add_argument("--callers", type=int, default=100)
    parser.add_argument("--specialists", type=int, default=20)
    parser.add_argument("--talk-s", type=float, default=0.2, help="a specialist hangs up this long after answer")
    args = parser.parse_args()
    text = render(args, asyncio.run(bench(args)))
    return publish(args, "Arrival order", text)


if __name__ == "__main__":
    sys.exit(main())
