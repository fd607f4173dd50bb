"""Flood benchmark: does one misbehaving console slow everybody else down?

One specialist socket (the flooder: a skill of its own) sends one event at `--rate`
per second for `--phase-s` seconds without waiting for acks — `agent:day`;
`chat:message` in a call of its own; `rtc:candidate` on its media leg — while
other callers arrive one at a time (2 per second: connect, `call:request`) for 4
auto-answer specialists. Each flood gets a fresh server and three phases: without
a flood (the reference, same run), with it, and after it (did it recover?). Per
phase: the other callers' connect and `call:request` ack latency, and how `POST
/api/login` and an administrator's `GET /api/sessions` answer meanwhile; per
flood, what its acks said and how long after the flood its last ack came (the
backlog it left). Target: the other callers' ack p99 < 100 ms during a flood.

    python bench/floods.py [--floods agent:day,chat:message,rtc:candidate] [--rate 200] [--phase-s 10] \\
        [--database sqlite] [--label "v1 center"] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import sys
import time
from collections.abc import Callable

import socketio
from datetime import datetime, timezone

from harness import (  # bench/harness.py
    ADDRESSES, SERVICE_ITEM, AdminHttp, BenchCaller, BenchSpecialist, ack_code, bench_accounts, cli, close_all,
    connected_callers, counts, logged_lines, ms, print_logged, probe, progress, publish, ready_specialists,
    running_server, summary, take_calls, timed_call,
)
from report import machine  # bench/report.py

TARGET_MS = 100
FLOOD_ITEM = "TX-001"  # only the flooder has this skill, so its own call goes to it
QUIET, AFTER = "no flood", "after the flood"
FLOODS = ("agent:day", "chat:message", "rtc:candidate")


class Flood:
    """Sends `payload(n)` as `event` at `rate`/s on the flooder's socket, not waiting for acks."""

    def __init__(self, spec: BenchSpecialist, event: str, payload: Callable[[int], dict], rate: float) -> None:
        self.spec, self.event, self.payload, self.rate = spec, event, payload, rate
        self.sent = 0
        self.acks: collections.Counter = collections.Counter()
        self.ack_ms: list[float] = []
        self.last_ack_at: float | None = None
        self.disconnected = False

    def _acked(self, sent_at: float) -> Callable[..., None]:
        def callback(ack: object = None, *_: object) -> None:
            self.last_ack_at = time.monotonic()
            self.ack_ms.append((self.last_ack_at - sent_at) * 1000)
            self.acks[ack_code(ack)] += 1

        return callback

    async def run(self, seconds: float) -> None:
        started = time.monotonic()
        while (now := time.monotonic()) < started + seconds:
            while self.sent < (now - started) * self.rate:
                try:
                    await self.spec.sio.emit(self.event, self.payload(self.sent), namespace=self.spec.namespace,
                                             callback=self._acked(time.monotonic()))
                except socketio.exceptions.SocketIOError:
                    self.disconnected = True  # the server dropped the flooder (e.g. missed pings)
                    break
                self.sent += 1
            if self.disconnected:
                break
            await asyncio.sleep(0.005)
        self.stopped_at = time.monotonic()

    async def drain(self, timeout: float) -> float | None:
        """Wait for the acks still owed; ms from the end of the flood to the last ack (None: some never came)."""
        deadline = time.monotonic() + timeout
        while sum(self.acks.values()) < self.sent and time.monotonic() < deadline and self.spec.sio.connected:
            await asyncio.sleep(0.05)
        if sum(self.acks.values()) < self.sent or self.last_ack_at is None:
            return None
        return max(0.0, (self.last_ack_at - self.stopped_at) * 1000)


async def one_request(url: str, n: int) -> tuple[float | None, float | None, str]:
    """A caller arriving: connect, request, and once answered wait for the specialist to hang up.

    (connect ms, ack ms, ack code); a caller that cannot connect has the code `connect_failed`."""
    caller = BenchCaller(url, media_addresses=ADDRESSES, timeout=30)
    try:
        started = time.monotonic()
        try:
            await caller.connect()
        except socketio.exceptions.ConnectionError:
            return None, None, "connect_failed"
        connect_ms = (time.monotonic() - started) * 1000
        ack_ms, ack = await timed_call(lambda: caller.request(SERVICE_ITEM, f"Flood bystander {n}", company="Bench Co."))
        if ack_code(ack) == "ok":
            try:
                await caller.wait_for("call:connected", timeout=20)
                await caller.wait_for("call:ended", timeout=20)
            except TimeoutError:
                await timed_call(caller.hangup)
        return connect_ms, ack_ms, ack_code(ack)
    finally:
        await caller.close()


async def phase(url: str, admin: AdminHttp, seconds: float, flood: Flood | None) -> dict:
    """Callers arriving at 2/s and HTTP probes for `seconds`, with `flood` running meanwhile."""
    requests, logins, listings = [], [], []
    flooding = asyncio.create_task(flood.run(seconds)) if flood else None
    started = time.monotonic()
    for n in range(int(seconds * 2)):
        await asyncio.sleep(max(0.0, started + n * 0.5 - time.monotonic()))
        requests.append(asyncio.create_task(one_request(url, n)))
        listings.append(asyncio.create_task(probe(lambda: admin.get("/api/sessions?limit=50"))))
        if n % 4 == 0:  # a login costs ~1 s of argon2 CPU here: probe it every 2 s, not more
            logins.append(asyncio.create_task(probe(admin.login)))
    if flooding:
        await flooding
    drain_ms = await flood.drain(timeout=60) if flood else None
    done = await asyncio.gather(*requests)
    login_done, listing_done = await asyncio.gather(*logins), await asyncio.gather(*listings)
    return {
        "connect_ms": [c for c, _, _ in done if c is not None],
        "ack_ms": [a for _, a, _ in done if a is not None],
        "acks": collections.Counter(code for _, _, code in done),
        "login_ms": [v for v, code in login_done if v is not None],
        "login_errors": sum(code != "ok" for _, code in login_done),
        "sessions_ms": [v for v, code in listing_done if v is not None],
        "sessions_errors": sum(code != "ok" for _, code in listing_done),
        "flood": flood,
        "drain_ms": drain_ms,
    }


def payloads(event: str, call_id: str | None, mid: str | None) -> Callable[[int], dict]:
    if event == "agent:day":
        return lambda n: {}
    if event == "chat:message":
        return lambda n: {"call_id": call_id, "text": f"flood {n}"}
    # Host candidates on ports nothing listens on: each is a new pair for the leg's ICE agent.
    return lambda n: {"candidate": f"candidate:{n} 1 udp 2122260223 127.0.0.1 {20000 + n % 20000} typ host",
                      "sdpMid": mid, "sdpMLineIndex": 0}


async def flood_run(args: argparse.Namespace, event: str) -> dict:
    """A fresh server: a phase without a flood, one with the `event` flood, one after it.

    A server of its own per flood, so one flood's backlog does not fall into the next one's figures."""
    accounts = {**bench_accounts(4), "flooder": ["category:tax"]}
    # The flooder's own call has no caller leg: keep it from ending as `failed` during the run.
    env = {"VW_MEDIA_TIMEOUT_S": "600"}
    log: collections.Counter = collections.Counter()
    async with running_server(args.database, accounts, env) as server:
        specialists, workers, others = [], [], []
        admin = AdminHttp(server.url)
        try:
            specialists = await ready_specialists(server.url, list(bench_accounts(4)))
            workers = [asyncio.create_task(take_calls(s, 0.3, log)) for s in specialists]
            [flooder] = await ready_specialists(server.url, ["flooder"], leg=event == "rtc:candidate")
            others.append(flooder)
            call_id = mid = None
            if event == "chat:message":  # chat needs a connected call: the flooder answers one of its own
                [own_caller] = await connected_callers(server.url, 1)
                others.append(own_caller)
                _, ack = await timed_call(lambda: own_caller.request(FLOOD_ITEM, "Flooder's caller"))
                call_id = ack["call_id"]
                await flooder.wait_for("call:connected", timeout=20)
            if flooder.pc is not None:
                mid = flooder.pc.getTransceivers()[0].mid
            await admin.login()
            phases = {}
            progress(f"{event}: phase without a flood")
            phases[QUIET] = await phase(server.url, admin, args.phase_s, None)
            progress(f"{event}: flood")
            flood = Flood(flooder, event, payloads(event, call_id, mid), args.rate)
            phases["flood"] = await phase(server.url, admin, args.phase_s, flood)
            progress(f"{event}: phase after the flood")
            phases[AFTER] = await phase(server.url, admin, args.phase_s, None)
        finally:
            for task in workers:
                task.cancel()
            await admin.close()
            await close_all(specialists + others)
    return {"event": event, "phases": phases, "specialists": log, "logged": print_logged(server)}


def render(args: argparse.Namespace, runs: list[dict]) -> str:
    lines = [
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {machine()}; server: **{args.label}**, "
        f"{args.database}, a fresh one per flood. Each phase {args.phase_s:g} s: callers arrive 2/s (connect, "
        "then `call:request`) for 4 auto-answer specialists (hang up 0.3 s after answer); the flooder socket "
        f"sends {args.rate:g} events/s without waiting for acks; `GET /api/sessions?limit=50` probed 2/s and "
        "`POST /api/login` every 2 s.",
        "",
        f"Command: `python bench/floods.py --floods {args.floods} --rate {args.rate:g} --phase-s {args.phase_s:g} "
        f"--database {args.database} --label \"{args.label}\"`",
        "",
        f"Target: the other callers' `call:request` ack p99 < {TARGET_MS} ms during a flood.",
        "",
        "| flood | phase | callers: acks | connect p50 / p99 ms | ack p50 / p99 ms | ×p50 / ×p99 vs no flood "
        "| login p50 / p99 ms | GET /api/sessions p50 / p99 ms | flood sent → acks | flood ack p50 / p99 ms "
        "| last flood ack after the flood |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        base = summary(run["phases"][QUIET]["ack_ms"])
        for name, p in run["phases"].items():
            ack, login, listing = summary(p["ack_ms"]), summary(p["login_ms"]), summary(p["sessions_ms"])
            connect = summary(p["connect_ms"])
            ratio = (f"{ack['p50'] / base['p50']:.1f} / {ack['p99'] / base['p99']:.1f}"
                     if name != QUIET and ack["n"] and base["n"] else "–")
            flood = p["flood"]
            if flood:
                f_ack = summary(flood.ack_ms)
                drained = "not all within 60 s" if p["drain_ms"] is None else f"{p['drain_ms'] / 1000:.1f} s"
                sent = f"{flood.sent}{' (flooder disconnected)' if flood.disconnected else ''}"
                flood_cells = f"{sent} → {counts(flood.acks)} | {ms(f_ack['p50'])} / {ms(f_ack['p99'])} | {drained}"
            else:
                flood_cells = "– | – | –"
            login_errors = f" ({p['login_errors']} failed)" if p["login_errors"] else ""
            listing_errors = f" ({p['sessions_errors']} failed)" if p["sessions_errors"] else ""
            lines.append(
                f"| {run['event']} | {name} | {counts(p['acks'])} | {ms(connect['p50'])} / {ms(connect['p99'])} "
                f"| {ms(ack['p50'])} / {ms(ack['p99'])} | {ratio} "
                f"| {ms(login['p50'])} / {ms(login['p99'])}{login_errors} | {ms(listing['p50'])} / {ms(listing['p99'])}"
                f"{listing_errors} | {flood_cells} |"
            )
    lines.append("")
    for run in runs:
        lines.append(f"- {run['event']}: specialists' acks: {counts(run['specialists'])}.")
        lines += logged_lines(run["logged"], prefix=f"{run['event']}: ")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = cli(__doc__, database="sqlite")
    parser.add_argument("--floods", default=",".join(FLOODS), help="comma-separated events to flood")
    parser.add_argument("--rate", type=float, default=200, help="flood events per second")
    parser.add_argument("--phase-s", type=float, default=10)
    args = parser.parse_args()
    async def run() -> list[dict]:
        return [await flood_run(args, event) for event in args.floods.split(",")]

    text = render(args, asyncio.run(run()))
    return publish(args, "Floods", text)


if __name__ == "__main__":
    sys.exit(main())
