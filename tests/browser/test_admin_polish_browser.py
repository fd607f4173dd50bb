"""The administration pages in words (issue 12): the queue form, the session page, the tables, the
forms (new, retire, disable, categories) and the charts that agree with their tables.

Everything an administrator sees is driven in headless Chromium against the shared browser server.
What each test changes it puts back: LA-005's queue settings, LA-004 retired and restored, li.na
disabled and enabled again, the legal_aid category's English name. Calls are answered by a headless
wang.fang on the financing items FN-001 / FN-002 (only wang.fang and demo take them), who ends
offline with the wrap-up finished.
"""

from __future__ import annotations

import asyncio
import json
import re
import urllib.error
import urllib.request

import aiohttp
import pytest

from signaling.client import Caller, Specialist

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

QUEUE_ITEM = "LA-005"
RETIRE_ITEM = "LA-004"
DISABLE_USER = "li.na"
# snake_case words, placeholders and string keys: developer output that must never reach the page
RAW = re.compile(r"\b[a-z]+_[a-z_]+\b|[{}]|\badm\.|\badmin\.|\berror\.")


def api(server, method, path, token=None, body=None):
    """(status, JSON) of a call to the server's API."""
    request = urllib.request.Request(server.base_url + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json", "Accept": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=15) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


async def admin_page(new_page, path="/admin"):
    page = await new_page(path)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.get_by_label("Username", exact=True).fill("admin")
    await page.get_by_label("Password", exact=True).fill("admin123")
    await page.get_by_role("button", name="Log in", exact=True).click()
    await page.locator("#admin-nav").wait_for()
    page.errors = errors
    return page


def button(page, name):
    return page.get_by_role("button", name=name, exact=True)


async def answered_session(server, item, *, extras=False) -> str:
    """One answered call with media, from a headless caller to a headless wang.fang, ended, wrapped
    up and rated; with `extras`, also chat, hold and resume, and a 45-byte document."""
    spec = Specialist(server.base_url, username="wang.fang", password="demo123", media_addresses=["127.0.0.1"])
    caller = Caller(server.base_url, media_addresses=["127.0.0.1"])
    try:
        await spec.login()
        await spec.connect()
        await spec.open_leg()
        await spec.set_state("ready", auto_answer=False)
        await caller.connect()
        await caller.open_leg()
        ack = await caller.request(item, "Polish Tester", company="Admin Polish Co", phone="010-7777")
        assert ack["ok"], ack
        call_id = ack["call_id"]
        await spec.wait_for("call:offered", timeout=15, predicate=lambda d: d.get("call_id") == call_id)
        await spec.accept(call_id)
        await caller.wait_media(min_video_frames=5, min_audio_frames=5, timeout=30)
        if extras:
            await caller.chat("A question", call_id)
            await spec.chat(call_id, "An answer")
            assert (await spec.emit_raw("/agent", "call:hold", {"call_id": call_id, "hold": True}))["ok"]
            assert (await spec.emit_raw("/agent", "call:hold", {"call_id": call_id, "hold": False}))["ok"]
            form = aiohttp.FormData()
            form.add_field("file", b"a document of exactly forty-five bytes......\n", filename="note.txt",
                           content_type="text/plain")
            async with aiohttp.ClientSession() as http:
                async with http.post(f"{server.base_url}/api/sessions/{call_id}/documents", data=form,
                                     headers={"Authorization": f"Bearer {spec.token}"}) as r:
                    assert r.status == 201 and (await r.json())["size"] == 45
        await caller.hangup(call_id)
        await spec.wait_for("call:ended", timeout=15)
        await spec.wrapup(call_id, notes="Polish notes", disposition="resolved", difficulty=2)
        await caller.rate(4, call_id=call_id)
        return call_id
    finally:
        await caller.close()
        await spec.close()


async def test_the_queue_form_is_filled_saves_and_refuses_bad_values(server, new_page):
    token = server.login("admin", "admin123")
    before = api(server, "GET", f"/api/queues/{QUEUE_ITEM}", token)[1]
    assert before["configured"] is False
    page = await admin_page(new_page)
    try:
        await page.get_by_role("link", name="Queues", exact=True).click()
        await button(page, f"Edit queue {QUEUE_ITEM}").click()
        form = page.locator("#queue-form")
        await form.wait_for()
        # The form shows the queue's settings, each with its own kind of input and a label in words.
        assert await page.get_by_label("Strategy", exact=True).input_value() == before["strategy"]
        ring = page.get_by_label("Ring time", exact=True)
        assert float(await ring.input_value()) == before["offer_timeout_s"]
        assert await page.get_by_label("Minimum proficiency", exact=True).input_value() == str(before["min_proficiency"])
        kinds = await form.locator("[data-key]").evaluate_all("(els) => els.map((e) => e.tagName === 'SELECT' ? 'select' : e.getAttribute('type'))")
        assert kinds and all(kinds), kinds
        labels = " ".join(await form.locator("label").all_inner_texts())
        assert "Longest wait" in labels and not RAW.search(labels), labels

        # A change is saved, and only then is the queue configured.
        await ring.fill("20")
        await button(form, "Save").click()
        await page.locator("#q-status").filter(has_text=f"Saved the queue of {QUEUE_ITEM}").wait_for()
        saved = api(server, "GET", f"/api/queues/{QUEUE_ITEM}", token)[1]
        assert saved["offer_timeout_s"] == 20 and saved["configured"] is True
        row = page.locator("#t-queues tr", has_text=QUEUE_ITEM)
        # The table is read again after the save: on a loaded machine it may show the old row a moment longer.
        await row.filter(has_text="20 s").filter(has_text="Own").wait_for(timeout=10_000)

        # Saving an unchanged form saves nothing and says so.
        await button(page, f"Edit queue {QUEUE_ITEM}").click()
        assert await ring.input_value() == "20"
        await button(form, "Save").click()
        await page.locator("#q-status").filter(has_text="Nothing was changed").wait_for()
        assert api(server, "GET", f"/api/queues/{QUEUE_ITEM}", token)[1]["updated_at"] == saved["updated_at"]

        # A value the server refuses is not saved, and the page does not say "Saved".
        await button(page, f"Edit queue {QUEUE_ITEM}").click()
        await page.get_by_label("Escalation steps", exact=True).fill("30:colour=red")
        await button(form, "Save").click()
        await page.locator("#error").wait_for(state="visible")
        assert "colour" in await page.locator("#error-text").inner_text()
        assert "Saved" not in await page.locator("#q-status").inner_text()
        assert await form.is_visible()
        assert api(server, "GET", f"/api/queues/{QUEUE_ITEM}", token)[1]["escalation"] == []
        # One the page itself can tell is wrong never leaves it.
        await page.get_by_label("Escalation steps", exact=True).fill("")
        await ring.fill("0")
        await button(form, "Save").click()
        await page.locator("#error-text").filter(has_text="Ring time").wait_for()
        assert api(server, "GET", f"/api/queues/{QUEUE_ITEM}", token)[1]["offer_timeout_s"] == 20

        await button(form, "Reset to defaults").click()
        await page.locator("#q-status").filter(has_text="uses the defaults again").wait_for()
        assert api(server, "GET", f"/api/queues/{QUEUE_ITEM}", token)[1]["configured"] is False
        assert page.errors == []
    finally:
        api(server, "DELETE", f"/api/queues/{QUEUE_ITEM}", token)


async def test_the_session_page_is_in_words_in_both_languages(server, new_page):
    call_id = await answered_session(server, "FN-002", extras=True)
    page = await admin_page(new_page, f"/admin#/sessions/{call_id}")
    await page.locator("#timeline li[data-type='rated']").wait_for()
    view = page.locator("#view-session")
    text = await view.inner_text()
    for words in ("Waited", "Connected in", "Talk time", "Hung up (Caller)", "Requested, queued",
                  "Offered to 王芳 (wang.fang)", "Answered by 王芳 (wang.fang)", "Put on hold by the specialist",
                  "Taken off hold", "Specialist sent a document: note.txt (45 B)", "Caller sent a chat message",
                  "Wrap-up saved (outcome: Resolved)", "Rated 4 of 5", "45 B"):
        assert words in text, (words, text)
    assert not RAW.search(text), RAW.search(text)
    assert re.search(r"Waited\s+\d+(\.\d)? (ms|s)", text) and re.search(r"Connected in\s+\d+(\.\d)? (ms|s)", text)
    events = api(server, "GET", f"/api/sessions/{call_id}", server.login("admin", "admin123"))[1]["events"]
    assert await page.locator("#timeline li").count() == len(events)

    await button(page, "中文").click()
    await page.locator("#timeline li[data-type='hold']").filter(has_text="坐席保持通话").wait_for()
    zh = await view.inner_text()
    for words in ("等待时长", "接通用时", "通话时长", "派给 王芳 (wang.fang)", "恢复通话", "坐席发送了材料：note.txt（45 B）", "评价 4 / 5 分"):
        assert words in zh, (words, zh)
    assert not RAW.search(zh), RAW.search(zh)
    assert page.errors == []


async def test_admin_tables_and_forms_in_words_retire_and_disable(server, new_page):
    token = server.login("admin", "admin123")
    page = await admin_page(new_page)
    await page.set_viewport_size({"width": 1366, "height": 900})
    try:
        # Queues: human headers and values, and the table fits the page at 1366 px.
        await page.get_by_role("link", name="Queues", exact=True).click()
        table = page.locator("#t-queues")
        await table.locator("tbody tr").nth(5).wait_for()
        headers = " ".join(await table.locator("th").all_inner_texts())
        assert "Ring time" in headers and not RAW.search(headers), headers
        body = await table.locator("tbody").inner_text()
        assert not re.search(r"\[\]|\bfalse\b|\btrue\b|\bnull\b", body) and not RAW.search(body)
        assert await page.evaluate("() => { const w = document.querySelector('#t-queues').parentElement; return w.scrollWidth <= w.clientWidth; }")
        assert await page.evaluate("() => document.documentElement.scrollWidth <= innerWidth")

        # The catalog: names in English, categories by their display names, a select of categories.
        await page.get_by_role("link", name="Service catalog", exact=True).click()
        row = page.locator(f"#t-catalog tr[data-code='{RETIRE_ITEM}']")
        await row.wait_for()
        assert "Notarisation services" in await row.inner_text() and "Legal services" in await row.inner_text()
        assert "legal_aid" not in await row.inner_text()
        await button(page, "New service item").click()
        assert await page.locator("#item-form-title").inner_text() == "New service item"
        assert await page.locator("#item-form").get_by_label("Category", exact=True).evaluate("(e) => e.tagName") == "SELECT"
        options = await page.locator("#it-category option").all_inner_texts()
        assert "Legal services (legal_aid)" in options and len(options) >= 8
        kinds = await page.locator("#item-form input, #acc-form input, #category-form input").evaluate_all(
            "(els) => els.map((e) => e.getAttribute('type'))")
        assert all(kinds), kinds
        await button(page, "Cancel").first.click()

        # Retire: not offered to callers, still in the admin catalog (shown retired), then restored.
        await button(page, f"Retire {RETIRE_ITEM}").click()
        await page.locator("#cat-status").filter(has_text=f"Retired {RETIRE_ITEM}").wait_for()
        await row.filter(has_text="Retired").wait_for()  # shown retired, still listed
        assert RETIRE_ITEM not in [i["code"] for i in server.get_json("/api/service-items")["items"]]
        await button(page, f"Restore {RETIRE_ITEM}").click()
        await page.locator("#cat-status").filter(has_text=f"Restored {RETIRE_ITEM}").wait_for()
        assert RETIRE_ITEM in [i["code"] for i in server.get_json("/api/service-items")["items"]]

        # A category's English name, edited here, is what the catalog shows.
        await button(page, "Edit category legal_aid").click()
        await page.locator("#category-form-title").filter(has_text="Edit category legal_aid").wait_for()
        await page.locator("#cg-name_en").fill("Legal help")
        await button(page.locator("#category-form"), "Save").click()
        await row.filter(has_text="Legal help").wait_for()
        await button(page, "Edit category legal_aid").click()
        await page.locator("#cg-name_en").fill("Legal services")
        await button(page.locator("#category-form"), "Save").click()
        await row.filter(has_text="Legal services").wait_for()

        # Search keywords, edited here, are what the callers' search finds; then put back.
        async def set_keywords(value):
            await button(page, f"Edit {RETIRE_ITEM}").click()
            field = page.locator("#item-form").get_by_label("Search keywords", exact=True)
            before = await field.input_value()
            await field.fill(value)
            await button(page.locator("#item-form"), "Save").click()
            await page.locator("#item-form").wait_for(state="hidden")
            return before

        original = await set_keywords("zzqnotary, 公证办理")
        found = server.get_json("/api/service-items?q=zzqnotary")["items"]
        assert found and found[0]["code"] == RETIRE_ITEM, found[:2]
        await set_keywords(original)
        assert not any(i["code"] == RETIRE_ITEM for i in server.get_json("/api/service-items?q=zzqnotary")["items"])

        # Accounts: the Edit column visible at 1440 px; "New account"; disable and enable again.
        await page.set_viewport_size({"width": 1440, "height": 900})
        await page.get_by_role("link", name="Accounts", exact=True).click()
        edit = button(page, f"Edit {DISABLE_USER}")
        await edit.wait_for()
        box = await edit.bounding_box()
        assert box and box["x"] + box["width"] <= 1440
        assert await page.evaluate("() => { const w = document.querySelector('#t-accounts').parentElement; return w.scrollWidth <= w.clientWidth; }")
        await button(page, "New account").click()
        assert await page.locator("#acc-form-title").inner_text() == "New account"
        await button(page.locator("#acc-form"), "Cancel").click()
        await edit.click()
        assert await page.locator("#acc-form-title").inner_text() == f"Edit {DISABLE_USER}"
        await page.get_by_role("checkbox", name=re.compile("^Disabled")).check()
        await button(page.locator("#acc-form"), "Save").click()
        await page.locator("#acc-status").filter(has_text="disabled").wait_for()
        await page.locator(f"#t-accounts tr[data-username='{DISABLE_USER}']").filter(has_text="Disabled").wait_for()
        status, body = api(server, "POST", "/api/login", body={"username": DISABLE_USER, "password": "demo123"})
        assert status == 403 and body["error"]["code"] == "account_disabled"
        await edit.click()
        await page.get_by_role("checkbox", name=re.compile("^Disabled")).uncheck()
        await button(page.locator("#acc-form"), "Save").click()
        await page.locator(f"#t-accounts tr[data-username='{DISABLE_USER}']").filter(has_text="Active").wait_for()
        assert api(server, "POST", "/api/login", body={"username": DISABLE_USER, "password": "demo123"})[0] == 200
        assert page.errors == []
    finally:
        item = next(i for i in api(server, "GET", f"/api/admin/service-items?q={RETIRE_ITEM}", token)[1]["items"]
                    if i["code"] == RETIRE_ITEM)
        api(server, "PUT", f"/api/admin/service-items/{RETIRE_ITEM}", token, {**item, "retired": False})
        api(server, "PUT", "/api/admin/categories/legal_aid", token, {"name": "法律服务", "name_en": "Legal services"})
        api(server, "PUT", f"/api/admin/accounts/{DISABLE_USER}", token, {"role": "specialist", "disabled": False})


async def _chart_matches_table(page):
    """Each hour's bar says what the table's row says, and is as tall as that on a 0-100 % axis."""
    await page.wait_for_function("() => document.querySelector('#t-hours tbody tr[data-hour]')")
    rows = await page.locator("#t-hours tbody tr[data-hour]").evaluate_all(
        "(trs) => trs.map((tr) => [Number(tr.dataset.hour), tr.cells[4].textContent])")
    bars = await page.locator("#c-hour rect[data-hour]").evaluate_all(
        "(rs) => rs.map((r) => [Number(r.dataset.hour), r.dataset.value, Number(r.getAttribute('height')), r.textContent])")
    assert rows and [h for h, _ in rows] == [h for h, *_ in bars]
    for (hour, cell), (_, value, height, title) in zip(rows, bars):
        if cell == "—":
            assert value == "" and "Nothing answered" in title
            continue
        assert value == cell and cell in title, (hour, cell, value, title)
        assert abs(height - max(184 * float(cell.rstrip("%")) / 100, 2)) < 0.6, (cell, height)
    return dict(rows)


async def test_the_charts_agree_with_the_tables_and_have_honest_axes(server, new_page):
    await answered_session(server, "FN-001")
    page = await admin_page(new_page)
    await page.get_by_role("link", name="Response times", exact=True).click()
    await page.get_by_label("Period", exact=True).select_option("week")
    shown = []
    for threshold in ("0.1", "60"):
        await page.get_by_label("Threshold (s)", exact=True).fill(threshold)
        await button(page, "Show").click()
        await page.wait_for_function(f"() => window.vw.metrics && window.vw.metrics.threshold_s === {float(threshold)}")
        shown.append(await _chart_matches_table(page))
        hour = page.locator("#c-hour svg")
        title = await hour.locator("title").first.text_content()
        assert title.startswith("Service level by hour of day") and f"within {threshold} s" in title
        assert await hour.locator("polyline").count() == 0  # no second series on the percentage axis
        assert await hour.locator(".y-tick").all_text_contents() == ["0%", "25%", "50%", "75%", "100%"]
        assert await hour.locator(".y-label").text_content() == "Service level (%)"
        assert await hour.locator(".x-label").text_content() == "Hour of day"
        assert "as in the table below" in await page.locator("#c-hour .legend").inner_text()

        dist = page.locator("#c-dist svg")
        ticks = [int(v) for v in await dist.locator(".y-tick").all_text_contents()]
        assert ticks[0] == 0 and ticks == sorted(set(ticks)) and len(ticks) >= 2, ticks
        counts = await dist.locator("rect[data-count]").evaluate_all("(rs) => rs.map((r) => Number(r.dataset.count))")
        assert counts and ticks[-1] >= max(counts)
        assert await dist.locator(".y-label").text_content() == "Sessions"
        assert await dist.locator(".x-label").text_content() == "Connect time (s)"
        assert "Connect time distribution" in await dist.locator("title").first.text_content()
    # The threshold moves the table and the chart together: at 60 s no hour is below 0.1 s's figure.
    for hour, cell in shown[1].items():
        if cell != "—":
            assert float(cell.rstrip("%")) >= float(shown[0][hour].rstrip("%"))
    assert page.errors == []


async def test_requeue_callback_and_appointment_events_read_as_sentences(server, new_page):
    """The session page's timeline names the events of re-queues, callbacks and appointments in words."""
    page = await admin_page(new_page)
    events = [
        {"type": "requeued", "data": {"to_session": "b" * 32}},
        {"type": "requeued_from", "data": {"from_session": "a" * 32}},
        {"type": "callback_requested", "data": None},
        {"type": "callback_due", "data": {"accept_s": 120}},
        {"type": "callback_reached", "data": {"alerted": True}},
        {"type": "callback_missed", "data": None},
        {"type": "appointment", "data": {"reference": "XHA-20261202-0001", "slot_start": "2026-12-02T02:00:00.000Z"}},
    ]
    for lang in ("en", "zh"):
        sentences = await page.evaluate(
            """async (events) => {
                 const { describeEvent } = await import('/s/admin/session.js');
                 return events.map((ev) => describeEvent(ev, { specialist: null }));
               }""", events)
        for ev, sentence in zip(events, sentences):
            assert not RAW.search(sentence) and "Event:" not in sentence and "事件" not in sentence, (lang, ev, sentence)
        assert "XHA-20261202-0001" in sentences[-1] and "120" in sentences[3]
        await page.locator("#lang-switch").click()
