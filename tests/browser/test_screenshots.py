"""Screenshots of the key screens in both languages, for README.md and the user guide.

Skipped unless VW_SCREENSHOTS=1 (they overwrite docs/screenshots/*.png):

    VW_SCREENSHOTS=1 python -m pytest tests/browser/test_screenshots.py -q
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from test_call_browser import wait_for_decoding

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(400),
    pytest.mark.skipif(os.environ.get("VW_SCREENSHOTS") != "1", reason="set VW_SCREENSHOTS=1 to refresh docs/screenshots"),
]

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2b1f3"
    "d60000000049454e44ae426082"
)
TEXT = {
    "en": {"switch": None, "call": "Call", "accept": "Accept", "send": "Send", "hangup": "Hang up",
           "hello": "Hello, we would like to open social insurance accounts for three new employees.",
           "reply": "Certainly. Please send a photo of your business licence.", "finish": "Finish wrap-up"},
    "zh": {"switch": "中文", "call": "呼叫", "accept": "接听", "send": "发送", "hangup": "挂断",
           "hello": "您好，我们想为三名新员工办理社保开户。",
           "reply": "好的，请发送营业执照照片。", "finish": "完成话后处理"},
}


async def shot(page, name):
    OUT.mkdir(parents=True, exist_ok=True)
    await page.wait_for_timeout(400)
    await page.screenshot(path=str(OUT / f"{name}.png"))


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_screenshots(server, new_page, tmp_path, lang):
    s = TEXT[lang]
    console = await new_page("/console")
    await console.set_viewport_size({"width": 1366, "height": 860})
    if s["switch"]:
        await console.get_by_role("button", name=s["switch"], exact=True).click()
    await console.locator("#username").fill("demo")
    await console.locator("#password").fill("demo123")
    await console.locator("#login-btn").click()
    await console.locator("#ready-btn").click()
    await console.wait_for_function("() => window.vw.state === 'ready' && window.vw.legState === 'connected'", timeout=20_000)

    caller = await new_page("/")
    await caller.set_viewport_size({"width": 1280, "height": 860})
    if s["switch"]:
        await caller.get_by_role("button", name=s["switch"], exact=True).click()
    await caller.locator("#service-search").fill("SI-00")
    await caller.get_by_role("radio", name=re.compile("SI-001")).check()
    await caller.locator("#company").fill("星河科技有限公司" if lang == "zh" else "Galaxy Technology Co., Ltd.")
    await caller.locator("#credit-code").fill("91350100M000100Y43")
    await caller.locator("#name").fill("王小明" if lang == "zh" else "Wang Xiaoming")
    await caller.locator("#phone").fill("138 0013 8000")
    await caller.locator("#name").click()
    await caller.wait_for_function("() => window.vw.legState === 'connected'", timeout=20_000)
    await shot(caller, f"caller-start-{lang}")

    await caller.get_by_role("button", name=s["call"], exact=True).click()
    await console.get_by_role("button", name=s["accept"], exact=True).wait_for()
    await caller.wait_for_function("() => window.vw.state === 'queued'")
    await shot(caller, f"caller-waiting-{lang}")
    await shot(console, f"console-offer-{lang}")
    await console.get_by_role("button", name=s["accept"], exact=True).click()
    await caller.wait_for_function("() => window.vw.state === 'connected'")
    await wait_for_decoding(caller, "caller")
    await wait_for_decoding(console, "console")

    await caller.locator("#chat-input").fill(s["hello"])
    await caller.locator("#chat-input").press("Enter")
    await console.locator("#chat-log").get_by_text(s["hello"][:6]).wait_for()
    await console.locator("#chat-input").fill(s["reply"])
    await console.locator("#chat-input").press("Enter")
    licence = tmp_path / ("营业执照.png" if lang == "zh" else "business-licence.png")
    licence.write_bytes(PNG)
    await caller.locator("#file-input").set_input_files(str(licence))
    await console.locator("#chat-log li.chat-doc").wait_for()
    await caller.locator("#chat-log li.chat-doc").wait_for()
    await shot(caller, f"caller-call-{lang}")
    await shot(console, f"console-call-{lang}")

    await console.locator("#hold-btn").click()
    await caller.locator("#hold-overlay").wait_for()
    await shot(caller, f"caller-hold-{lang}")
    await console.locator("#hold-btn").click()
    await caller.locator("#hold-overlay").wait_for(state="hidden")

    call_id = await caller.evaluate("() => window.vw.callId")
    await console.locator("#hangup-btn").click()
    await caller.wait_for_function("() => window.vw.state === 'ended'")
    await caller.locator('input[name="satisfaction"][value="5"]').check()
    await shot(caller, f"caller-ended-{lang}")
    await console.get_by_role("button", name=s["finish"], exact=True).wait_for()
    await console.locator("#notes").fill("已告知所需材料。" if lang == "zh" else "Explained the documents needed.")
    await shot(console, f"console-wrapup-{lang}")
    await console.get_by_role("button", name=s["finish"], exact=True).click()
    await console.wait_for_function("() => window.vw.state === 'ready'")

    if lang == "en":
        phone = await new_page("/")
        await phone.set_viewport_size({"width": 390, "height": 844})
        await phone.locator("#service-search").fill("insurance")
        await phone.wait_for_timeout(500)
        await shot(phone, "caller-phone-en")

    # Administration: the log, this call's session page, response times, wallboard, scores, queues, hours.
    admin = await new_page("/admin")
    await admin.set_viewport_size({"width": 1366, "height": 860})
    if s["switch"]:
        await admin.get_by_role("button", name=s["switch"], exact=True).click()
    await admin.locator("#username").fill("admin")
    await admin.locator("#password").fill("admin123")
    await admin.locator("#login-btn").click()
    await admin.locator("#admin-nav").wait_for()
    for view, name in (("#/sessions", "sessions"), (f"#/sessions/{call_id}", "session"),
                       ("#/overview", "response-times"), ("#/wallboard", "wallboard"), ("#/scores", "scores"),
                       ("#/queues", "queues"), ("#/hours", "hours")):
        await admin.evaluate("(hash) => { location.hash = hash; }", view)
        await admin.wait_for_timeout(1500)  # the view fetches its data, then draws
        await shot(admin, f"admin-{name}-{lang}")
