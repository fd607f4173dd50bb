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


def test_the_camera_file_for_a_chromium_caller_is_a_y4m_of_the_same_picture(tmp_path):
    from camera import CameraTrack, write_y4m  # noqa: E402  (bench/camera.py)

    path = write_y4m(tmp_path / "camera.y4m", seconds=0.1, fps=30)
    data = path.read_bytes()
    header, _, frames = data.partition(b"\n")
    assert header == b"YUV4MPEG2 W640 H480 F30:1 Ip A1:1 C420jpeg"
    frame = 640 * 480 * 3 // 2
    assert len(frames) == 3 * (len(b"FRAME\n") + frame)
    first = frames[len(b"FRAME\n"):len(b"FRAME\n") + frame]
    assert first == CameraTrack().picture(0).tobytes()  # what aiortc's encoder is given, frame for frame
