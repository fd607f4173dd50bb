"""The impairment benchmark's harness runs one scenario end to end (bench/impairment.py, bench/netem.py).

Not a benchmark: it checks that the parts fit (a camera-sending caller, the specialist's impaired
downlink, the figures), not what they measure.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import impairment  # noqa: E402  (bench/impairment.py)
from netem import Impairment, ice_connection  # noqa: E402


async def test_one_capped_scenario_runs_and_the_cap_holds(server):
    spec = await impairment.signed_in(server.url, "demo", impairment.Specialist, password="demo123")
    try:
        watch = impairment.Watch(spec)
        imp = Impairment(ice_connection(spec.pc), seed=1)
        scenario = impairment.Scenario("100 kbps cap", {"rate_kbps": 100, "queue_ms": 150})
        args = argparse.Namespace(pre=2.0, impaired=3.0, post=2.0, seed=1)
        found = await impairment.run_scenario(server.url, scenario, spec, watch, imp, args)
    finally:
        await spec.close()
    assert found["video_sent"] > 0 and found["audio_delivered"] is not None
    assert found["fps_clean"] > 0  # the camera reached the specialist before the cap
    # A bottleneck passes no more than its rate (plus what its queue held, and one packet, at the end).
    assert 0 < found["delivered_kbps"] <= 100 * (args.impaired + 0.15 + 0.1) / args.impaired
    assert found["offered_kbps"] >= found["delivered_kbps"]
    assert set(found) >= {"frozen_s", "recovery_s", "rtx_share", "dropped_share", "delay_after_ms"}
