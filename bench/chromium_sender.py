"""The impairment benchmark with a Chromium caller sending (bench/impairment.py --chromium-sender).

aiortc's VP8 encoder cannot go below 250 kbit/s, so under a 300 kbit/s cap (with aiortc's 96 kbit/s
stereo Opus) the server must pause video; a browser's encoder goes far lower and its Opus is
about 40 kbit/s. Here the caller is bench/caller.html in Chromium, on the site's own leg code,
sending bench/camera.py's picture through Chromium's fake capture (a .y4m file it plays in a
loop) and Chromium's own tone; the receiver is the aiortc specialist, its UDP impaired with
bench/netem.py as in the aiortc runs. What the caller sent is Chromium's own getStats().
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from camera import write_y4m
from chromium_receiver import open_bench_page

PAGE = Path(__file__).with_name("caller.html")


def camera_file() -> Path:
    """bench/camera.py's picture as a .y4m file (written once per run)."""
    return write_y4m(Path(tempfile.mkdtemp(prefix="vw-camera-")) / "camera.y4m")


class ChromiumCaller:
    """bench/caller.html in a fresh browser context, its leg open; a timeline's sender (`sent`, `target`)."""

    def __init__(self, browser: Any, url: str) -> None:
        self.browser = browser
        self.url = url
        self.context: Any = None
        self.page: Any = None

    async def open(self, service_item: str) -> None:
        self.context, self.page = await open_bench_page(self.browser, self.url, PAGE, f"item={service_item}")

    async def call(self) -> str:
        call_id = await self.page.evaluate("window.bench.call()")
        await self.page.wait_for_function("window.bench.connected", timeout=20_000)
        return call_id

    async def hangup(self) -> None:
        await self.page.evaluate("window.bench.hangup()")

    async def sent(self) -> dict[str, int]:
        """Audio packets (one Opus frame each) and video frames encoded so far."""
        stats = await self.page.evaluate("window.bench.stats()")
        return {"audio": (stats.get("audio") or {}).get("packetsSent") or 0,
                "video": (stats.get("video") or {}).get("framesEncoded") or 0}

    async def target(self) -> int | None:
        """Chromium's video encoder target (outbound-rtp targetBitrate), bit/s."""
        stats = await self.page.evaluate("window.bench.stats()")
        target = (stats.get("video") or {}).get("targetBitrate")
        return int(target) if target else None

    async def close(self) -> None:
        if self.context is not None:
            await self.context.close()
