"""Routing core benchmark: decisions per second and decision latency.

1,000 specialists, 1,000 service items (50 categories) and 10,000 waiting
sessions. Each specialist has 5 item skills and one category skill with
random proficiency; queues mix all strategies, priorities and escalation
steps. The workload drives specialists round their cycle (ready → offered →
accept → hang up → wrap-up done → next offer) while new callers arrive, some
abandon, and the clock ticks, keeping about 10,000 sessions waiting.

    python bench/routing.py [--events 200000] [--seed 1] [--no-write]

Prints the figures and (unless --no-write) records them in docs/benchmarks.md
under "## Routing".
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from signaling.routing import EscalationStep, QueueSettings, Router  # noqa: E402
from signaling.routing.settings import STRATEGIES  # noqa: E402

from report import cpu_model  # noqa: E402  (bench/report.py)

SPECIALISTS, ITEMS, CATEGORIES, WAITING = 1000, 1000, 50, 10_000


def build(rng: random.Random) -> tuple[Router, list[str], dict[str, str]]:
    items = [f"IT-{i:04d}" for i in range(ITEMS)]
    category = {item: f"cat{i % CATEGORIES}" for i, item in enumerate(items)}
    queues = []
    for i, item in enumerate(items):
        steps = (EscalationStep(after_s=30, min_proficiency=1), EscalationStep(after_s=60, scope="category", priority=3))
        queues.append(QueueSettings(
            service_item=item,
            strategy=STRATEGIES[i % len(STRATEGIES)] if i % 10 else "ring_all",
            priority=i % 3,
            offer_timeout_s=15,
            wrap_up_s=30,
            min_proficiency=2 if i % 4 == 0 else 1,
            scope="item" if i % 4 == 0 else "category",
            escalation=steps if i % 4 == 0 else (),
        ))
    router = Router(queues=queues)
    router.configure(queues, categories=category)
    for spec in range(SPECIALISTS):
        skills = {rng.choice(items): rng.randint(1, 5) for _ in range(5)}
        skills[f"category:cat{rng.randrange(CATEGORIES)}"] = rng.randint(1, 5)
        router.login(spec, skills, now=0.0)
    return router, items, category


def run(events: int, seed: int) -> dict:
    rng = random.Random(seed)
    router, items, category = build(rng)
    now = 0.0
    calls = 0
    for _ in range(WAITING):  # everybody is away: these all wait
        router.request(f"w{calls}", item := rng.choice(items), category[item], now)
        calls += 1
    assert router.waiting_count() == WAITING
    specs = list(range(SPECIALISTS))
    latencies = []
    decisions = 0
    clock = time.perf_counter_ns
    started = clock()
    for n in range(events):
        now += 0.001
        r = rng.random()
        t0 = clock()
        if r < 0.22:  # a caller arrives
            item = rng.choice(items)
            out = router.request(f"c{calls}", item, category[item], now)
            calls += 1
        elif r < 0.25:  # a waiting caller gives up
            out = router.hangup(f"w{rng.randrange(WAITING)}", now)
        elif r < 0.26:
            out = router.tick(now)
        else:  # one step of a specialist's cycle
            spec = rng.choice(specs)
            state = router.specialist_state(spec)
            if state == "away":
                out = router.set_state(spec, "ready", now)
            elif state == "ringing":
                call = router.specialist_call(spec)
                out = router.accept(spec, call, now) if rng.random() < 0.9 else router.decline(spec, call, now)
            elif state == "busy":
                out = router.hangup(router.specialist_call(spec), now)
            elif state == "wrap_up":
                out = router.wrap_up_done(spec, now)
            else:
                out = router.tick(now)
        latencies.append(clock() - t0)
        decisions += len(out)
    elapsed = (clock() - started) / 1e9
    latencies.sort()
    return {
        "events": events,
        "decisions": decisions,
        "seconds": elapsed,
        "events_per_s": events / elapsed,
        "decisions_per_s": decisions / elapsed,
        "p50_ms": latencies[len(latencies) // 2] / 1e6,
        "p99_ms": latencies[int(len(latencies) * 0.99)] / 1e6,
        "max_ms": latencies[-1] / 1e6,
        "waiting_at_end": router.waiting_count(),
    }


def machine() -> str:
    return f"{os.cpu_count()} CPUs, {cpu_model()}, Python {platform.python_version()}"


def record(result: dict, command: str) -> None:
    path = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
    section = (
        "## Routing\n\n"
        f"Measured {datetime.date.today().isoformat()} on {machine()}, with\n"
        f"`{command}` (the pure routing core, one thread; the machine was shared).\n\n"
        f"Setup: {SPECIALISTS} specialists, {ITEMS} service items in {CATEGORIES} categories, "
        f"{WAITING} waiting sessions (all strategies, priorities, escalation steps in use).\n\n"
        "| figure | value | target |\n|---|---|---|\n"
        f"| events | {result['events']:,} | |\n"
        f"| decisions | {result['decisions']:,} | |\n"
        f"| decisions/s | {result['decisions_per_s']:,.0f} | ≥ 20,000 |\n"
        f"| events/s | {result['events_per_s']:,.0f} | |\n"
        f"| decision latency p50 (per event) | {result['p50_ms']:.3f} ms | |\n"
        f"| decision latency p99 (per event) | {result['p99_ms']:.3f} ms | < 1 ms |\n"
        f"| decision latency max | {result['max_ms']:.3f} ms | |\n"
        f"| sessions waiting at the end | {result['waiting_at_end']:,} | |\n\n"
        "Latency is the time of one router call (one event in, all its decisions out).\n"
    )
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(r"^## Routing\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _m: section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    path.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    result = run(args.events, args.seed)
    for key, value in result.items():
        print(f"{key:16} {value:,.3f}" if isinstance(value, float) else f"{key:16} {value:,}")
    if not args.no_write:
        record(result, ("python bench/routing.py " + " ".join(sys.argv[1:])).strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
