"""Opening hours in headless Chromium: the caller's closed screen, and the administration's Hours view.

The browser server is shared by every browser test and assumes the center is always open: each
test sets its schedule through the admin API (or the admin page) and removes it in a `finally`.
"Closed now, whatever the date": a week with no hours and one open hour tomorrow (an override)."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


def _api(server, method: str, path: str, token: str, body=None) -> int:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(server.base_url + path, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _close_until_tomorrow(server, token: str) -> str:
    tomorrow = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=1)).date().isoformat()
    assert _api(server, "PUT", "/api/admin/hours", token, {"time_zone": "Asia/Shanghai", "weekly": {}}) == 200
    assert _api(server, "PUT", f"/api/admin/hours/overrides/{tomorrow}", token,
                {"kind": "open", "periods": [["09:00", "10:00"]]}) == 200
    return tomorrow


def _reopen(server, token: str, tomorrow: str) -> None:
    _api(server, "DELETE", "/api/admin/hours", token)
    _api(server, "DELETE", f"/api/admin/hours/overrides/{tomorrow}", token)


async def _fill_in(page, code: str) -> None:
    await page.get_by_label("Service", exact=True).fill(code)
    await page.get_by_role("radio", name=re.compile(re.escape(code))).first.check()
    await page.get_by_label("Name", exact=True).fill("Hours Tester")


async def test_the_caller_sees_the_closed_screen_at_once_and_cannot_call(server, new_page):
    token = server.login("admin", "admin123")
    item = server.get_json("/api/service-items?q=")["items"][0]["code"]
    tomorrow = _close_until_tomorrow(server, token)
    try:
        page = await new_page("/")
        panel = page.locator("#closed-panel")
        await panel.wait_for(state="visible")
        await page.get_by_role("heading", name="We are closed now", exact=True).wait_for()
        next_open = await page.locator("#closed-next").text_content()
        assert "09:00" in next_open and "Beijing time" in next_open, next_open
        rows = page.locator("#closed-days tr")
        assert await rows.count() == 7
        assert "Closed" in await rows.nth(0).text_content()
        assert "09:00–10:00" in await rows.nth(1).text_content()
        assert await page.locator("#closed-options").count() == 1  # room for other ways to come back
        await _fill_in(page, item)
        call = page.get_by_role("button", name="Call", exact=True)
        assert await call.is_disabled()
        assert await page.locator("#call-need").text_content() == "Calls are taken during opening hours."
        await page.locator("#lang-switch").click()
        await page.get_by_role("heading", name="现在不在服务时间", exact=True).wait_for()
        assert "北京时间" in await page.locator("#closed-next").text_content()
        assert await page.locator("#call-need").text_content() == "请在服务时间内呼叫。"
        assert tomorrow[5:7].lstrip("0") in await rows.nth(1).text_content()  # its month, in Chinese dates
    finally:
        _reopen(server, token, tomorrow)


async def test_a_request_refused_as_closed_shows_the_closed_screen(server, new_page):
    token = server.login("admin", "admin123")
    item = server.get_json("/api/service-items?q=")["items"][0]["code"]
    page = await new_page("/")
    await _fill_in(page, item)
    call = page.get_by_role("button", name="Call", exact=True)
    await page.wait_for_function("() => !document.getElementById('call-btn').disabled")
    assert await page.locator("#closed-panel").is_hidden()  # open when the page loaded
    tomorrow = _close_until_tomorrow(server, token)  # the page does not know yet
    try:
        await call.click()
        await page.locator("#closed-panel").wait_for(state="visible")
        assert "09:00" in await page.locator("#closed-next").text_content()
        await page.wait_for_function("() => window.vw.state === 'idle' && !window.vw.callId")
        assert await call.is_disabled()
    finally:
        _reopen(server, token, tomorrow)


async def test_the_admin_hours_view(server, new_page):
    token = server.login("admin", "admin123")
    admin = await new_page("/admin#/hours")
    await admin.get_by_label("Username", exact=True).fill("admin")
    await admin.get_by_label("Password", exact=True).fill("admin123")
    await admin.get_by_role("button", name="Log in", exact=True).click()
    try:
        await admin.get_by_role("link", name="Hours", exact=True).click()
        await admin.get_by_role("heading", name="Opening hours and holidays", exact=True).wait_for()
        await admin.locator("#h-state").filter(has_text="always open").wait_for()
        # A weekly schedule, 09:00-17:00 on weekdays.
        for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"):
            await admin.get_by_label(day, exact=True).fill("09:00-12:00, 13:00-17:00")
        await admin.get_by_role("button", name="Save schedule", exact=True).click()
        await admin.locator("#h-status").filter(has_text="Schedule saved.").wait_for()
        assert server.get_json("/api/hours?date=2026-02-24")["periods"] == [["09:00", "12:00"], ["13:00", "17:00"]]
        # A bad period is refused in words that say what is wrong; nothing changes.
        await admin.get_by_label("Monday", exact=True).fill("17:00-09:00")
        await admin.get_by_role("button", name="Save schedule", exact=True).click()
        await admin.get_by_text(re.compile("ends before it starts")).wait_for()
        # The 2026 calendar: the Spring Festival and its make-up Saturdays.
        await admin.get_by_label("Year", exact=True).fill("2026")
        await admin.get_by_role("button", name="Show year", exact=True).click()
        holiday = admin.locator('#t-calendar tr[data-date="2026-02-16"]')
        await holiday.wait_for()
        assert "Spring Festival" in await holiday.text_content() and "Closed" in await holiday.text_content()
        assert "Make-up working day" in await admin.locator('#t-calendar tr[data-date="2026-02-14"]').text_content()
        # Override a day, then remove the override.
        await admin.get_by_label("Date", exact=True).fill("2026-03-03")
        await admin.get_by_label("Kind", exact=True).select_option("closed")
        await admin.get_by_label("Note (shown to callers)", exact=True).fill("Staff training")
        await admin.get_by_role("button", name="Save day", exact=True).click()
        row = admin.locator('#t-calendar tr[data-date="2026-03-03"]')
        await row.filter(has_text="Staff training").wait_for()
        assert server.get_json("/api/hours?date=2026-03-03")["open"] is False
        await admin.get_by_role("button", name="Remove the override of 2026-03-03", exact=True).click()
        await row.wait_for(state="detached")
        # Back to always open.
        await admin.get_by_role("button", name="Remove schedule (always open)", exact=True).click()
        await admin.locator("#h-status").filter(has_text="always open").wait_for()
        assert server.get_json("/api/hours?date=2026-02-16")["open"] is True
    finally:
        _api(server, "DELETE", "/api/admin/hours", token)
        _api(server, "DELETE", "/api/admin/hours/overrides/2026-03-03", token)
