"""Database-outage benchmark: do calls go on while PostgreSQL is away, and is anything lost or stuck?

The server reaches a real PostgreSQL through a small TCP proxy in this process
(`Gate`). On command the gate cuts every proxied connection and closes each new
one at once (what a stopped or unreachable database looks like), then lets them
through again. 4 auto-answer specialists take calls in a loop (answered → hang up
after `--talk-s` → wrap-up done; hang-up and wrap-up pressed again every second
while refused) from callers arriving at `--rate` per second: `--before-s` before
the outage, during it, and `--after-s` after; each caller waits up to 30 s to be
answered. Then, once every caller has hung up and at least `--settle-s` after
the outage ended: which specialists are not back to ready, which sessions GET
/api/sessions still shows open, and whether every acknowledged request (ack ok
with a call_id) is in the log with created_at, answered_at (if it was answered)
and ended_at. Target: ≥ 90% of the calls requested during the outage connect;
no specialist stuck; no session lost.

    python bench/outages.py [--outages 10,60] [--rate 2] [--label "v1 center"] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

import socketio

from harness import (  # bench/harness.py
    ADDRESSES, ADMIN, PG_HOST, PG_PORT, SERVICE_ITEM, AdminHttp, BenchCaller, ack_code, bench_accounts, cli,
    close_all, counts, logged_lines, ms, print_logged, progress, publish, ready_specialists, running_server,
    session_log, summary, take_calls, timed_call,
)
from report import machine  # bench/report.py
from signaling.client import Administrator

TARGET_CONNECTED = 0.9
PATIENCE_S = 30  # how long a caller waits to be answered before it hangs up


class Gate:
    """A TCP proxy on 127.0.0.1 in front of PostgreSQL that can refuse on command."""

    def __init__(self, host: str = PG_HOST, port: int = PG_PORT) -> None:
        self.target = (host, port)
        self.refusing = False
        self.refused = 0  # connections closed at once during outages
        self._links: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._server: asyncio.AbstractServer | None = None
        self.port = 0

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            self.refused += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        link = (writer, up_writer)
        self._links.add(link)
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self._links.discard(link)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()  # one side gone: the other goes too

    def refuse(self) -> None:
        self.refusing = True
        for client, upstream in list(self._links):
            client.transport.abort()
            upstream.transport.abort()

    def restore(self) -> None:
        self.refusing = False

    async def close(self) -> None:
        self.refuse()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@dataclass
class CallRecord:
    requested_at: float  # seconds since the run started
    code: str = "not_sent"
    ack_ms: float | None = None
    call_id: str | None = None
    connected: bool = False
    ended: bool = False  # told call:ended (else it hung up itself)


@dataclass
class Timeline:
    outage_start: float
    outage_end: float
    health: list[tuple[float, int | None]] = field(default_factory=list)

    def phase(self, t: float) -> str:
        if t < self.outage_start:
            return "before"
        return "during" if t < self.outage_end else "after"


async def one_caller(url: str, record: CallRecord, n: int) -> None:
    caller = BenchCaller(url, media_addresses=ADDRESSES, timeout=10)
    try:
        try:
            await caller.connect()
        except socketio.exceptions.ConnectionError:
            record.code = "connect_failed"
            return
        record.ack_ms, ack = await timed_call(lambda: caller.request(SERVICE_ITEM, f"Outage caller {n}",
                                                                     company="Bench Co."))
        record.code, record.call_id = ack_code(ack), ack.get("call_id")
        if record.code != "ok":
            return
        try:
            await caller.wait_for("call:connected", timeout=PATIENCE_S)
            record.connected = True
            await caller.wait_for("call:ended", timeout=30)
            record.ended = True
        except TimeoutError:
            await timed_call(caller.hangup)  # gives up waiting (or for the specialist's hang-up)
    finally:
        await caller.close()


async def cut(gate: Gate, started: float, timeline: Timeline) -> None:
    await asyncio.sleep(max(0.0, started + timeline.outage_start - time.monotonic()))
    gate.refuse()
    progress("database refused")
    await asyncio.sleep(max(0.0, started + timeline.outage_end - time.monotonic()))
    gate.restore()
    progress("database back")


async def watch_health(url: str, started: float, timeline: Timeline, stop: asyncio.Event) -> None:
    admin = AdminHttp(url)  # just its HTTP session; /healthz needs no login
    try:
        while not stop.is_set():
            try:
                status, _ = await asyncio.wait_for(admin.get("/healthz"), 5)
            except Exception:  # noqa: BLE001 - any failure is "no answer"
                status = None
            timeline.health.append((time.monotonic() - started, status))
            await asyncio.sleep(1.0)
    finally:
        await admin.close()


async def wallboard(url: str) -> dict | None:
    """The `/admin` live view's specialist counts (one `stats` push)."""
    admin = Administrator(url, username=ADMIN[0], password=ADMIN[1])
    try:
        await admin.connect()
        stats = await admin.wait_for("stats", timeout=10)
        return stats.get("specialists")
    except (TimeoutError, socketio.exceptions.SocketIOError, RuntimeError, OSError):
        return None
    finally:
        await admin.close()


async def outage_run(args: argparse.Namespace, outage_s: float) -> dict:
    gate = Gate()
    await gate.start()
    accounts = bench_accounts(4)

    def through_gate(url: str) -> str:
        return url.replace(f"@{PG_HOST}:{PG_PORT}/", f"@127.0.0.1:{gate.port}/")

    log: collections.Counter = collections.Counter()
    try:
        async with running_server("postgres", accounts, url_of=through_gate) as server:
            specialists, workers = [], []
            try:
                specialists = await ready_specialists(server.url, accounts)
                workers = [asyncio.create_task(take_calls(s, args.talk_s, log)) for s in specialists]
                started = time.monotonic()
                timeline = Timeline(args.before_s, args.before_s + outage_s)
                stop = asyncio.Event()
                health = asyncio.create_task(watch_health(server.url, started, timeline, stop))
                records: list[CallRecord] = []
                callers: list[asyncio.Task] = []
                arrivals = int((args.before_s + outage_s + args.after_s) * args.rate)
                progress(f"outage of {outage_s:g} s: calls from now, the database goes at {args.before_s:g} s")
                outage = asyncio.create_task(cut(gate, started, timeline))
                for n in range(arrivals):
                    await asyncio.sleep(max(0.0, started + n / args.rate - time.monotonic()))
                    records.append(CallRecord(requested_at=time.monotonic() - started))
                    callers.append(asyncio.create_task(one_caller(server.url, records[-1], n)))
                await outage
                await asyncio.gather(*callers)
                settle = started + timeline.outage_end + args.settle_s - time.monotonic()
                progress(f"every caller has hung up; settling {max(0.0, settle):.0f} s more")
                await asyncio.sleep(max(0.0, settle))
                stop.set()
                await health
                result = await inspect(server.url, specialists, records)
            finally:
                for task in workers:
                    task.cancel()
                await close_all(specialists)
    finally:
        await gate.close()
    return {"outage_s": outage_s, "records": records, "timeline": timeline, "specialists": log,
            "refused": gate.refused, "logged": print_logged(server), **result}


async def inspect(url: str, specialists: list, records: list[CallRecord]) -> dict:
    """After the run: specialists not ready, sessions left open, acknowledged sessions missing from the log."""
    states = collections.Counter(
        (s.state or "never told") if s.sio.connected else "socket dropped" for s in specialists)
    board = await wallboard(url)
    sessions = await session_log(url)
    acked = [r for r in records if r.code == "ok" and r.call_id]
    missing = [r for r in acked if r.call_id not in sessions]
    logged = [sessions[r.call_id] for r in acked if r.call_id in sessions]
    return {
        "states": states,
        "wallboard": board,
        "open": collections.Counter(s["status"] for s in sessions.values() if s["status"] != "ended"),
        "acked": len(acked),
        "missing": len(missing),
        "no_created_at": sum(not s.get("created_at") for s in logged),
        "no_ended_at": sum(not s.get("ended_at") for s in logged),
        "connected_no_answered_at": sum(
            r.connected and not sessions[r.call_id].get("answered_at") for r in acked if r.call_id in sessions),
        "outcomes": collections.Counter(s.get("outcome") or "none" for s in logged),
    }


def render(args: argparse.Namespace, runs: list[dict]) -> str:
    lines = [
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {machine()}; server: **{args.label}**, "
        f"PostgreSQL {PG_HOST}:{PG_PORT} through the bench's TCP gate (cut and refusing during the outage). "
        f"4 auto-answer specialists (hang up {args.talk_s:g} s after answer, then wrap-up; both pressed again "
        f"every second while refused); callers arrive {args.rate:g}/s from {args.before_s:g} s before the "
        f"outage to {args.after_s:g} s after it, each waiting up to {PATIENCE_S} s to be answered; checked once "
        f"every caller has hung up and ≥ {args.settle_s:g} s after the outage.",
        "",
        f"Command: `python bench/outages.py --outages {args.outages} --rate {args.rate:g} --label \"{args.label}\"`",
        "",
        f"Target: ≥ {TARGET_CONNECTED:.0%} of the calls requested during the outage connect; "
        "no specialist stuck; no session lost.",
        "",
        "| outage | calls requested | acks | connected | ack p50 / p99 ms | /healthz answers |",
        "|---|---|---|---|---|---|",
    ]
    for run in runs:
        timeline: Timeline = run["timeline"]
        for phase in ("before", "during", "after"):
            rs = [r for r in run["records"] if timeline.phase(r.requested_at) == phase]
            health = collections.Counter(str(s) if s else "no answer" for t, s in timeline.health
                                         if timeline.phase(t) == phase)
            connected = sum(r.connected for r in rs)
            share = f" ({connected / len(rs):.0%})" if rs else ""
            ack = summary([r.ack_ms for r in rs if r.ack_ms is not None])
            lines.append(
                f"| {run['outage_s']:g} s, {phase} | {len(rs)} | {counts(collections.Counter(r.code for r in rs))} "
                f"| {connected}{share} | {ms(ack['p50'])} / {ms(ack['p99'])} | {counts(health)} |"
            )
    lines += [
        "",
        "| outage | during: connected | specialists after (client) | wallboard after | sessions left open "
        "| acknowledged: in the log / missing | without created_at / ended_at | answered, no answered_at "
        "| outcomes | target met |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        timeline = run["timeline"]
        during = [r for r in run["records"] if timeline.phase(r.requested_at) == "during"]
        share = sum(r.connected for r in during) / len(during) if during else 0.0
        board = run["wallboard"]
        board_text = ", ".join(f"{k} {v}" for k, v in board.items() if v) if board else "no stats"
        stuck = sum(v for k, v in run["states"].items() if k != "ready")
        lost = run["missing"] + run["no_created_at"] + run["no_ended_at"] + run["connected_no_answered_at"]
        met = share >= TARGET_CONNECTED and stuck == 0 and lost == 0 and not run["open"]
        lines.append(
            f"| {run['outage_s']:g} s | {share:.0%} | {counts(run['states'])} | {board_text} "
            f"| {counts(run['open']) if run['open'] else 0} | {run['acked'] - run['missing']} / {run['missing']} "
            f"| {run['no_created_at']} / {run['no_ended_at']} | {run['connected_no_answered_at']} "
            f"| {counts(run['outcomes'])} | {'yes' if met else 'no'} |"
        )
    lines.append("")
    for run in runs:
        lines.append(f"- {run['outage_s']:g} s outage: the gate closed {run['refused']} new database connections; "
                     f"specialists' acks: {counts(run['specialists'])}.")
        lines += logged_lines(run["logged"], limit=8, prefix=f"{run['outage_s']:g} s outage: ")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = cli(__doc__)
    parser.add_argument("--outages", default="10,60", help="comma-separated outage lengths in seconds")
    parser.add_argument("--rate", type=float, default=2, help="callers arriving per second")
    parser.add_argument("--talk-s", type=float, default=1.0, help="a specialist hangs up this long after answer")
    parser.add_argument("--before-s", type=float, default=10)
    parser.add_argument("--after-s", type=float, default=10)
    parser.add_argument("--settle-s", type=float, default=30, help="checked no sooner than this after the outage")
    args = parser.parse_args()

    async def run() -> list[dict]:
        return [await outage_run(args, float(s)) for s in args.outages.split(",")]

    text = render(args, asyncio.run(run()))
    return publish(args, "Database outages", text)


if __name__ == "__main__":
    sys.exit(main())
