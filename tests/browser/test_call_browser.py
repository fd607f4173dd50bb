"""One whole call through the real pages in headless Chromium.

Specialist `demo` logs in to /console and goes Ready (manual answer); a
caller on / picks a service item by searching, fills in Name and calls; the
console accepts; both pages must decode the other's video; the caller hangs
up; the console finishes wrap-up; the administrator finds the session with
its timestamps on /admin.
"""

from __future__ import annotations

import asyncio
import re
import time

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

REMOTE_VIDEO = """() => {
  const v = document.getElementById('remote-video');
  if (!v) return null;
  const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : {totalVideoFrames: 0};
  return {
    frames: Number(v.dataset.frames || 0),
    total: q.totalVideoFrames || 0,
    width: v.videoWidth || 0,
    height: v.videoHeight || 0,
  };
}"""


async def remote_video(page):
    return await page.evaluate(REMOTE_VIDEO)


async def wait_for_decoding(page, label: str, timeout_s: float = 20.0):
    """Wait until the remote <video> shows frames and the count keeps growing."""
    deadline = time.monotonic() + timeout_s
    first = None
    last = None
    while time.monotonic() < deadline:
        last = await remote_video(page)
        if last and last["width"] > 0 and max(last["frames"], last["total"]) > 0:
            if first is None:
                first = last
            elif max(last["frames"], last["total"]) >= max(first["frames"], first["total"]) + 5:
                return first, last
        await asyncio.sleep(0.2)
    raise AssertionError(f"{label}: remote video is not decoding (first={first}, last={last})")


async def test_call_from_caller_page_to_console_and_admin_log(server, new_page):
    items = server.get_json("/api/service-items?q=")["items"]
    assert items, "the demo catalog is empty"
    item = items[0]

    # --- the specialist signs in and goes Ready (manual answer)
    console = await new_page("/console")
    await console.get_by_label("Username", exact=True).fill("demo")
    await console.get_by_label("Password", exact=True).fill("demo123")
    await console.get_by_role("button", name="Log in", exact=True).click()
    auto = console.get_by_label("Auto-answer", exact=True)
    await auto.wait_for()
    if await auto.is_checked():
        await auto.uncheck()
    await console.get_by_role("button", name="Ready", exact=True).click()
    await console.wait_for_function("() => window.vw && window.vw.state === 'ready'")
    # The specialist's leg opens at login.
    await console.wait_for_function("() => window.vw.legState === 'connected'", timeout=15_000)

    # --- the caller picks a service item, fills in the form and calls
    caller = await new_page("/")
    await caller.get_by_label("Service", exact=True).fill(item["code"])
    choice = caller.get_by_role("radio", name=re.compile(re.escape(item["code"])))
    await choice.first.check()
    await caller.get_by_label("Company", exact=True).fill("Browser Test Ltd")
    await caller.get_by_label("Name", exact=True).fill("Tester Li")
    await caller.get_by_label("Phone", exact=True).fill("010-12345678")
    # The caller's leg opens with the device check, before the request.
    await caller.wait_for_function("() => window.vw && window.vw.legState === 'connected'", timeout=15_000)
    call_button = caller.get_by_role("button", name="Call", exact=True)
    await call_button.click()
    await caller.wait_for_function("() => window.vw.callId")
    call_id = await caller.evaluate("() => window.vw.callId")

    # --- the console is offered the session and accepts it
    accept = console.get_by_role("button", name="Accept", exact=True)
    await accept.wait_for(state="visible")
    offered_caller = await console.locator("#offer-caller").text_content()
    assert offered_caller == "Tester Li"
    await accept.click()

    # --- both sides connected, each decoding the other's video
    await caller.wait_for_function("() => window.vw.state === 'connected'")
    await console.get_by_role("button", name="Hang up", exact=True).wait_for(state="visible")
    assert await caller.locator("#specialist-name").text_content()
    first_c, last_c = await wait_for_decoding(caller, "caller page")
    first_s, last_s = await wait_for_decoding(console, "console")
    assert last_c["width"] > 0 and last_s["width"] > 0

    # --- the caller hangs up; the console wraps up
    await caller.get_by_role("button", name="Hang up", exact=True).click()
    await caller.wait_for_function("() => window.vw.state === 'ended'")
    await caller.get_by_role("radio", name=re.compile(r"^5")).check()
    await caller.get_by_role("button", name="Submit rating", exact=True).click()
    await caller.locator("#rate-thanks").wait_for(state="visible")

    finish = console.get_by_role("button", name="Finish wrap-up", exact=True)
    await finish.wait_for(state="visible")
    await console.get_by_label("Notes", exact=True).fill("Explained the documents needed.")
    await console.get_by_label("Disposition", exact=True).select_option("resolved")
    await console.get_by_label("Difficulty", exact=True).select_option("2")
    await finish.click()
    await finish.wait_for(state="hidden")
    await console.wait_for_function("() => window.vw.state === 'ready'")

    # --- the administrator sees the session with its timestamps
    admin = await new_page("/admin")
    await admin.get_by_label("Username", exact=True).fill("admin")
    await admin.get_by_label("Password", exact=True).fill("admin123")
    await admin.get_by_role("button", name="Log in", exact=True).click()
    row = admin.locator(f'#sessions-body tr[data-session-id="{call_id}"]')
    await row.wait_for()
    stamps = await row.locator("time").evaluate_all("els => els.map(e => e.dateTime)")
    assert len(stamps) == 5, stamps  # created, offered, answered, media, ended
    assert all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", s) for s in stamps), stamps
    assert "Tester Li" in await row.text_content()

    # The same through the API: answered, with media and a satisfaction score.
    token = server.login("admin", "admin123")
    session = server.get_json(f"/api/sessions/{call_id}", token)
    assert session["outcome"] == "answered"
    assert session["media_at"] and session["answered_at"] and session["ended_at"]
    assert session["specialist"]["username"] == "demo"
    assert session["ended_by"] == "caller"
    assert session["disposition"] == "resolved"
    assert session["satisfaction"] == 5
