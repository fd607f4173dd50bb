"""The administration pages in headless Chromium, with a live call driven by signaling.client.

An administrator signs in, watches the wallboard while a headless caller
waits, is answered, chats and hangs up; then finds the session with the log's
filters, opens its page (timeline, chat transcript, recordings), downloads the
filtered CSV, reads the response-time report with its charts and the
leaderboard, edits the catalog and a queue.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re

import pytest

from signaling.client import Caller, Specialist

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

COMPANY = "Wallboard Test Co"


async def wait_js(page, expr: str, timeout: float = 15_000):
    await page.wait_for_function(expr, timeout=timeout)


async def test_admin_pages_with_a_live_call(server, new_page):
    admin = await new_page("/admin")
    await admin.get_by_label("Username", exact=True).fill("admin")
    await admin.get_by_label("Password", exact=True).fill("admin123")
    await admin.get_by_role("button", name="Log in", exact=True).click()
    await admin.locator("#sessions-body").wait_for()

    # --- the wallboard streams every second
    await admin.get_by_role("link", name="Wallboard", exact=True).click()
    await wait_js(admin, "() => window.vw.statsCount >= 1")
    first = await admin.evaluate("() => window.vw.statsCount")
    await wait_js(admin, f"() => window.vw.statsCount >= {first + 2}")
    offered_before = int((await admin.locator("#wb-offered").text_content()).replace(",", ""))

    item = server.get_json("/api/service-items?q=")["items"][0]["code"]
    spec = Specialist(server.base_url, username="demo", password="demo123", media_addresses=["127.0.0.1"])
    caller = Caller(server.base_url, media_addresses=["127.0.0.1"])
    try:
        await spec.login()
        await spec.connect()
        await spec.open_leg()
        await spec.set_state("ready", auto_answer=False)
        await wait_js(admin, "() => document.getElementById('wb-ready').textContent === '1'")

        await caller.connect()
        await caller.open_leg()
        ack = await caller.request(item, "Admin Test Caller", company=COMPANY, phone="010-5555")
        call_id = ack["call_id"]
        offer = await spec.wait_for("call:offered", timeout=10)
        # Offered: the wallboard shows the waiting session and the ringing specialist.
        await wait_js(admin, "() => document.getElementById('wb-ringing').textContent === '1'")
        assert int(await admin.locator("#wb-waiting").text_content()) >= 1
        assert item in await admin.locator("#wb-queues").text_content()
        await spec.accept(offer["call_id"])
        await wait_js(admin, "() => document.getElementById('wb-busy').textContent === '1'")
        await caller.wait_media(min_video_frames=5, min_audio_frames=5, timeout=20)
        await caller.chat("Hello from the caller", call_id)
        await spec.chat(call_id, "Hello, how can I help?")
        await asyncio.sleep(1.5)  # a little media for the recordings
        await caller.hangup(call_id)
        await spec.wait_for("call:ended", timeout=10)
        await spec.wrapup(call_id, notes="Checked by the admin test", disposition="resolved", difficulty=4)
        await caller.rate(5, call_id=call_id)
    finally:
        await caller.close()
        await spec.close()
    await wait_js(admin, f"() => Number(document.getElementById('wb-offered').textContent.replace(/,/g, '')) >= {offered_before + 1}")
    await wait_js(admin, "() => document.getElementById('wb-waiting').textContent === '0'")

    # --- the session log: filters
    await admin.get_by_role("link", name="Sessions", exact=True).click()
    await admin.get_by_label("Company", exact=True).fill("wallboard test")
    await admin.get_by_label("Outcome", exact=True).select_option("answered")
    await admin.get_by_role("button", name="Apply filters", exact=True).click()
    row = admin.locator(f'#sessions-body tr[data-session-id="{call_id}"]')
    # The unfiltered log may already show the row: wait for the filtered list.
    await wait_js(admin, "() => document.querySelectorAll('#sessions-body tr').length === 1")
    await row.wait_for()
    assert COMPANY in await row.text_content()
    await admin.get_by_label("Outcome", exact=True).select_option("missed")
    await admin.get_by_role("button", name="Apply filters", exact=True).click()
    await row.wait_for(state="detached")
    await admin.get_by_label("Outcome", exact=True).select_option("")
    await admin.get_by_label("Sort by", exact=True).select_option("-connect_ms")
    await admin.get_by_role("button", name="Apply filters", exact=True).click()
    await row.wait_for()

    # --- CSV of the filtered list
    async with admin.expect_download() as info:
        await admin.get_by_role("link", name="Download CSV", exact=True).click()
    download = await info.value
    text = open(await download.path(), encoding="utf-8").read()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["id"] for r in rows] == [call_id]
    assert rows[0]["caller_company"] == COMPANY and rows[0]["outcome"] == "answered"

    # --- the session page
    await row.get_by_role("link", name=re.compile("^Open session ")).click()  # named by its reference
    await admin.locator("#timeline").wait_for()
    assert (ack.get("reference") or call_id) == await admin.locator("#detail-id").text_content()  # the reference, not the id
    timeline = await admin.locator("#timeline").text_content()
    for phrase in ("Requested, queued", "Offered to", "Answered by", "Media connected", "Ended by", "Rated 5 of 5"):
        assert phrase in timeline, (phrase, timeline)
    transcript = await admin.locator("#transcript").text_content()
    assert "Hello from the caller" in transcript and "how can I help" in transcript
    facts = await admin.locator("#detail-facts").text_content()
    assert "Checked by the admin test" in facts and "4 / 5" in facts
    recordings = server.get_json(f"/api/sessions/{call_id}", server.login("admin", "admin123"))["recordings"]
    # The media plane records both parties: two players with one control, and
    # Chromium decodes the WebM files the server muxed (picture size, duration, playback).
    assert sorted(r["party"] for r in recordings) == ["caller", "specialist"]
    assert await admin.locator(".recordings video").count() == 2
    await wait_js(admin, "() => window.vw.recordings.every((v) => v.readyState >= 1 && v.videoWidth > 0 && v.duration > 0.5)",
                  timeout=10_000)
    await admin.get_by_role("button", name="Play both", exact=True).click()
    await wait_js(admin, "() => window.vw.recordings.every((v) => v.currentTime > 0.3 || v.ended)", timeout=10_000)
    await admin.get_by_role("button", name="Pause both", exact=True).click()

    # --- response times for this week, with the charts, at 2 s
    await admin.get_by_role("link", name="Response times", exact=True).click()
    await admin.get_by_label("Period", exact=True).select_option("week")
    await admin.get_by_label("Threshold (s)", exact=True).fill("2")
    await admin.get_by_role("button", name="Show", exact=True).click()
    await wait_js(admin, "() => window.vw.metrics && window.vw.metrics.offered >= 1")
    assert re.search(r"\d", await admin.locator("#m-sl").text_content())
    assert await admin.locator("#c-dist svg .threshold").count() == 1
    assert await admin.locator("#c-hour svg rect.bar").count() >= 1
    assert await admin.locator("#c-items svg rect.bar").count() >= 1
    assert await admin.get_by_role("img", name=re.compile("Connect time distribution")).count() == 1

    # --- the leaderboard and one specialist's breakdown
    await admin.get_by_role("link", name="Scores", exact=True).click()
    link = admin.get_by_role("link", name=re.compile("^Breakdown for "))
    await link.first.wait_for()
    await link.first.click()
    await admin.locator("#t-score-items tbody tr").first.wait_for()

    # --- the catalog: search and edit
    original_name_en = next(i for i in server.get_json(f"/api/service-items?q={item}")["items"] if i["code"] == item)["name_en"]
    await admin.get_by_role("link", name="Service catalog", exact=True).click()
    await admin.get_by_label("Search service items", exact=True).fill(item)
    await admin.get_by_role("button", name="Search", exact=True).click()
    await admin.get_by_role("button", name=f"Edit {item}", exact=True).click()
    await admin.get_by_label("Name (English)", exact=True).fill("Edited by the admin test")
    await admin.get_by_role("button", name="Save", exact=True).first.click()
    await admin.locator("#cat-status").filter(has_text=item).wait_for()
    edited = next(i for i in server.get_json(f"/api/service-items?q={item}")["items"] if i["code"] == item)
    assert edited["name_en"] == "Edited by the admin test"
    # Put the name back (the browser server is shared by the session's tests).
    await admin.get_by_role("button", name=f"Edit {item}", exact=True).click()
    await admin.get_by_label("Name (English)", exact=True).fill(original_name_en)
    await admin.evaluate("() => { document.getElementById('cat-status').textContent = ''; }")  # still says Saved
    await admin.get_by_role("button", name="Save", exact=True).first.click()
    await admin.locator("#cat-status").filter(has_text=item).wait_for()
    restored = next(i for i in server.get_json(f"/api/service-items?q={item}")["items"] if i["code"] == item)
    assert restored["name_en"] == original_name_en

    # --- queue settings (the routing engine's /api/queues): a change saved, then the defaults back
    await admin.get_by_role("link", name="Queues", exact=True).click()
    await admin.get_by_role("button", name=f"Edit queue {item}", exact=True).click()
    await admin.get_by_label("Priority", exact=True).fill("7")
    assert await admin.get_by_label("Ring time", exact=True).input_value() != ""  # the form is filled
    await admin.locator("#queue-form").get_by_role("button", name="Save", exact=True).click()
    await admin.locator("#q-status").filter(has_text=item).wait_for()
    await admin.get_by_role("button", name=f"Edit queue {item}", exact=True).click()
    await admin.get_by_role("button", name="Reset to defaults", exact=True).click()
    await admin.locator("#q-status").filter(has_text="defaults").wait_for()

    # --- zh-CN
    await admin.get_by_role("button", name="中文", exact=True).click()
    assert await admin.get_by_role("link", name="事项目录", exact=True).count() == 1
    assert await admin.evaluate("() => document.documentElement.lang") == "zh-CN"


async def test_the_session_log_finds_a_session_by_the_reference_a_caller_quotes(server, new_page):
    item = server.get_json("/api/service-items?q=")["items"][0]["code"]
    caller = Caller(server.base_url)
    try:
        await caller.connect()
        ack = await caller.request(item, "Reference Test Caller", company="Reference Search Co")
        await caller.hangup(ack["call_id"])  # nobody needs to answer it
    finally:
        await caller.close()
    reference = ack["reference"]

    admin = await new_page("/admin")
    await admin.get_by_label("Username", exact=True).fill("admin")
    await admin.get_by_label("Password", exact=True).fill("admin123")
    await admin.get_by_role("button", name="Log in", exact=True).click()
    await admin.locator("#sessions-body").wait_for()
    await admin.get_by_label("Search", exact=True).fill(reference.lower())  # as typed, any case
    await admin.get_by_role("button", name="Apply filters", exact=True).click()
    row = admin.locator(f'#sessions-body tr[data-session-id="{ack["call_id"]}"]')
    # The log lists every session before the search applies: wait for the filtered list.
    await wait_js(admin, "() => document.querySelectorAll('#sessions-body tr').length === 1")
    await row.wait_for()
    assert await row.locator("td").first.text_content() == reference  # the Reference column
    await row.get_by_role("link").click()
    await wait_js(admin, f"() => document.getElementById('detail-id').textContent === '{reference}'")
