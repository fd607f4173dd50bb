"""The caller page and the specialist console, feature by feature, in headless Chromium.

Everything runs against the real server (conftest: `serve --demo` as a
subprocess) with fake camera and microphone. Controls are found by role and
English accessible name, as assistive technology would.
"""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from test_call_browser import wait_for_decoding

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

VALID_CREDIT = "91350100M000100Y43"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2b1f3"
    "d60000000049454e44ae426082"
)


def button(page, name):
    return page.get_by_role("button", name=name, exact=True)


async def console_login(new_page, username, *, auto_answer=False):
    page = await new_page("/console")
    await page.get_by_label("Username", exact=True).fill(username)
    await page.get_by_label("Password", exact=True).fill("demo123")
    await button(page, "Log in").click()
    auto = page.get_by_label("Auto-answer", exact=True)
    await auto.wait_for()
    if await auto.is_checked() != auto_answer:
        await auto.set_checked(auto_answer)
    await button(page, "Ready").click()
    await page.wait_for_function("() => window.vw && window.vw.state === 'ready'")
    await page.wait_for_function("() => window.vw.legState === 'connected'", timeout=20_000)
    return page


async def caller_call(new_page, code, *, name="Tester Wang", company="Window Test Co., Ltd."):
    page = await new_page("/")
    await page.get_by_label("Service", exact=True).fill(code)
    await page.get_by_role("radio", name=re.compile(re.escape(code))).first.check()
    await page.get_by_label("Company", exact=True).fill(company)
    await page.get_by_label("Unified social credit code", exact=True).fill(VALID_CREDIT)
    await page.get_by_label("Name", exact=True).fill(name)
    await page.get_by_label("Phone", exact=True).fill("021-6000 1234")
    await page.wait_for_function("() => window.vw && window.vw.legState === 'connected'", timeout=20_000)
    await button(page, "Call").click()
    await page.wait_for_function("() => window.vw.callId")
    return page


async def frames_of(page, video_id):
    return await page.evaluate(f"() => Number(document.getElementById('{video_id}').dataset.frames || 0)")


async def wait_frames_grow(page, video_id, label, by=3, timeout_s=20.0):
    deadline = time.monotonic() + timeout_s
    start = await frames_of(page, video_id)
    while time.monotonic() < deadline:
        if await frames_of(page, video_id) >= start + by:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{label}: #{video_id} is not decoding (frames stayed near {start})")


async def test_full_call_chat_documents_screen_hold_reload_rating(server, new_page, tmp_path):
    console = await console_login(new_page, "demo")

    # --- the caller browses by category, checks the credit code, calls
    caller = await new_page("/")
    await caller.get_by_label("Category", exact=True).select_option("tax")
    await caller.get_by_label("Level", exact=True).select_option("municipal")
    radios = caller.get_by_role("radio")
    await radios.first.wait_for()
    codes = await caller.locator('input[name="service-item"]').evaluate_all("els => els.map(e => e.value)")
    assert codes and all(c.startswith("TX-") for c in codes), codes
    await caller.get_by_label("Category", exact=True).select_option("")
    await caller.get_by_label("Level", exact=True).select_option("")
    await caller.get_by_label("Service", exact=True).fill("social insurance accounts")
    await caller.get_by_role("radio", name=re.compile("SI-001")).check()

    credit = caller.get_by_label("Unified social credit code", exact=True)
    await credit.fill("91350100M000100Y44")  # wrong check character
    await credit.blur()
    assert await credit.get_attribute("aria-invalid") == "true"
    assert "does not match" in await caller.locator("#credit-error").text_content()
    await credit.fill(VALID_CREDIT.lower())
    await credit.blur()
    assert await credit.get_attribute("aria-invalid") == "false"
    await caller.get_by_label("Company", exact=True).fill("Window Test Co., Ltd.")
    await caller.get_by_label("Name", exact=True).fill("Tester Zhao")
    await caller.get_by_label("Phone", exact=True).fill("13800138000")

    # device check: cameras and microphones listed, level meter moving (fake mic beeps)
    assert await caller.get_by_label("Camera", exact=True).locator("option").count() >= 1
    assert await caller.get_by_label("Microphone", exact=True).locator("option").count() >= 1
    await caller.get_by_label("Name", exact=True).click()  # a user gesture lets WebAudio run
    await caller.wait_for_function("() => Number(document.getElementById('mic-level').getAttribute('aria-valuenow')) > 0")
    await caller.wait_for_function("() => window.vw.legState === 'connected'", timeout=20_000)
    await button(caller, "Call").click()
    await caller.wait_for_function("() => window.vw.state === 'queued' || window.vw.state === 'connected'")
    call_id = await caller.evaluate("() => window.vw.callId")

    # --- the offer card, with a ring tone, then Accept by keyboard shortcut
    accept = button(console, "Accept")
    await accept.wait_for(state="visible")
    assert await console.locator("#offer-caller").text_content() == "Tester Zhao"
    assert await console.locator("#offer-credit").text_content() == VALID_CREDIT
    assert "Window Test" in await console.locator("#offer-company").text_content()
    assert "ring" in await console.evaluate("() => window.vw.tones")
    await console.keyboard.press("Alt+a")
    await caller.wait_for_function("() => window.vw.state === 'connected'")
    await button(console, "Hang up").wait_for(state="visible")
    await wait_for_decoding(caller, "caller page")
    await wait_for_decoding(console, "console")

    # --- in-call controls by role and name
    for name in ("Mute", "Camera", "Share screen", "Hang up", "Send"):
        await button(caller, name).wait_for(state="visible")
    for name in ("Mute", "Hold", "Transfer", "Hang up", "Send"):
        await button(console, name).wait_for(state="visible")
    await button(caller, "Mute").click()
    assert await button(caller, "Mute").get_attribute("aria-pressed") == "true"
    await button(caller, "Mute").click()
    await console.keyboard.press("Alt+m")
    assert await button(console, "Mute").get_attribute("aria-pressed") == "true"
    await console.keyboard.press("Alt+m")

    # --- chat both ways
    await caller.get_by_label("Message", exact=True).fill("Hello, I need to open accounts for 3 employees.")
    await button(caller, "Send").click()
    await console.locator("#chat-log").get_by_text("3 employees").wait_for()
    await console.get_by_label("Message", exact=True).fill("Please send your business licence.")
    await console.get_by_label("Message", exact=True).press("Enter")
    await caller.locator("#chat-log").get_by_text("business licence").wait_for()

    # --- a document sent by the caller, received by the console and downloadable
    licence = tmp_path / "licence.png"
    licence.write_bytes(PNG)
    async with caller.expect_file_chooser() as chooser:
        await button(caller, "Attach file").click()
    await (await chooser.value).set_files(str(licence))
    doc = console.locator("#chat-log li.chat-doc", has_text="licence.png")
    await doc.wait_for()
    async with console.expect_download() as download:
        await doc.get_by_role("button", name="Download licence.png", exact=True).click()
    saved = tmp_path / "downloaded.png"
    await (await download.value).save_as(saved)
    assert saved.read_bytes() == PNG
    await caller.locator("#chat-log li.chat-doc", has_text="licence.png").wait_for()

    # --- screen share: a 3rd m-line added by renegotiating the caller's leg
    await button(caller, "Share screen").click()
    await caller.wait_for_function("() => window.vw.sharing === true")
    assert await button(caller, "Share screen").get_attribute("aria-pressed") == "true"
    await console.locator("#screen-wrap").wait_for(state="visible")
    await console.wait_for_function(
        "() => { const v = document.getElementById('screen-video'); return v.videoWidth > 0 && Number(v.dataset.frames) > 0; }",
        timeout=20_000,
    )
    await button(caller, "Share screen").click()
    await console.locator("#screen-wrap").wait_for(state="hidden")

    # --- hold: the caller sees a hold screen and media pauses; resume restores it
    await button(console, "Hold").click()
    await caller.locator("#hold-overlay").wait_for(state="visible")
    assert await button(console, "Hold").get_attribute("aria-pressed") == "true"
    await asyncio.sleep(1.0)
    before = await frames_of(caller, "remote-video")
    await asyncio.sleep(1.5)
    assert await frames_of(caller, "remote-video") <= before + 2, "media still flowing while on hold"
    await console.keyboard.press("Alt+o")
    await caller.locator("#hold-overlay").wait_for(state="hidden")
    await wait_frames_grow(caller, "remote-video", "caller after resume")

    # --- reload during the call resumes the same session, with its chat history
    await caller.reload()
    await caller.wait_for_function("() => window.vw && window.vw.state === 'connected'", timeout=20_000)
    assert await caller.evaluate("() => window.vw.callId") == call_id
    await caller.locator("#chat-log").get_by_text("business licence").wait_for()
    await caller.locator("#chat-log li.chat-doc", has_text="licence.png").wait_for()
    await wait_frames_grow(caller, "remote-video", "caller after reload", by=5)
    await wait_frames_grow(console, "remote-video", "console after the caller's reload", by=5)

    # --- the specialist hangs up (keyboard), wraps up; the caller rates
    await console.keyboard.press("Alt+h")
    await caller.wait_for_function("() => window.vw.state === 'ended'")
    # The ended screen gives the session's short reference, the one in the log.
    ended_reference = await caller.locator("#ended-panel .session-no").text_content()
    await caller.get_by_role("radio", name=re.compile(r"^4")).check()
    await caller.get_by_label("Comment (optional)", exact=True).fill("Quick and clear.")
    await button(caller, "Submit rating").click()
    await caller.locator("#rate-thanks").wait_for(state="visible")

    finish = button(console, "Finish wrap-up")
    await finish.wait_for(state="visible")
    assert re.match(r"^\d+:\d\d$", (await console.locator("#wrapup-timer").text_content()).strip())
    await console.get_by_label("Notes", exact=True).fill("Accounts opened.")
    await console.get_by_label("Disposition", exact=True).select_option("resolved")
    await console.get_by_label("Difficulty", exact=True).select_option("3")
    await finish.click()
    await console.wait_for_function("() => window.vw.state === 'ready'")
    await console.wait_for_function("() => window.vw.day && window.vw.day.answered >= 1 && window.vw.day.score !== null")
    assert (await console.locator("#day-answered").text_content()).strip() != "—"

    token = server.login("admin", "admin123")
    session = server.get_json(f"/api/sessions/{call_id}", token)
    assert session["reference"] == ended_reference
    assert session["outcome"] == "answered" and session["satisfaction"] == 4
    assert session["caller"]["credit_code"] == VALID_CREDIT
    types = [e["type"] for e in session["events"]]
    for expected in ("chat", "document", "screen_share", "hold", "resume", "resumed", "rated", "wrap_up"):
        assert expected in types, (expected, types)
    documents = server.get_json(f"/api/sessions/{call_id}/documents", token)["items"]
    assert [d["name"] for d in documents] == ["licence.png"]


async def test_transfer_to_another_specialists_console(server, new_page):
    first = await console_login(new_page, "zhang.wei")
    second = await console_login(new_page, "chen.jing")
    # Only the first is ready for the caller: the second goes away until the transfer.
    await button(second, "Away").click()
    await second.wait_for_function("() => window.vw.state === 'away'")
    caller = await caller_call(new_page, "SI-002", name="Tester Qian")
    old_id = await caller.evaluate("() => window.vw.callId")
    await button(first, "Accept").click()
    await caller.wait_for_function("() => window.vw.state === 'connected'")
    await button(second, "Ready").click()
    await second.wait_for_function("() => window.vw.state === 'ready'")
    # The caller keeps a short reference, on one line, instead of the 32-character id.
    reference = await caller.locator("#call-panel .session-no").text_content()
    assert re.fullmatch(r"XH-\d{8}-\d{4}", reference) and len(reference) <= 20, reference
    assert await caller.locator("#call-panel .session-no").evaluate(
        "el => { const r = document.createRange(); r.selectNodeContents(el); return r.getClientRects().length; }") == 1
    await caller.get_by_label("Message", exact=True).fill("I also need my pension records moved.")
    await button(caller, "Send").click()
    await first.locator("#chat").get_by_text("I also need my pension records moved.").wait_for()

    await button(first, "Transfer").click()
    dialog = first.get_by_role("dialog")
    await dialog.get_by_label("A named specialist").check()
    await dialog.get_by_label("Specialist", exact=True).select_option("chen.jing")
    await dialog.get_by_label("Note for the next specialist", exact=True).fill("Pension transfer between cities")
    await dialog.get_by_role("button", name="Transfer now", exact=True).click()

    # The caller waits for the new specialist with a new session number.
    await caller.wait_for_function(f"() => window.vw.callId && window.vw.callId !== '{old_id}'")
    await caller.locator("#transfer-note").wait_for(state="visible")
    new_id = await caller.evaluate("() => window.vw.callId")
    await button(first, "Finish wrap-up").wait_for(state="visible")
    assert await first.get_by_label("Disposition", exact=True).input_value() == "referred"

    await button(second, "Accept").wait_for(state="visible")
    assert await second.locator("#offer-caller").text_content() == "Tester Qian"
    said = "Transferred from 张伟: Pension transfer between cities"
    assert await second.locator("#offer-transfer").text_content() == said
    await button(second, "Accept").click()
    await caller.wait_for_function(f"() => window.vw.state === 'connected' && window.vw.callId === '{new_id}'")
    # The receiving specialist sees who transferred it and why, and the chat so far.
    await second.locator("#call-transfer").wait_for(state="visible")
    assert await second.locator("#call-transfer").text_content() == said
    await second.locator("#chat").get_by_text("I also need my pension records moved.").wait_for()
    # The caller still sees the earlier chat, and a new reference.
    assert await caller.locator("#chat").get_by_text("I also need my pension records moved.").count() == 1
    new_reference = await caller.locator("#call-panel .session-no").text_content()
    assert re.fullmatch(r"XH-\d{8}-\d{4}", new_reference) and new_reference != reference
    await wait_for_decoding(second, "second console")
    await wait_frames_grow(caller, "remote-video", "caller after transfer", by=5)

    token = server.login("admin", "admin123")
    old = server.get_json(f"/api/sessions/{old_id}", token)
    new = server.get_json(f"/api/sessions/{new_id}", token)
    assert old["outcome"] == "transferred" and old["specialist"]["username"] == "zhang.wei"
    transfer = next(e for e in old["events"] if e["type"] == "transferred")
    assert transfer["data"]["to_session"] == new_id and transfer["data"]["specialist"] == "chen.jing"
    assert new["transferred_from"] == old_id and new["specialist"]["username"] == "chen.jing"
    assert new["reference"] == new_reference and new["transfer_note"] == "Pension transfer between cities"
    await button(caller, "Hang up").click()
    await caller.wait_for_function("() => window.vw.state === 'ended'")
    for console in (first, second):  # leave both specialists out of wrap-up for the next test
        await button(console, "Finish wrap-up").click()
        await console.wait_for_function("() => window.vw.state === 'ready'")


async def test_queued_reload_language_and_phone_layout(server, new_page):
    # Nobody is ready for legal aid: the caller waits, reloads, keeps its place, cancels.
    caller = await caller_call(new_page, "LA-001", name="Tester Sun")
    await caller.wait_for_function("() => window.vw.state === 'queued'")
    call_id = await caller.evaluate("() => window.vw.callId")
    await caller.locator("#queue-position").filter(has_text=re.compile(r"^\d+$")).wait_for()
    assert await caller.locator("#queue-wait").text_content()
    await caller.reload()
    await caller.wait_for_function("() => window.vw && window.vw.state === 'queued'", timeout=15_000)
    assert await caller.evaluate("() => window.vw.callId") == call_id
    await button(caller, "Cancel").click()
    await caller.wait_for_function("() => window.vw.state === 'ended'")
    token = server.login("admin", "admin123")
    assert server.get_json(f"/api/sessions/{call_id}", token)["outcome"] == "abandoned"

    # Details are remembered for next time.
    await button(caller, "New call").click()
    assert await caller.get_by_label("Name", exact=True).input_value() == "Tester Sun"
    assert await caller.get_by_label("Unified social credit code", exact=True).input_value() == VALID_CREDIT

    # Language: switch to Chinese, remembered across a reload, and back.
    await button(caller, "中文").click()
    await button(caller, "呼叫").wait_for()
    assert await caller.evaluate("() => document.documentElement.lang") == "zh-CN"
    await caller.get_by_label("办理事项", exact=True).wait_for()
    # Remembered in localStorage (the test context itself forces English on every load).
    assert await caller.evaluate("() => localStorage.getItem('vw.lang')") == "zh"
    await button(caller, "English").click()
    await button(caller, "Call").wait_for()

    console = await new_page("/console")
    await button(console, "中文").click()
    await button(console, "登录").wait_for()
    await console.get_by_label("用户名", exact=True).wait_for()
    await button(console, "English").click()
    await button(console, "Log in").wait_for()

    # A phone-sized screen: nothing wider than the viewport, controls reachable.
    await caller.set_viewport_size({"width": 390, "height": 844})
    await caller.reload()
    await caller.get_by_label("Service", exact=True).wait_for()
    overflow = await caller.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a phone screen"

    # Keyboard only: Tab reaches the search box and a service item.
    await caller.get_by_label("Service", exact=True).focus()
    await caller.keyboard.type("SI-003")
    radio = caller.get_by_role("radio", name=re.compile("SI-003"))
    await radio.wait_for()
    await radio.focus()
    await caller.keyboard.press("Space")
    assert await radio.is_checked()
