"""Network quality in the pages (shared_web/quality.js) in headless Chromium.

The module's own tests open a page on the real server's origin with only the shared styles and
a stage like the pages' (a remote video, its "camera off" placeholder, a camera button that
toggles aria-pressed), import the module and feed it `call:quality` and `call:video` messages
as the server sends them: the signal bars and their accessible names and figures, the weak
network suggestion and its camera-off button, the paused notices, and clearing at call end.
The administration's section and charts are fed the contract's shapes the same way.
A real call's figures end to end: test_quality_call_browser.py.
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

STAGE_PAGE = """<!doctype html><html lang='en'><head><title>quality</title>
<link rel="stylesheet" href="/c/style.css"><link rel="stylesheet" href="/lib/quality.css"></head>
<body><div style="width: 640px">
  <div id="stage" class="stage in-call">
    <video id="remote-video" class="remote"></video>
    <div id="media-overlay" class="overlay soft" hidden><strong id="media-text"></strong></div>
    <div id="camera-off" class="picture-off"><strong>Camera off</strong></div>
  </div>
  <button type="button" id="camera-btn" aria-pressed="true">Camera</button>
</div></body></html>"""

MOUNT = """async ([self, staleMs]) => {
    const q = await import("/lib/quality.js");
    const cam = document.getElementById("camera-btn");
    window.cameraClicks = 0;
    cam.addEventListener("click", () => {
        window.cameraClicks++;
        cam.setAttribute("aria-pressed", String(cam.getAttribute("aria-pressed") !== "true"));
    });
    window.quality = q.mountQuality(document.getElementById("stage"), { self, camera: cam, staleMs: staleMs || undefined });
    window.i18n = await import("/lib/i18n.js");
}"""

STATE = """() => {
    const shown = (el) => !!el && getComputedStyle(el).display !== "none" && !el.closest("[hidden]");
    const q = (sel) => document.querySelector(sel);
    const signal = (party) => {
        const s = q(`.signal[data-party="${party}"]`);
        return shown(s) ? { level: s.dataset.level, label: s.getAttribute("aria-label"), title: s.title,
                            name: s.textContent, lit: s.querySelectorAll(".lit").length } : null;
    };
    return {
        line: shown(q("#quality-line")),
        caller: signal("caller"),
        specialist: signal("specialist"),
        weak: shown(q(".quality-weak")) ? [...document.querySelectorAll(".quality-weak-text strong")].map((e) => e.textContent) : null,
        hint: shown(q(".quality-weak-hint")) ? q(".quality-weak-hint").textContent : null,
        cameraOff: shown(q('[data-action="camera-off"]')),
        paused: shown(q("#video-paused")) ? q("#video-paused").textContent : null,
        own: shown(q("#own-video-paused")) ? q("#own-video-paused").textContent : null,
        stagePaused: q("#stage").classList.contains("video-paused"),
        placeholder: shown(q("#camera-off")),
        camera: q("#camera-btn").getAttribute("aria-pressed"),
        clicks: window.cameraClicks,
    };
}"""


async def stage_page(new_page, self: str, stale_ms: int | None = None):
    page = await new_page("/healthz")
    await page.route("**/quality-test", lambda route: route.fulfill(status=200, content_type="text/html", body=STAGE_PAGE))
    await page.goto("/quality-test")
    await page.evaluate(MOUNT, [self, stale_ms])
    return page


async def feed(page, kind: str, msg: dict):
    await page.evaluate("([kind, msg]) => window.quality[kind]({ call_id: 'c1', ...msg })", [kind, msg])
    return await page.evaluate(STATE)


async def test_signals_name_each_side_and_give_the_figures(new_page):
    page = await stage_page(new_page, "caller")
    state = await page.evaluate(STATE)
    assert not state["line"] and state["caller"] is None and state["paused"] is None  # nothing until figures come

    state = await feed(page, "quality", {"party": "caller", "level": "good", "rtt_ms": 42, "loss_pct": 0.5, "jitter_ms": 4.2,
                                                "kbps": 1234})
    assert state["line"]
    assert state["caller"] == {"level": "good", "label": "Your network: good", "title": "Round trip 42 ms · Loss 0.5% · Jitter 4 ms · 1,234 kbps",
                               "name": "You", "lit": 3}
    assert state["specialist"] is None and state["weak"] is None
    # The accessible name is what assistive technology reads.
    await page.get_by_role("img", name="Your network: good").wait_for()

    state = await feed(page, "quality", {"party": "specialist", "level": "fair", "rtt_ms": 180, "loss_pct": 3, "kbps": None})
    assert state["specialist"]["label"] == "The specialist's network: fair" and state["specialist"]["lit"] == 2
    assert state["specialist"]["title"] == "Round trip 180 ms · Loss 3% · Jitter — · —" and state["specialist"]["name"] == "Specialist"
    assert state["weak"] is None

    # An unknown party (or a malformed message) changes nothing.
    assert await feed(page, "quality", {"party": "supervisor", "level": "poor"}) == state

    # In Chinese, the same in the page's words.
    await page.evaluate("() => window.i18n.setLang('zh')")
    zh = await page.evaluate(STATE)
    assert zh["caller"]["label"] == "您的网络：良好" and zh["specialist"]["name"] == "专员"
    assert zh["caller"]["title"].startswith("往返时延 42 毫秒")
    await page.evaluate("() => window.i18n.setLang('en')")


async def test_poor_says_whose_network_and_turns_the_camera_off(new_page):
    page = await stage_page(new_page, "caller")
    state = await feed(page, "quality", {"party": "specialist", "level": "poor", "rtt_ms": 900, "loss_pct": 12, "kbps": 90})
    assert state["specialist"]["lit"] == 1 and state["specialist"]["level"] == "poor"
    assert state["weak"] == ["The specialist's network is weak"]
    assert state["hint"] == "Turning your camera off keeps the sound clear." and state["cameraOff"]

    # Both weak: the own network first.
    state = await feed(page, "quality", {"party": "caller", "level": "poor", "rtt_ms": 700, "loss_pct": 9, "kbps": 120})
    assert state["weak"] == ["Your network is weak", "The specialist's network is weak"]
    # The notice is a live region: the same figures again leave its words untouched (not read out again).
    await page.evaluate("""() => { window.changes = 0; new MutationObserver((m) => { window.changes += m.length; })
        .observe(document.querySelector('.quality-weak'), { childList: true, subtree: true, characterData: true }); }""")
    await feed(page, "quality", {"party": "caller", "level": "poor", "rtt_ms": 720, "loss_pct": 9, "kbps": 110})
    assert await page.evaluate("() => window.changes") == 0

    # The suggestion's button is the page's own camera toggle.
    await page.get_by_role("button", name="Turn camera off", exact=True).click()
    state = await page.evaluate(STATE)
    assert state["clicks"] == 1 and state["camera"] == "false"
    assert not state["cameraOff"] and state["hint"] is None  # nothing more to suggest
    assert state["weak"] == ["Your network is weak", "The specialist's network is weak"]  # still said
    # Turned back on by hand: the suggestion comes back.
    await page.click("#camera-btn")
    state = await page.evaluate(STATE)
    assert state["camera"] == "true" and state["cameraOff"]

    # "Not now" hides it while those sides stay poor ...
    await page.get_by_role("button", name="Not now", exact=True).click()
    state = await feed(page, "quality", {"party": "caller", "level": "poor", "rtt_ms": 650, "loss_pct": 8, "kbps": 130})
    assert state["weak"] is None and state["caller"]["level"] == "poor"
    # ... and a side that recovers and weakens again is said again.
    await feed(page, "quality", {"party": "caller", "level": "good", "rtt_ms": 40, "loss_pct": 0, "kbps": 1200})
    state = await feed(page, "quality", {"party": "caller", "level": "poor", "rtt_ms": 800, "loss_pct": 10, "kbps": 100})
    assert state["weak"] == ["Your network is weak", "The specialist's network is weak"]

    # Recovered: the suggestion goes by itself; the call ending clears everything.
    await feed(page, "quality", {"party": "caller", "level": "fair", "rtt_ms": 200, "loss_pct": 2, "kbps": 600})
    state = await feed(page, "quality", {"party": "specialist", "level": "good", "rtt_ms": 30, "loss_pct": 0, "kbps": 1500})
    assert state["weak"] is None and state["caller"]["level"] == "fair"
    await page.evaluate("() => window.quality.clear()")
    state = await page.evaluate(STATE)
    assert not state["line"] and state["caller"] is None and state["specialist"] is None


async def test_console_side_names_the_caller(new_page):
    page = await stage_page(new_page, "specialist")
    state = await feed(page, "quality", {"party": "caller", "level": "poor", "rtt_ms": 500, "loss_pct": 15, "kbps": 80})
    assert state["caller"]["label"] == "The caller's network: poor" and state["caller"]["name"] == "Caller"
    assert state["weak"] == ["The caller's network is weak"]
    state = await feed(page, "quality", {"party": "specialist", "level": "good", "rtt_ms": 10, "loss_pct": 0, "kbps": 1800})
    assert state["specialist"]["label"] == "Your network: good" and state["specialist"]["name"] == "You"
    # The own signal comes first in the line.
    order = await page.evaluate("() => [...document.querySelectorAll('.signal')].map((s) => s.dataset.party)")
    assert order == ["specialist", "caller"]


async def test_figures_that_stop_coming_are_not_shown_as_the_level_now(new_page):
    page = await stage_page(new_page, "caller", stale_ms=600)
    state = await feed(page, "quality", {"party": "specialist", "level": "poor", "rtt_ms": 900, "loss_pct": 12, "kbps": 90})
    assert state["weak"] == ["The specialist's network is weak"]
    # No figures since (the call on hold, the specialist's leg reconnecting): no level, no suggestion.
    await page.wait_for_function("() => document.querySelector('.signal[data-party=\"specialist\"]').dataset.level === 'unknown'")
    state = await page.evaluate(STATE)
    assert state["specialist"]["label"] == "The specialist's network: not measured now" and state["specialist"]["lit"] == 0
    assert state["specialist"]["title"].startswith("No recent figures") and state["weak"] is None
    # Figures again: the level is back.
    state = await feed(page, "quality", {"party": "specialist", "level": "good", "rtt_ms": 30, "loss_pct": 0, "kbps": 1500})
    assert state["specialist"]["level"] == "good" and state["specialist"]["lit"] == 3


async def test_video_paused_over_the_remote_video_and_to_the_sender(new_page):
    page = await stage_page(new_page, "specialist")
    assert (await page.evaluate(STATE))["placeholder"]  # the page's "camera off" placeholder, before

    # The caller's video is paused for the specialist: said over it, instead of "camera off".
    state = await feed(page, "video", {"party": "caller", "state": "paused", "reason": "weak_network"})
    assert state["paused"].startswith("Video paused: weak network")
    assert state["stagePaused"] and not state["placeholder"] and state["own"] is None
    await page.get_by_role("status").filter(has_text="Video paused: weak network").wait_for()

    # The specialist's own video paused for the caller: a notice to the sender.
    state = await feed(page, "video", {"party": "specialist", "state": "paused", "reason": "weak_network"})
    assert state["own"] == "Your video is paused: the caller's network is too weak to receive it. The caller still hears you."
    assert state["line"]  # shown even before any quality figures

    # "Reconnecting…" says more than "paused": the paused notice stands aside meanwhile.
    await page.evaluate("() => { document.getElementById('media-overlay').hidden = false; }")
    assert (await page.evaluate(STATE))["paused"] is None
    await page.evaluate("() => { document.getElementById('media-overlay').hidden = true; }")

    state = await feed(page, "video", {"party": "caller", "state": "resumed", "reason": "weak_network"})
    assert state["paused"] is None and not state["stagePaused"] and state["placeholder"]
    assert state["own"] is not None
    state = await feed(page, "video", {"party": "specialist", "state": "resumed"})
    assert state["own"] is None and not state["line"]

    # Call end clears a pause still shown.
    await feed(page, "video", {"party": "caller", "state": "paused", "reason": "weak_network"})
    await page.evaluate("() => window.quality.clear()")
    state = await page.evaluate(STATE)
    assert state["paused"] is None and not state["stagePaused"]


async def test_caller_is_told_about_its_own_paused_video(new_page):
    page = await stage_page(new_page, "caller")
    state = await feed(page, "video", {"party": "caller", "state": "paused", "reason": "weak_network"})
    assert state["own"] == "Your video is paused: the specialist's network is too weak to receive it. The specialist still hears you."
    assert state["paused"] is None  # the remote video plays on
    state = await feed(page, "video", {"party": "specialist", "state": "paused", "reason": "weak_network"})
    assert state["paused"].startswith("Video paused: weak network")


# ---------------------------------------------------------------- administration: fed the API's shapes

ADMIN_PAGE = """<!doctype html><html lang='en'><head><title>quality admin</title>
<link rel="stylesheet" href="/s/style.css"><link rel="stylesheet" href="/s/quality.css"></head>
<body><div id="box" style="width: 900px"></div><div id="c-poor-hour"></div></body></html>"""


def summary(level: str, poor: float) -> dict:
    return {
        "level": level, "samples": 10, "seconds": 20.0, "share": {"good": 1 - poor, "fair": 0.0, "poor": poor},
        "rtt_ms": {"p50": 41, "p95": 88, "max": 120}, "loss_pct": {"mean": 0.4, "p95": 1.2, "max": 2.5},
        "loss_in_pct": 0.3, "loss_out_pct": 0.4, "jitter_ms": {"p50": 3, "p95": 9},
        "kbps_in": {"mean": 1210.4, "min": 900}, "kbps_out": {"mean": 1333, "min": 1000},
        "fps": 29.7, "fps_out": 29.9, "freezes": 2, "frozen_s": 1.4, "weak": "out" if poor else None,
    }


def samples() -> list[dict]:
    out = []
    for i in range(10):
        for party, level in (("caller", "good"), ("specialist", "poor" if 4 <= i < 7 else "good")):
            out.append({
                "at": f"2026-12-03T10:00:{2 * (i + 1):02d}Z", "party": party, "level": level,
                "rtt_ms": 40 + i, "loss_pct": 6.0 if level == "poor" else 0.2, "loss_in_pct": 0.1, "loss_out_pct": 0.2,
                "jitter_ms": 3.0, "kbps_in": 1200 if party == "caller" else 800, "kbps_out": 1300, "fps": 30.0,
                "fps_out": 30.0, "frozen_s": 0.0,
            })
    return out


async def test_admin_session_quality_section_and_poor_hours(new_page):
    page = await new_page("/healthz")
    await page.route("**/quality-admin-test", lambda route: route.fulfill(status=200, content_type="text/html", body=ADMIN_PAGE))
    await page.goto("/quality-admin-test")
    session = {"quality": {"caller": summary("good", 0.0), "specialist": summary("poor", 0.3)}, "quality_level": "poor"}
    result = await page.evaluate("""async ([s, samples]) => {
        const q = await import("/s/admin/quality.js");
        const { drawPoorHours } = await import("/s/admin/charts.js");
        document.getElementById("box").append(q.qualitySection(s, { interval_s: 2, samples }));
        const rows = [...document.querySelectorAll("#quality-summary tbody tr")].map((tr) =>
            [tr.dataset.party, ...[...tr.children].map((c) => c.textContent)]);
        const head = [...document.querySelectorAll("#quality-summary thead th")].map((th) => th.textContent);
        const svg = document.querySelector("#quality-chart svg");
        const bands = [...svg.querySelectorAll("rect.band")].map((r) => `${r.dataset.party}:${r.dataset.level}`);
        const paths = [...svg.querySelectorAll("path.series")].map((p) => `${p.dataset.party}:${p.dataset.series}:${p.dataset.points}`);
        const empty = q.qualitySection({ quality: null }, null).textContent;
        const hours = Array.from({ length: 24 }, (_, hour) => ({ hour, offered: 0, quality_calls: 0, poor_calls: 0, poor_share: null }));
        hours[9] = { hour: 9, offered: 5, quality_calls: 4, poor_calls: 1, poor_share: 0.25 };
        hours[14] = { hour: 14, offered: 3, quality_calls: 3, poor_calls: 0, poor_share: 0 };
        drawPoorHours(document.getElementById("c-poor-hour"), { by_hour: hours });
        const bars = [...document.querySelectorAll("#c-poor-hour rect")].map((r) => [r.dataset.hour, r.dataset.value, r.textContent]);
        return {
            head, rows, bands, paths, empty,
            verdict: document.getElementById("quality-level").textContent,
            desc: svg.querySelector("desc").textContent,
            legend: document.querySelector("#quality-chart .legend").textContent,
            share: q.poorShare({ quality_calls: 40, poor_calls: 2, poor_share: 0.05 }),
            noShare: q.poorShare({ quality_calls: 0 }),
            bars, hourDesc: document.querySelector("#c-poor-hour desc").textContent,
            overflow: document.getElementById("box").scrollWidth > document.getElementById("box").clientWidth,
        };
    }""", [session, samples()])
    assert result["head"][0] == "Party" and "Round trip p50 / p95" in result["head"]
    caller, specialist = result["rows"]
    assert caller[:4] == ["caller", "Caller", "good", "100.0% / 0.0% / 0.0%"]
    assert "41 / 88 ms" in caller and "0.4% / 2.5%" in caller and "1,210 / 1,333 kbps" in caller
    assert "29.7 / 29.9" in caller and "2 (1.4 s)" in caller and caller[-1] == "—"
    assert specialist[:3] == ["specialist", "Specialist", "poor"] and specialist[-1] == "Receiving (downlink)"
    assert result["verdict"] == "Over the call: poor · counted as a poor call"
    # A band per sample and party, coloured by its level; a line per party and figure.
    assert len(result["bands"]) == 20 and result["bands"].count("specialist:poor") == 3
    assert sorted(result["paths"]) == sorted(f"{p}:{k}:10" for p in ("caller", "specialist") for k in ("rtt_ms", "loss_pct", "kbps_in"))
    assert result["desc"] == "20 samples. Caller: poor in 0.0% of the samples; Specialist: poor in 30.0% of the samples."
    assert result["legend"].split() == ["Caller", "Specialist", "good", "fair", "poor"]  # each with its key, no "[object …]"
    assert result["empty"].startswith("Network quality") and "No network figures" in result["empty"]
    assert result["share"] == "5.0% (2 of 40)" and result["noShare"] == "—"
    # Only hours with measured calls are drawn; an hour with none poor is a sliver.
    assert [b[:2] for b in result["bars"]] == [["9", "25.0%"], ["14", "0.0%"]]
    assert "1 of 4" in result["bars"][0][2]
    assert result["hourDesc"].startswith("1 of 7 measured calls")
    assert not result["overflow"]
