"""The caller's waiting screen when nobody can answer, and the re-queue after the specialist's
console dropped (issue 12, items 3 and 4).

The browser server is shared by the whole session: each test leaves its specialists offline,
queue settings as they were, and nobody waiting. The financing items (FN-00x) are taken only by
wang.fang and demo; wang.fang is a headless Specialist here, offline again at the end.
"""

from __future__ import annotations

import json
import re
import urllib.request

import pytest

from signaling.client import Specialist
from test_console_reload_browser import connected_call

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

NOTICE_ITEM = "FN-005"  # nobody is signed in for it until the test signs wang.fang in
ENDS_ITEM = "FN-004"  # its queue gets a 2 s maximum wait with nobody staffed, then its defaults back
NOBODY = "No specialist for this service is signed in right now."

# Every text the estimate showed, from the first moment (a MutationObserver on #queue-wait).
RECORD_WAITS = """() => {
  window.__waits = [];
  const node = document.getElementById('queue-wait');
  new MutationObserver(() => window.__waits.push(node.textContent))
    .observe(node, { childList: true, characterData: true, subtree: true });
}"""


def button(page, name):
    return page.get_by_role("button", name=name, exact=True)


async def call(new_page, code: str, name: str):
    page = await new_page("/")
    await page.evaluate(RECORD_WAITS)
    await page.get_by_label("Service", exact=True).fill(code)
    await page.get_by_role("radio", name=re.compile(re.escape(code))).first.check()
    await page.get_by_label("Name", exact=True).fill(name)
    await button(page, "Call").click()
    await page.wait_for_function("() => window.vw.state === 'queued'", timeout=15_000)
    return page


async def text(page, selector: str) -> str:
    return (await page.locator(selector).text_content() or "").strip()


def admin(server, method: str, path: str, body: dict | None = None):
    request = urllib.request.Request(
        server.base_url + path, method=method, data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + server.login("admin", "admin123"), "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


async def test_nobody_signed_in_is_said_at_once_and_the_estimate_is_never_now(server, new_page):
    page = await call(new_page, NOTICE_ITEM, "Nobody Tester")
    notice = page.get_by_role("status").filter(has_text=NOBODY)
    await notice.wait_for(state="visible", timeout=10_000)
    assert await text(page, "#queue-wait") == "Not known yet"  # no made-up number
    ends = await text(page, "#nobody-ends")
    assert re.fullmatch(r"If nobody signs in, this request ends in [12]:\d\d\.", ends), ends
    await page.wait_for_function(f"() => document.getElementById('nobody-ends').textContent !== {json.dumps(ends)}",
                                 timeout=10_000)  # it counts down
    await button(page, "Keep waiting").click()
    await page.get_by_text("You keep your place", exact=False).wait_for(state="visible")
    assert not await button(page, "Keep waiting").is_visible()

    spec = Specialist(server.base_url, username="wang.fang", password="demo123", media_addresses=["127.0.0.1"])
    await spec.connect()
    try:
        assert (await spec.set_state("ready"))["ok"]  # no auto-answer: the offer rings
        offered = await spec.wait_for("call:offered", timeout=15)
        await notice.wait_for(state="hidden", timeout=10_000)
        await page.wait_for_function(
            "() => document.getElementById('queue-wait').textContent === 'A specialist is being connected…'",
            timeout=10_000)
        assert (await spec.decline(offered["call_id"]))["ok"]  # back in line: an estimate, not "Now"
        await page.wait_for_function("() => /^≈ \\d+ s$/.test(document.getElementById('queue-wait').textContent)",
                                     timeout=10_000)
        assert (await spec.set_state("away"))["ok"]  # nobody staffed again: said at once, options again
        await notice.wait_for(state="visible", timeout=10_000)
        await button(page, "Keep waiting").wait_for(state="visible")
    finally:
        await spec.close()
    waits = await page.evaluate("() => window.__waits")
    assert waits and "Now" not in waits, waits

    await button(page, "Leave").click()  # the other option the center offers
    await page.wait_for_function("() => window.vw.state === 'ended'", timeout=10_000)
    assert await text(page, "#end-reason") == "You cancelled the request."


async def test_the_default_wait_ends_and_says_why_in_both_languages(server, new_page):
    before = admin(server, "GET", f"/api/queues/{ENDS_ITEM}")
    assert not before["configured"] and before["max_wait_no_agent_s"] == 120  # the center's default
    admin(server, "PUT", f"/api/queues/{ENDS_ITEM}", {"max_wait_no_agent_s": 2})
    try:
        page = await call(new_page, ENDS_ITEM, "Limit Tester")
        await page.wait_for_function("() => window.vw.state === 'ended'", timeout=20_000)
        assert await text(page, "#end-reason") == (
            "No specialist for this service was signed in, so the request ended. Please try again later.")
        assert not await button(page, "Queue again at the front").is_visible()
        await page.locator("#lang-switch").click()
        assert await text(page, "#end-reason") == "此事项没有坐席在线，本次请求已结束，请稍后再试。"
    finally:
        admin(server, "DELETE", f"/api/queues/{ENDS_ITEM}")
    sessions = admin(server, "GET", "/api/sessions?q=Limit%20Tester")["items"]
    assert [(s["outcome"], s["end_reason"]) for s in sessions] == [("missed", "no_specialist")]


async def test_a_call_cut_off_by_the_console_can_wait_again_at_the_front(server, new_page):
    console, first = await connected_call(server, new_page, "Front Tester")
    code = server.get_json("/api/service-items?q=")["items"][0]["code"]
    second = await call(new_page, code, "Behind Tester")  # waits while demo is busy with the first
    seen = set()
    for _ in range(5):  # the estimate counts down while the call runs: not frozen, never "Now"
        seen.add(await text(second, "#queue-wait"))
        await second.wait_for_timeout(1000)
    assert len(seen) > 1 and all(re.fullmatch(r"≈ (\d+ s|\d+:\d\d)", s) for s in seen), seen

    await console.close()  # the console drops and does not come back
    await first.get_by_role("status").filter(has_text="The specialist is reconnecting").wait_for(
        state="visible", timeout=5_000)
    await second.wait_for_function("() => document.getElementById('queue-wait').textContent === 'Not known yet'",
                                   timeout=10_000)  # its specialist takes no next call
    await first.wait_for_function("() => window.vw.state === 'ended'", timeout=40_000)  # the grace ran out
    assert await text(first, "#end-reason") == "The specialist's connection was lost and did not come back."
    old_id = await first.evaluate("() => window.vw.callId")
    await second.get_by_role("status").filter(has_text=NOBODY).wait_for(state="visible", timeout=10_000)

    await button(first, "Queue again at the front").click()
    await first.wait_for_function("() => window.vw.state === 'queued'", timeout=10_000)
    await first.wait_for_function("() => document.getElementById('queue-position').textContent === '1'")
    await second.wait_for_function("() => document.getElementById('queue-position').textContent === '2'")
    new_id = await first.evaluate("() => window.vw.callId")
    assert new_id != old_id

    for page in (first, second):  # leave nobody waiting
        await button(page, "Cancel").click()
        await page.wait_for_function("() => window.vw.state === 'ended'", timeout=10_000)
    token = server.login("admin", "admin123")
    old = server.get_json(f"/api/sessions/{old_id}", token)
    assert old["end_reason"] == "specialist_disconnected"
    assert {"to_session": new_id} in [e["data"] for e in old["events"] if e["type"] == "requeued"]
