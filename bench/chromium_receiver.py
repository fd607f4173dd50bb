"""The impairment benchmark with a Chromium specialist receiving (bench/impairment.py --chromium).

Chromium's UDP cannot be wrapped, so the server's side of its link is impaired instead: the server
runs in this process (the real application, `make_app`, on 127.0.0.1), and the aioice connection of
the server's leg to the Chromium specialist is wrapped with bench/netem.py; what the server sends on
it (`outbound`) is Chromium's downlink. The specialist is bench/receiver.html, a page of a few lines
on the site's own leg code (/lib/leg.js), served at the server's origin through a Playwright route.
What it received is Chromium's own getStats(), polled every 0.25 s:

- audio: concealedSamples / totalSamplesReceived (what NetEq had to make up), packets lost, and
  jitterBufferDelay / jitterBufferEmittedCount (the delay the jitter buffer holds audio for);
- video: framesDecoded, freezeCount and totalFreezesDuration (WebRTC's own freeze definition).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from netem import Impairment, Link, ice_connection

CHROMIUM = "/usr/bin/chromium"
# tests/browser/conftest.py's flags, and audio played without a gesture (so NetEq really plays it out).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream", "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
    # The page is served by a Playwright route, which Chromium does not count as local: let it reach 127.0.0.1.
    "--disable-features=LocalNetworkAccessChecks",
]
PAGE = Path(__file__).with_name("receiver.html")
DEMO_SPECIALIST = ("demo", "demo123")  # takes the demo's SI-001


@contextlib.asynccontextmanager
async def in_process_server(adaptation: str) -> AsyncIterator[tuple[str, Any]]:
    """The real application with demo data on 127.0.0.1, in this process: (url, app)."""
    from aiohttp import web

    from signaling.app import make_app
    from signaling.config import Settings
    from harness import free_port

    tmp = Path(tempfile.mkdtemp(prefix="vw-impairment-"))
    port = free_port()
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp / 'vw.db'}", host="127.0.0.1", port=port,
        recordings_dir=tmp / "recordings", secret_key=secrets.token_urlsafe(32), ice_servers=[],
        media_addresses=["127.0.0.1"], demo=True, var_dir=tmp / "var",
    )
    settings.adaptation = adaptation  # VW_ADAPTATION
    app = make_app(settings)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        await runner.cleanup()


async def open_bench_page(browser: Any, url: str, page: Path, fragment: str) -> tuple[Any, Any]:
    """A bench page (`page`, served at the server's origin through a Playwright route) in a fresh
    browser context, once its script says `window.bench.ready`: (context, page)."""
    context = await browser.new_context(base_url=url, permissions=["camera", "microphone"])
    body = page.read_text()
    await context.route(f"**/bench/{page.name}", lambda route: route.fulfill(
        status=200, content_type="text/html", body=body))
    tab = await context.new_page()
    await tab.goto(f"/bench/{page.name}#{fragment}")
    await tab.wait_for_function("window.bench && (window.bench.ready || window.bench.error)", timeout=30_000)
    error = await tab.evaluate("window.bench.error")
    if error:
        await context.close()
        raise RuntimeError(f"{page.name} failed: {error}")
    return context, tab


class ChromiumSpecialist:
    """bench/receiver.html in a fresh browser context, signed in, leg open, ready with auto-answer."""

    def __init__(self, browser: Any, url: str) -> None:
        self.browser = browser
        self.url = url
        self.context: Any = None
        self.page: Any = None

    async def open(self, username: str = DEMO_SPECIALIST[0], password: str = DEMO_SPECIALIST[1]) -> None:
        self.context, self.page = await open_bench_page(self.browser, self.url, PAGE, f"u={username}&p={password}")

    async def stats(self) -> dict[str, Any]:
        return await self.page.evaluate("window.bench.stats()")

    async def wrapped(self) -> int:
        """How many calls the page has wrapped up."""
        return await self.page.evaluate("window.bench.wrapped.length")

    async def wait_wrapped(self, calls: int, timeout: float) -> None:
        await self.page.wait_for_function(f"window.bench.wrapped.length >= {calls}", timeout=timeout * 1000)

    async def wait_frames(self, frames: int, timeout: float) -> None:
        """Until `frames` more video frames than now were decoded."""
        now = ((await self.stats()).get("video") or {}).get("framesDecoded") or 0
        deadline = time.monotonic() + timeout
        while (((await self.stats()).get("video") or {}).get("framesDecoded") or 0) < now + frames:
            if time.monotonic() > deadline:
                raise TimeoutError(f"Chromium decoded fewer than {frames} frames within {timeout} s")
            await asyncio.sleep(0.2)

    async def close(self) -> None:
        if self.context is not None:
            await self.context.close()


class ChromeProbe:
    """Chromium's stats every 0.25 s, stamped with this process's clock; `figures()` as a Watch's."""

    def __init__(self, specialist: ChromiumSpecialist) -> None:
        self.specialist = specialist
        self.series: list[tuple[float, dict[str, Any]]] = []
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._poll())

    async def _poll(self) -> None:
        while True:
            stats = await self.specialist.stats()
            self.series.append((time.monotonic(), stats))
            await asyncio.sleep(0.25)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    def _at(self, t: float) -> tuple[float, dict[str, Any]]:
        """The first sample at or after `t` (else the last)."""
        return next(((at, s) for at, s in self.series if at >= t), self.series[-1])

    def _delta(self, kind: str, key: str, start: float, end: float) -> float:
        (_, a), (_, b) = self._at(start), self._at(end)
        return ((b.get(kind) or {}).get(key) or 0) - ((a.get(kind) or {}).get(key) or 0)

    def _jitter_delay_ms(self, start: float, end: float) -> float | None:
        emitted = self._delta("audio", "jitterBufferEmittedCount", start, end)
        return self._delta("audio", "jitterBufferDelay", start, end) / emitted * 1000 if emitted else None

    def figures(self, phases: dict[str, float], sent: dict[str, int]) -> dict[str, Any]:
        start, impaired, cleared, end = phases["start"], phases["impaired"], phases["cleared"], phases["end"]
        clean_fps = self._delta("video", "framesDecoded", start, impaired) / (impaired - start)
        samples = self._delta("audio", "totalSamplesReceived", impaired, cleared)
        received = self._delta("audio", "packetsReceived", impaired, cleared)
        lost = self._delta("audio", "packetsLost", impaired, cleared)
        clean_delay = self._jitter_delay_ms(start + 1, impaired)
        during, after = self._jitter_delay_ms(impaired, cleared), self._jitter_delay_ms(end - 3, end)
        return {
            "audio_delivered": 1 - self._delta("audio", "concealedSamples", impaired, cleared) / samples if samples else None,
            "audio_packets": received / (received + lost) if received + lost > 0 else None,
            "video_frames": int(self._delta("video", "framesDecoded", impaired, cleared)),
            "fps_clean": clean_fps,
            "fps_impaired": self._delta("video", "framesDecoded", impaired, cleared) / (cleared - impaired),
            "frozen_s": self._delta("video", "totalFreezesDuration", impaired, cleared),
            "freezes": int(self._delta("video", "freezeCount", impaired, cleared)),
            "recovery_s": self._recovery(cleared, end, 0.8 * clean_fps),
            "delay_during_ms": None if during is None or clean_delay is None else during - clean_delay,
            "delay_after_ms": None if after is None or clean_delay is None else after - clean_delay,
        }

    def _recovery(self, since: float, until: float, target_fps: float) -> float | None:
        for at, _ in self.series:
            if since <= at <= until and at - 1.0 >= self.series[0][0]:
                if self._delta("video", "framesDecoded", at - 1.0, at) >= target_fps:
                    return at - since
        return None


def server_link(app: Any) -> tuple[Link, Any]:
    """Chromium's downlink: the outbound side of the server's leg to the (only) specialist, and that leg's pc."""
    from signaling import keys

    legs = [leg for leg in app[keys.ENGINE].media._legs.values()
            if leg.owner.startswith("specialist:") and not leg.closed]
    if len(legs) != 1:
        raise RuntimeError(f"expected one specialist leg on the server, found {len(legs)}")
    connection = ice_connection(legs[0]._pc)
    imp = getattr(connection, "_vw_impairment", None) or Impairment(connection)
    return imp.outbound, legs[0]._pc
