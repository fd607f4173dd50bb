"""Booking and cancelling a video appointment on the caller page (through its manage link), and
the keep-my-place alert on a page still open (issue 15).

The browser server is shared by the whole session: the booking made here is cancelled, the
headless specialist (liu.yang) goes offline again and the caller's request ends.
"""

from __future__ import annotations

import json
import re
import urllib.request
from datetime import datetime, timedelta
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import pytest

from signaling.client import Specialist

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

BOOK_ITEM = "ID-003"
KEEP_ITEM = "LA-003"  # legal aid: liu.yang and demo only; nobody is ready for it until the test says so
RECORD_NOTIFICATIONS = """() => {
  window.__notes = [];
  const Real = window.Notification;
  window.Notification = function (title, options) { window.__notes.push(title); return new Real(title, options); };
  Object.defineProperty(window.Notification, 'permission', { get: () => Real.permission });
  window.Notification.requestPermission = (...a) => Real.requestPermission(...a);
}"""


def button(page, name):
    return page.get_by_role("button", name=name, exact=True)


async def choose(page, code: str, name: str):
    await page.get_by_label("Service", exact=True).fill(code)
    await page.get_by_role("radio", name=re.compile(re.escape(code))).first.check()
    await page.get_by_label("Name", exact=True).fill(name)


def get(server, path: str) -> dict:
    with urllib.request.urlopen(server.base_url + path, timeout=10) as response:
        return json.loads(response.read())


async def test_booking_and_cancelling_through_the_manage_link(server, new_page):
    page = await new_page("/")
    await choose(page, BOOK_ITEM, "Booking Tester")
    await button(page, "Book an appointment").click()
    tomorrow = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=1)).strftime("%Y-%m-%d")
    await page.get_by_label("Date", exact=True).fill(tomorrow)
    await page.get_by_label("Date", exact=True).dispatch_event("change")
    first = page.locator(f'#booking-slots[data-date="{tomorrow}"] input[name="slot"]').first
    await first.wait_for(state="attached", timeout=15_000)
    slot_start = await first.get_attribute("value")
    await first.check()
    await button(page, "Book").click()
    reference = page.locator("#booking-reference")
    await page.wait_for_function("() => document.getElementById('booking-reference').textContent.length > 0",
                                 timeout=15_000)
    assert re.fullmatch(r"XHA-\d{8}-\d{4}", (await reference.text_content()).strip())
    assert (await page.locator("#booking-status").text_content()).strip() == "Booked"
    link = await page.get_by_role("link", name="Manage my appointment").get_attribute("href")
    token = link.rsplit("=", 1)[1]
    try:
        managed = await new_page(urlparse(link).path + "?" + urlparse(link).query)  # a later visit, from the link
        await managed.locator("#booking-panel").wait_for(state="visible", timeout=15_000)
        await managed.wait_for_function("() => document.getElementById('booking-status').textContent === 'Booked'",
                                        timeout=15_000)
        assert (await managed.locator("#booking-reference").text_content()).strip() == (await reference.text_content()).strip()
        assert not await button(managed, "Join now").is_visible()  # tomorrow: not yet
        assert "You can join from" in (await managed.locator("#booking-join-hint").text_content())
        await button(managed, "Cancel appointment").click()
        await managed.wait_for_function("() => document.getElementById('booking-status').textContent === 'Cancelled'",
                                        timeout=15_000)
        assert not await button(managed, "Cancel appointment").is_visible()
        await managed.locator("#lang-switch").click()
        assert (await managed.locator("#booking-status").text_content()).strip() == "已取消"
    finally:
        seen = get(server, f"/api/appointments/{token}")
        if seen["status"] == "booked":  # leave the shared server as it was
            urllib.request.urlopen(urllib.request.Request(server.base_url + f"/api/appointments/{token}",
                                                          method="DELETE"), timeout=10)
    assert get(server, f"/api/appointments/{token}")["status"] == "cancelled"
    day = get(server, f"/api/appointments/slots?service_item={BOOK_ITEM}&date={tomorrow}")
    assert next(s for s in day["slots"] if s["start"] == slot_start)["booked"] == 0


async def test_keep_my_place_alerts_the_open_page(server, new_page):
    page = await new_page("/")
    await page.context.grant_permissions(["notifications"])
    await page.evaluate(RECORD_NOTIFICATIONS)
    await choose(page, KEEP_ITEM, "Keep Tester")
    await button(page, "Call").click()
    await page.wait_for_function("() => window.vw.state === 'queued'", timeout=15_000)
    await button(page, "Book an appointment instead").wait_for(state="visible")  # the options the center offers
    await button(page, "Keep my place").click()
    box = page.locator("#callback-box")
    await box.wait_for(state="visible", timeout=15_000)
    assert "Your place is kept" in await page.locator("#callback-text").text_content()
    assert not await button(page, "Book an appointment instead").is_visible()  # kept: nothing else to choose
    link = await page.get_by_role("link", name="my place in the queue").get_attribute("href")
    assert "/?resume=" in link

    spec = Specialist(server.base_url, username="liu.yang", password="demo123", media_addresses=["127.0.0.1"])
    await spec.connect()
    try:
        assert (await spec.set_state("ready"))["ok"]  # a specialist is free: the caller's turn
        await page.wait_for_function("() => document.getElementById('callback-box').classList.contains('due')",
                                     timeout=15_000)
        assert "It's your turn!" in await page.locator("#callback-text").text_content()
        assert await page.evaluate("() => window.__notes") == ["Virtual Window: it's your turn"]
        await button(page, "I'm here").click()
        offered = await spec.wait_for("call:offered", timeout=15)
        assert offered["caller"]["name"] == "Keep Tester"
        await box.wait_for(state="hidden", timeout=15_000)
        assert (await spec.decline(offered["call_id"]))["ok"]
        assert (await spec.set_state("away"))["ok"]
    finally:
        await spec.close()
    await button(page, "Cancel").click()
    await page.wait_for_function("() => window.vw.state === 'ended'", timeout=15_000)


def api(server, method: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json", **({"Authorization": "Bearer " + token} if token else {})}
    request = urllib.request.Request(server.base_url + path, method=method, headers=headers,
                                     data=None if body is None else json.dumps(body).encode())
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


async def test_the_calendar_the_callbacks_list_and_the_console_list(server, new_page):
    day = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=3)).strftime("%Y-%m-%d")
    slot = api(server, "GET", f"/api/appointments/slots?service_item={BOOK_ITEM}&date={day}")["slots"][10]
    booked = api(server, "POST", "/api/appointments", {"service_item": BOOK_ITEM, "slot_start": slot["start"],
                                                        "name": "Calendar Tester", "specialist": "liu.yang"})
    try:
        admin = await new_page("/admin")
        await admin.get_by_label("Username", exact=True).fill("admin")
        await admin.get_by_label("Password", exact=True).fill("admin123")
        await admin.get_by_role("button", name="Log in", exact=True).click()
        await admin.get_by_role("link", name="Appointments", exact=True).click()
        await admin.get_by_label("Day", exact=True).fill(day)
        await admin.get_by_label("Day", exact=True).dispatch_event("change")
        row = admin.locator("#t-appointments tr", has_text=booked["reference"])
        await row.wait_for(timeout=15_000)
        assert "Calendar Tester" in await row.text_content() and "刘洋" in await row.text_content()
        assert "Booked: 1" in await admin.locator("#ap-counts").text_content()
        await admin.get_by_role("link", name="Callbacks", exact=True).click()
        await admin.locator("#t-callbacks thead").wait_for(timeout=15_000)
        await admin.get_by_role("link", name="Response times", exact=True).click()
        await admin.wait_for_function("() => /^\\d+ \\/ \\d+ \\/ \\d+$/.test(document.getElementById('m-appointments').textContent)",
                                      timeout=15_000)

        token = server.login("liu.yang", "demo123")
        own = api(server, "GET", f"/api/console/appointments?date={day}", token=token)["items"]
        assert [(a["reference"], a["mine"]) for a in own if a["reference"] == booked["reference"]] == [(booked["reference"], True)]
    finally:
        api(server, "DELETE", f"/api/appointments/{booked['token']}")
