"""The administration's session page of a call with a back office (issue 13): who was in the call, in
which role and mode, and the invitation, the consult turned conference and the leave as sentences, in
both languages. The call itself is made by headless clients (zhang.wei invites chen.jing)."""

from __future__ import annotations

import pytest

from signaling.client import Caller, Specialist
from test_admin_polish_browser import RAW, admin_page, api

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

SI = "SI-001"  # social insurance: both zhang.wei and chen.jing have its category


async def consulted_session(server) -> str:
    """zhang.wei answers, invites chen.jing to a consult, makes it a conference, chen.jing leaves, the
    caller hangs up; wrapped up, so both specialists are free again."""
    front = Specialist(server.base_url, username="zhang.wei", password="demo123", media_addresses=["127.0.0.1"])
    back = Specialist(server.base_url, username="chen.jing", password="demo123", media_addresses=["127.0.0.1"])
    caller = Caller(server.base_url, media_addresses=["127.0.0.1"])
    try:
        for spec in (front, back):
            await spec.login()
            await spec.connect()
        await front.set_state("ready", auto_answer=True)
        await caller.connect()
        ack = await caller.request(SI, "Conference Tester", company="Back Office Co")
        call_id = ack["call_id"]
        await front.wait_for("call:connected", timeout=15, predicate=lambda d: d.get("call_id") == call_id)
        await back.set_state("ready", auto_answer=False)
        invited = await front.emit_raw("/agent", "call:invite", {"call_id": call_id, "specialist": "chen.jing",
                                                                 "mode": "consult", "note": "please approve"})
        assert invited["ok"], invited
        await back.wait_for("call:offered", timeout=15, predicate=lambda d: "invite" in d)
        assert (await back.accept(call_id))["ok"]
        assert (await front.emit_raw("/agent", "call:conference", {"call_id": call_id}))["ok"]
        assert (await back.emit_raw("/agent", "call:leave", {"call_id": call_id}))["ok"]
        await caller.hangup(call_id)
        await front.wait_for("call:ended", timeout=15, predicate=lambda d: d.get("call_id") == call_id)
        await front.wrapup(call_id, notes="approved by the back office", disposition="resolved")
        return call_id
    finally:
        for party in (caller, back, front):
            await party.close()


async def test_a_session_with_a_back_office_shows_who_was_in_it_in_words(server, new_page):
    call_id = await consulted_session(server)
    page = await admin_page(new_page, f"/admin#/sessions/{call_id}")
    await page.locator("#participants li[data-role='back_office']").first.wait_for()
    view = page.locator("#view-session")
    text = await view.inner_text()
    for words in ("People in the call", "Front desk · 张伟 (zhang.wei)", "Back office · 陈静 (chen.jing) · consult",
                  "Back office · 陈静 (chen.jing) · conference", "Invited 陈静 (chen.jing) to a consult (note: please approve)",
                  "陈静 (chen.jing) joined the consult after", "The consult became a conference",
                  "陈静 (chen.jing) left the call: left by choice"):
        assert words in text, (words, text)
    assert not RAW.search(text), RAW.search(text)
    events = api(server, "GET", f"/api/sessions/{call_id}", server.login("admin", "admin123"))[1]["events"]
    assert await page.locator("#timeline li").count() == len(events)

    await page.get_by_role("button", name="中文", exact=True).click()
    await page.locator("#timeline li[data-type='conference']").filter(has_text="咨询转为三方会议").wait_for()
    zh = await view.inner_text()
    for words in ("通话参与人", "前台受理", "后台审批", "邀请 陈静 (chen.jing) 咨询", "离开通话：主动离开"):
        assert words in zh, (words, zh)
    assert not RAW.search(zh), RAW.search(zh)
    assert page.errors == []
