"""The supervisor monitor in headless Chromium: an administrator listens to and watches a live call.

A headless caller and specialist (signaling.client, each sending video of its
own size) are in a call; on the wallboard the administrator presses
"Monitor" on it, sees both parties' video with their audio, stops, monitors
again, and is told when the call ends.
"""

from __future__ import annotations

import pytest

from signaling.client import Caller, EncodedClip, Specialist

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


async def wait_js(page, expr: str, timeout: float = 15_000):
    await page.wait_for_function(expr, timeout=timeout)


def playing(video_id: str, width: int, frames: int = 5) -> str:
    return (f"() => {{ const v = document.getElementById('{video_id}');"
            f" return v && Number(v.dataset.frames || 0) >= {frames} && v.videoWidth === {width}"
            f" && v.srcObject && v.srcObject.getAudioTracks().length === 1; }}")


async def test_admin_monitors_a_live_call(server, new_page):
    admin = await new_page("/admin")
    await admin.get_by_label("Username", exact=True).fill("admin")
    await admin.get_by_label("Password", exact=True).fill("admin123")
    await admin.get_by_role("button", name="Log in", exact=True).click()
    await admin.locator("#sessions-body").wait_for()
    await admin.get_by_role("link", name="Wallboard", exact=True).click()
    await wait_js(admin, "() => window.vw.statsCount >= 1")

    item = server.get_json("/api/service-items?q=")["items"][0]["code"]
    addr = ["127.0.0.1"]
    spec = Specialist(server.base_url, username="demo", password="demo123", media_addresses=addr,
                      clip=EncodedClip(width=320, height=240, bitrate=200_000, seconds=2, gop=30))
    caller = Caller(server.base_url, media_addresses=addr,
                    clip=EncodedClip(width=160, height=120, bitrate=100_000, seconds=2, gop=30))
    try:
        await spec.connect()
        await spec.open_leg()
        await spec.set_state("ready", auto_answer=True)
        await caller.connect()
        await caller.open_leg()
        ack = await caller.request(item, "Monitored Caller", company="Monitor Test Co")
        call_id = ack["call_id"]
        await caller.wait_media(3, 3, timeout=20)

        row = admin.locator(f'#wb-calls tr[data-call-id="{call_id}"]')
        await row.wait_for()
        assert "Monitored Caller" in await row.text_content()
        await row.get_by_role("button", name="Monitor", exact=True).click()
        await wait_js(admin, playing("monitor-caller", 160))
        await wait_js(admin, playing("monitor-specialist", 320))
        assert "They cannot hear or see you" in await admin.locator("#monitor-status").text_content()
        await row.get_by_text("Monitoring", exact=True).wait_for()  # the row says who is being watched
        # The parties keep their call (the server logs who listened).
        received = caller.received["video"]
        await caller.wait_media(received + 10, 3)

        await admin.get_by_role("button", name="Stop monitoring", exact=True).click()
        await admin.locator("#monitor-status").filter(has_text="Monitoring stopped.").wait_for()
        session = server.get_json(f"/api/sessions/{call_id}", server.login("admin", "admin123"))
        types = [e["type"] for e in session["events"]]
        assert types.count("monitor_started") == 1 and types.count("monitor_stopped") == 1

        # zh-CN: the same button, translated.
        await admin.locator("#lang-switch").click()
        await row.get_by_role("button", name="监听", exact=True).wait_for()
        await admin.locator("#lang-switch").click()

        await row.get_by_role("button", name="Monitor", exact=True).click()
        await wait_js(admin, playing("monitor-specialist", 320))
        await caller.hangup(call_id)
        await admin.locator("#monitor-status").filter(has_text="The call has ended.").wait_for()
        await admin.locator(f'#wb-calls tr[data-call-id="{call_id}"]').wait_for(state="detached")
        # Leave `demo` ready, not in wrap-up, for the next browser test (the server is shared).
        await spec.wait_for("call:ended", timeout=15, predicate=lambda e: e.get("call_id") == call_id)
        assert (await spec.wrapup(call_id))["ok"]
    finally:
        await caller.close()
        await spec.close()
