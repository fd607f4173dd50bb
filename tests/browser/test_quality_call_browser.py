"""Network quality end to end in headless Chromium: a real call between the caller page and the
console shows both links on both pages (good on an idle loopback), fits a phone and a 1366 px
laptop and clears at the end; the finished session's page shows the summary and the chart from
the server's own figures, and the report counts it among the measured calls.
"""

from __future__ import annotations

import re

import pytest

from test_console_reload_browser import connected_call, finish_wrap_up

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

SIGNALS = """() => [...document.querySelectorAll('.signal')].filter((s) => !s.hidden)
    .map((s) => ({ party: s.dataset.party, label: s.getAttribute('aria-label'), title: s.title }))"""

NO_OVERFLOW = """() => {
    const line = document.getElementById('quality-line').getBoundingClientRect();
    return { page: document.scrollingElement.scrollWidth <= window.innerWidth,
             line: line.width > 0 && line.left >= 0 && line.right <= window.innerWidth };
}"""


async def test_a_real_call_shows_both_links_on_both_pages_then_in_the_session_log(server, new_page):
    console, caller = await connected_call(server, new_page, "Quality Tester")
    call_id = await caller.evaluate("() => window.vw.callId")

    # Each page shows its own link and the other side's, named for who is looking (good on an idle
    # loopback; the level is the server's, so a busy machine's jitter may make it fair).
    level = "(good|fair|poor)"
    for page, names in ((caller, ["Your network", "The specialist's network"]),
                        (console, ["Your network", "The caller's network"])):
        for name in names:
            await page.get_by_role("img", name=re.compile(f"^{re.escape(name)}: {level}$")).wait_for(timeout=20_000)
        # The tooltip gives the figures: the bitrate the server receives from each side is measured.
        await page.wait_for_function(f"() => ({SIGNALS})().filter((s) => / [0-9,]+ kbps$/.test(s.title)).length === 2",
                                     timeout=20_000)
        signals = await page.evaluate(SIGNALS)
        assert all(re.match(r"^Round trip (\d+ ms|—) · Loss [\d.]+% · Jitter ([\d.]+ ms|—) · [\d,]+ kbps$", s["title"])
                   for s in signals), signals
        assert await page.locator("#video-paused").is_hidden()
    # The same link, the same figures, on both pages.
    assert {s["party"] for s in await caller.evaluate(SIGNALS)} == {"caller", "specialist"}

    # It fits a phone (the caller) and a laptop's 1366 px (the console).
    await caller.set_viewport_size({"width": 390, "height": 844})
    await console.set_viewport_size({"width": 1366, "height": 768})
    assert await caller.evaluate(NO_OVERFLOW) == {"page": True, "line": True}
    assert await console.evaluate(NO_OVERFLOW) == {"page": True, "line": True}

    await console.get_by_role("button", name="Hang up", exact=True).click()
    await caller.wait_for_function("() => window.vw.state === 'ended'")
    assert await caller.locator(".signal:not([hidden])").count() == 0  # cleared with the call
    await finish_wrap_up(console)

    # The finished session's page: the summary per party and the chart over the call.
    token = server.login("admin", "admin123")
    session = server.get_json(f"/api/sessions/{call_id}", token)
    summary = session["quality"]
    assert summary["caller"]["samples"] >= 1 and summary["specialist"]["samples"] >= 1
    admin = await new_page("/admin")
    await admin.get_by_label("Username", exact=True).fill("admin")
    await admin.get_by_label("Password", exact=True).fill("admin123")
    await admin.get_by_role("button", name="Log in", exact=True).click()
    await admin.locator("#sessions-body").wait_for()
    await admin.goto(f"/admin#/sessions/{call_id}")
    rows = admin.locator("#quality-summary tbody tr")
    await rows.first.wait_for()
    assert await rows.evaluate_all("trs => trs.map((tr) => [tr.dataset.party, tr.dataset.level])") == [
        ["caller", summary["caller"]["level"]], ["specialist", summary["specialist"]["level"]]]
    assert session["quality_level"] in await admin.locator("#quality-level").inner_text()
    chart = admin.locator("#quality-chart svg")
    await chart.wait_for()
    bands = await chart.locator("rect.band").evaluate_all("rs => rs.map((r) => r.dataset.party + ':' + r.dataset.level)")
    assert {b.split(":")[0] for b in bands} == {"caller", "specialist"}
    assert len(bands) == session["quality"]["caller"]["samples"] + session["quality"]["specialist"]["samples"]
    kbps = await chart.locator('path[data-series="kbps_in"]').evaluate_all("ps => ps.map((p) => p.dataset.party)")
    assert sorted(kbps) == ["caller", "specialist"]

    # The report counts it among the measured calls: the share of poor calls, by item and by hour.
    await admin.get_by_role("link", name="Response times", exact=True).click()
    await admin.wait_for_function("() => /\\(\\d+ of \\d+\\)$/.test(document.getElementById('m-poor').textContent)")
    item = session["service_item"]["code"]
    header = await admin.locator("#t-items thead th").all_inner_texts()
    cells = await admin.locator("#t-items tbody tr").filter(has_text=item).first.locator("td").all_inner_texts()
    assert re.match(r"^\d+\.\d% \(\d+ of \d+\)$", cells[header.index("Poor network")]), cells
    assert await admin.locator("#c-poor-hour rect[data-hour]").count() >= 1
