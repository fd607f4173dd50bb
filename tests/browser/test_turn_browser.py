"""Chromium forced to `iceTransportPolicy: "relay"` calls through a real TURN server.

A server of its own (the shared one has no TURN) hands out TURN REST
credentials for a coturn started here in `use-auth-secret` mode, with
VW_ICE_TRANSPORT_POLICY=relay: the caller page builds its peer connection
from `/api/config`, so the only candidates it has are relayed by coturn. A
headless specialist answers. The page's selected candidate pair must be a
relay one, and media must flow both ways.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from test_call_browser import wait_for_decoding

from signaling.client import Specialist

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/coturn.py
from coturn import Coturn  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

SECRET = "vw-browser-turn-secret"

SELECTED_PAIR = """async () => {
  const stats = await window.vw.leg.pc.getStats();
  let pair = null;
  stats.forEach((s) => { if (s.type === "transport" && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId); });
  if (!pair) return null;
  return {
    local: stats.get(pair.localCandidateId).candidateType,
    remote: stats.get(pair.remoteCandidateId).candidateType,
    sent: pair.bytesSent, received: pair.bytesReceived,
  };
}"""


async def test_caller_page_forced_to_relay_calls_through_coturn(browser, own_server, tmp_path):
    turn = Coturn(tmp_path / "coturn", secret=SECRET)
    turn.start()
    spec = None
    try:
        with own_server(VW_TURN_URLS=turn.url, VW_TURN_SECRET=SECRET, VW_ICE_TRANSPORT_POLICY="relay") as srv:
            spec = Specialist(srv.base_url, username="demo", password="demo123", media_addresses=["127.0.0.1"])
            await spec.login()
            await spec.connect()
            await spec.open_leg()
            assert (await spec.set_state("ready", auto_answer=True))["ok"]

            context = await browser.new_context(base_url=srv.base_url, locale="en-US",
                                                permissions=["camera", "microphone"])
            await context.add_init_script("try { localStorage.setItem('vw.lang', 'en'); } catch (e) {}")
            page = await context.new_page()
            page.set_default_timeout(15_000)
            await page.goto("/")
            item = srv.get_json("/api/service-items?q=")["items"][0]
            await page.get_by_label("Service", exact=True).fill(item["code"])
            await page.get_by_role("radio", name=re.compile(re.escape(item["code"]))).first.check()
            await page.get_by_label("Name", exact=True).fill("Relayed Caller")
            await page.wait_for_function("() => window.vw && window.vw.legState === 'connected'", timeout=20_000)
            await page.get_by_role("button", name="Call", exact=True).click()
            await page.wait_for_function("() => window.vw.state === 'connected'")

            await wait_for_decoding(page, "caller page (relayed)")
            await spec.wait_media(min_video_frames=10, min_audio_frames=10)
            pair = await page.evaluate(SELECTED_PAIR)
            assert pair and pair["local"] == "relay", pair
            assert pair["sent"] > 0 and pair["received"] > 0, pair
            assert re.search(r"user <\d+:vw[0-9a-f]{8}>: incoming packet CHANNEL_BIND processed, success", turn.log())

            await page.get_by_role("button", name="Hang up", exact=True).click()
            await page.wait_for_function("() => window.vw.state === 'ended'")
            await context.close()
    finally:
        if spec is not None:
            await spec.close()
        turn.stop()
