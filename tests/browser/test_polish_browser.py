"""What a caller and a specialist notice on the pages (issue 12): the camera and microphone only
while they are needed, human error messages, the cancel wording, the phone screen, the
console's offer card and call controls, and "Camera off" instead of a black box.

The other party is a headless Specialist (signaling/client.py) where one is enough: liu.yang,
whom no other browser test uses, with the identity-documents items only liu.yang and demo take.
The console tests sign in wang.fang (tax items). Each test leaves its specialist offline with
wrap-up finished: the browser server is shared by the whole session.
"""

from __future__ import annotations

import asyncio
import contextlib
import re

import pytest

from signaling.client import Specialist
from test_call_browser import wait_for_decoding

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

ID_ITEM = "ID-001"      # liu.yang answers these
QUEUED_ITEM = "ID-002"  # nobody is ready for it in the cancel test
TAX_ITEM = "TX-001"     # wang.fang's console
CREDIT = "91350100M000100Y43"
PHONE = "021-6000 1234"

# Counts getUserMedia calls and keeps every track it handed out, before any page script runs.
COUNT_MEDIA = """(() => {
  const md = navigator.mediaDevices;
  if (!md || !md.getUserMedia) return;
  const real = md.getUserMedia.bind(md);
  window.__media = { calls: 0, tracks: [] };
  md.getUserMedia = async (constraints) => {
    window.__media.calls += 1;
    const stream = await real(constraints);
    window.__media.tracks.push(...stream.getTracks());
    return stream;
  };
})();"""

RELEASED = """() => ({
  states: window.__media.tracks.map((t) => t.readyState),
  selfView: !!document.getElementById('self-video').srcObject,
})"""


def button(page, name):
    return page.get_by_role("button", name=name, exact=True)


async def caller_page(new_page, *, viewport=None):
    """The caller page, reloaded with the getUserMedia counter in place."""
    page = await new_page("/")
    if viewport:
        await page.set_viewport_size(viewport)
    await page.context.add_init_script(COUNT_MEDIA)
    await page.reload()
    await page.wait_for_function("() => window.vw && window.__media && window.vw.socket && window.vw.socket.connected")
    return page


async def fill_form(page, code, name):
    await page.get_by_label("Service", exact=True).fill(code)
    await page.get_by_role("radio", name=re.compile(re.escape(code))).first.check()
    await page.get_by_label("Name", exact=True).fill(name)


@contextlib.asynccontextmanager
async def headless_specialist(server, username="liu.yang"):
    """A ready, auto-answering specialist with a leg; offline (wrap-up finished) afterwards."""
    spec = Specialist(server.base_url, username=username, password="demo123", media_addresses=["127.0.0.1"])
    await spec.connect()
    await spec.open_leg()
    assert (await spec.set_state("ready", auto_answer=True))["ok"]
    try:
        yield spec
    finally:
        with contextlib.suppress(Exception):
            ended = await spec.wait_for("call:ended", timeout=0.5)
            await spec.wrapup(ended["call_id"], disposition="resolved", difficulty=1)
        await spec.set_state("offline")
        await spec.close()


async def wait_released(page):
    """Every track getUserMedia handed out has ended and the self-view is empty."""
    await page.wait_for_function(
        "() => window.__media.tracks.length > 0 && window.__media.tracks.every((t) => t.readyState === 'ended')"
        " && !document.getElementById('self-video').srcObject", timeout=15_000)
    released = await page.evaluate(RELEASED)
    assert set(released["states"]) == {"ended"} and not released["selfView"], released


async def test_caller_devices_open_at_the_device_check_and_are_released_after_every_call(server, new_page):
    caller = await caller_page(new_page)
    # The page says why it will ask, and asks nothing before the device check.
    why = caller.locator("#device-why")
    assert "see and hear you" in await why.text_content()
    assert "nothing is recorded" in await why.text_content()
    await button(caller, "Turn on camera and microphone").wait_for(state="visible")
    await caller.get_by_role("radio").first.wait_for()
    await asyncio.sleep(1.5)  # the catalog is in and the socket connected: still nothing opened
    assert await caller.evaluate("() => window.__media.calls") == 0
    assert await caller.evaluate("() => !document.getElementById('self-video').srcObject")
    await caller.locator("#self-off").wait_for(state="visible")

    await fill_form(caller, ID_ITEM, "Device Tester")  # step 3 reached: the device check opens them
    await caller.wait_for_function("() => window.__media.calls >= 1 && window.vw.legState === 'connected'",
                                   timeout=20_000)
    assert await caller.evaluate("() => window.__media.tracks.every((t) => t.readyState === 'live')")
    await caller.locator("#self-off").wait_for(state="hidden")

    async with headless_specialist(server) as spec:
        # 1) the caller hangs up
        await button(caller, "Call").click()
        await caller.wait_for_function("() => window.vw.state === 'connected'", timeout=20_000)
        await button(caller, "Hang up").click()
        await caller.wait_for_function("() => window.vw.state === 'ended'")
        await wait_released(caller)
        await caller.locator("#self-off").wait_for(state="visible")
        first = await spec.wait_for("call:ended", timeout=10)
        assert (await spec.wrapup(first["call_id"], disposition="resolved", difficulty=1))["ok"]
        # Rated: still released.
        await caller.get_by_role("radio", name=re.compile(r"^5")).check()
        await button(caller, "Submit rating").click()
        await caller.locator("#rate-thanks").wait_for(state="visible")
        assert set((await caller.evaluate(RELEASED))["states"]) == {"ended"}

        # 2) a new call opens them again; the specialist ends it
        calls = await caller.evaluate("() => window.__media.calls")
        await button(caller, "New call").click()
        await caller.wait_for_function(f"() => window.__media.calls > {calls} && window.vw.legState === 'connected'",
                                       timeout=20_000)
        assert await caller.evaluate("() => !!document.getElementById('self-video').srcObject")
        await button(caller, "Call").click()
        await caller.wait_for_function("() => window.vw.state === 'connected'", timeout=20_000)
        call_id = await caller.evaluate("() => window.vw.callId")
        await spec.wait_for("call:connected", timeout=10, predicate=lambda m: m.get("call_id") == call_id)
        assert (await spec.hangup(call_id))["ok"]
        await caller.wait_for_function("() => window.vw.state === 'ended'")
        assert await caller.locator("#end-reason").text_content() == "The specialist ended the session."
        await wait_released(caller)


async def test_cancelling_while_queued_says_so_and_releases_the_devices(server, new_page):
    caller = await caller_page(new_page)
    await fill_form(caller, QUEUED_ITEM, "Cancel Tester")
    await button(caller, "Call").click()  # straight away: the call opens the devices itself
    await caller.wait_for_function("() => window.vw.state === 'queued'", timeout=20_000)
    assert await caller.evaluate("() => window.__media.calls") >= 1
    await button(caller, "Cancel").click()
    await caller.wait_for_function("() => window.vw.state === 'ended'")
    assert await caller.locator("#end-reason").text_content() == "You cancelled the request."
    await wait_released(caller)


@pytest.mark.parametrize("path", ["/console", "/admin"])
async def test_a_failed_login_says_so_in_words_and_empties_the_password(new_page, path):
    page = await new_page(path)
    await page.get_by_label("Username", exact=True).fill("nobody.here")  # no account: nobody's limits
    await page.get_by_label("Password", exact=True).fill("not-the-password")
    await button(page, "Log in").click()
    alert = page.get_by_role("alert")
    await alert.wait_for(state="visible")
    text = await page.locator("#error-text").text_content()
    assert "Wrong username or password" in text
    assert "(" not in text and "invalid_credentials" not in text, text
    assert await alert.get_attribute("data-code") == "invalid_credentials"  # for support
    assert await page.get_by_label("Password", exact=True).input_value() == ""

    await button(page, "中文").click()
    await button(page, "登录").click()  # an empty password is refused by the form itself
    await page.get_by_label("密码", exact=True).fill("still-wrong")
    await button(page, "登录").click()
    await page.locator("#error-text").filter(has_text="用户名或密码错误").wait_for()
    assert await page.get_by_label("密码", exact=True).input_value() == ""
    await button(page, "English").click()


async def test_phone_screen_video_on_screen_and_ratings_keep_their_words(server, new_page):
    caller = await caller_page(new_page, viewport={"width": 390, "height": 844})
    await fill_form(caller, ID_ITEM, "Phone Tester")
    async with headless_specialist(server):
        await button(caller, "Call").click()  # scrolled into view, far down the page
        await caller.wait_for_function("() => window.vw.state === 'connected'", timeout=20_000)
        await caller.wait_for_function(
            "() => { const r = document.getElementById('remote-video').getBoundingClientRect();"
            " return r.height > 0 && r.top >= 0 && r.top < window.innerHeight; }", timeout=15_000)
        box = await caller.locator("#remote-video").bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] / 2 <= 844, box  # its top, and most of it, on screen
        await wait_for_decoding(caller, "caller on a phone")

        await button(caller, "Hang up").click()
        await caller.wait_for_function("() => window.vw.state === 'ended'")
    words = ["Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied"]
    for n, word in enumerate(words, start=1):
        radio = caller.get_by_role("radio", name=re.compile(rf"^{n}\s*{word}$"))
        await radio.wait_for(state="attached")
        label = caller.locator("label.star").nth(n - 1)
        small = label.locator("small")
        await small.scroll_into_view_if_needed()
        assert await small.is_visible() and await small.text_content() == word
        fits = await small.evaluate(
            "(el) => { const r = el.getBoundingClientRect(), l = el.closest('label').getBoundingClientRect();"
            " return r.width >= 20 && el.scrollWidth <= Math.ceil(r.width) && r.left >= l.left && r.right <= l.right + 0.5"
            " && r.right <= window.innerWidth; }")
        assert fits, f"the words of rating {n} are clipped"
    overflow = await caller.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the phone"


async def assert_one_line(locator):
    """The element's text is one unbroken line that fits its box."""
    box = await locator.evaluate(
        "(el) => { const s = getComputedStyle(el); const line = parseFloat(s.lineHeight) || parseFloat(s.fontSize) * 1.6;"
        " return { nowrap: s.whiteSpace === 'nowrap', height: el.getBoundingClientRect().height, line,"
        " fits: el.scrollWidth <= el.clientWidth + 1 }; }")
    assert box["nowrap"] and box["height"] < box["line"] * 1.5 and box["fits"], box


async def console_signed_in(new_page, username="wang.fang"):
    console = await new_page("/console")
    await console.set_viewport_size({"width": 1366, "height": 860})
    await console.get_by_label("Username", exact=True).fill(username)
    await console.get_by_label("Password", exact=True).fill("demo123")
    await button(console, "Log in").click()
    auto = console.get_by_label("Auto-answer", exact=True)
    await auto.wait_for()
    if await auto.is_checked():
        await auto.uncheck()
    await button(console, "Ready").click()
    await console.wait_for_function("() => window.vw.state === 'ready' && window.vw.legState === 'connected'",
                                    timeout=20_000)
    return console


async def test_console_offer_card_controls_row_and_camera_off(server, new_page):
    console = await console_signed_in(new_page)
    caller = await caller_page(new_page)
    await fill_form(caller, TAX_ITEM, "Camera Tester")
    await caller.get_by_label("Unified social credit code", exact=True).fill(CREDIT)
    await caller.get_by_label("Phone", exact=True).fill(PHONE)
    await caller.wait_for_function("() => window.vw.legState === 'connected'", timeout=20_000)
    await button(caller, "Call").click()
    try:
        # --- the offer card: the phone, and the credit code on one line
        accept = button(console, "Accept")
        await accept.wait_for(state="visible")
        assert await console.locator("#offer-phone").text_content() == PHONE
        assert await console.locator("#offer-credit").text_content() == CREDIT
        await assert_one_line(console.locator("#offer-credit"))

        # --- in the call at 1366 px: Hang up on the controls' row
        await accept.click()
        await button(console, "Hang up").wait_for(state="visible")
        await wait_for_decoding(console, "console")
        tops = await console.evaluate(
            "() => [...document.querySelectorAll('#call-card .controls-bar button')].filter((b) => !b.hidden)"
            ".map((b) => Math.round(b.getBoundingClientRect().top))")
        assert len(tops) == 6 and len(set(tops)) == 1, tops  # Mute, Camera, Hold, Transfer, Invite, Hang up
        await assert_one_line(console.locator("#call-credit"))
        camera_off = console.locator("#camera-off")
        assert await camera_off.is_hidden()

        # --- the caller turns the camera off (black frames), on again, then it stops altogether
        await button(caller, "Camera").click()
        await camera_off.wait_for(state="visible", timeout=15_000)
        assert "Camera off" in await camera_off.text_content()
        assert await console.get_by_role("status").filter(has_text="Camera off").count() == 1
        await button(console, "中文").click()
        await camera_off.filter(has_text="摄像头已关闭").wait_for()
        await button(console, "English").click()
        await button(caller, "Camera").click()
        await camera_off.wait_for(state="hidden", timeout=15_000)
        await caller.evaluate("() => window.vw.localStream.getVideoTracks()[0].stop()")
        await camera_off.wait_for(state="visible", timeout=15_000)

        await button(caller, "Hang up").click()
        await caller.wait_for_function("() => window.vw.state === 'ended'")
        await wait_released(caller)
    finally:
        finish = button(console, "Finish wrap-up")
        with contextlib.suppress(Exception):
            await finish.wait_for(state="visible", timeout=15_000)
            await finish.click()
            await console.wait_for_function("() => window.vw.state === 'ready'", timeout=15_000)
        await button(console, "Log out").click()  # offline, so no later test's caller rings here
        await console.get_by_label("Username", exact=True).wait_for()
