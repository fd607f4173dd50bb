"""Unit tests of the pages' shared library (shared_web/, served at /lib/) in headless Chromium.

Each test opens a blank page on the real server's origin (no page script), imports the
modules with `import()` and asserts what they do: the HTTP error shape and time-outs, errors
shown and cleared by id, the element helper, the language switch and the page chrome, and a
WebRTC leg against a peer connection in the same page standing in for the server (a fake
socket carries its offers, candidates and `rtc:renegotiate`), and the tiles of a call of several
people mapping each track to its participant by mid.
"""

from __future__ import annotations

import asyncio

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


async def blank(new_page):
    """A same-origin page with nothing of its own (the modules are imported into it).

    Playwright answers it, so none of the server's pages or their headers are involved."""
    page = await new_page("/healthz")
    await page.route("**/web-lib-test", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<!doctype html><html lang='en'><title>shared_web</title></html>"))
    await page.goto("/web-lib-test")
    return page


async def test_http_error_shape_auth_and_timeout(new_page):
    page = await blank(new_page)
    seen = {}

    async def echo(route):
        seen["headers"] = route.request.headers
        seen["body"] = route.request.post_data
        await route.fulfill(status=200, content_type="application/json", body='{"ok": true}')

    async def slow(route):
        await asyncio.sleep(1.5)
        try:
            await route.fulfill(status=200, content_type="application/json", body="{}")
        except Exception:  # the page gave up on it already
            pass

    await page.route("**/test/echo", echo)
    await page.route("**/test/slow", slow)
    await page.route("**/test/down", lambda route: route.abort())
    result = await page.evaluate("""async () => {
        const { request, getConfig, HttpError } = await import("/lib/http.js");
        const failure = async (promise) => {
            try { await promise; return null; }
            catch (e) { return { code: e.code, message: e.message, status: e.status, isHttpError: e instanceof HttpError }; }
        };
        return {
            refused: await failure(request("/api/sessions")),
            missing: await failure(request("/lib/no-such-module.js")),
            down: await failure(request("/test/down")),
            slow: await failure(request("/test/slow", { timeoutMs: 200 })),
            echo: await request("/test/echo", { method: "POST", token: "tok-1", json: { a: 1 } }),
            config: await getConfig(),
            sameConfig: (await getConfig()) === (await getConfig()),
        };
    }""")
    # The server's own {"error": {code, message}}, with the status.
    refused = result["refused"]
    assert refused["isHttpError"] and refused["status"] == 401
    assert refused["code"] and refused["code"] != "http_401" and refused["message"]
    # No error body: the status stands in for the code.
    assert result["missing"]["code"] == "http_404" and result["missing"]["status"] == 404
    assert result["down"]["code"] == "network_error" and result["down"]["isHttpError"]
    assert result["slow"]["code"] == "timeout"
    assert result["echo"] == {"ok": True}
    assert seen["headers"]["authorization"] == "Bearer tok-1"
    assert seen["headers"]["content-type"] == "application/json" and seen["body"] == '{"a":1}'
    assert "ice_servers" in result["config"] and result["sameConfig"]


async def test_errors_are_shown_and_cleared_by_id(new_page):
    page = await blank(new_page)
    result = await page.evaluate("""async () => {
        const { errorBlock, showError, clearError } = await import("/lib/errors.js");
        document.body.append(errorBlock());
        const box = document.getElementById("error");
        const state = () => (box.hidden ? null : document.getElementById("error-text").textContent);
        const out = {};
        out.initially = state();
        showError({ code: "disconnected", message: "reconnecting" });
        out.shown = state();
        out.code = box.dataset.code;
        showError({ ok: false, error: { code: "rtc_error", message: "the offer failed; disconnected" } });
        clearError("disconnected");          // an earlier error: the later one stays
        out.afterOtherId = state();
        clearError("rtc_error");
        out.cleared = state();
        showError({ message: "bad password" }, "login");
        clearError("nothing-shown");
        out.named = state();
        clearError("login");
        out.namedCleared = state();
        // The server's words for a known code are replaced by the page's own; codes never show.
        showError({ ok: false, error: { code: "invalid_credentials", message: "wrong username or password" } });
        out.known = state();
        const { HttpError } = await import("/lib/http.js");
        showError(new HttpError("too_large", "a document may be at most 10 MB", 413));
        out.http = state();
        showError({ code: "too_large", message: "The file is larger than 10 MB." });  // the page's own words
        out.page = state();
        showError("plain text");
        document.getElementById("error-dismiss").click();
        out.dismissed = state();
        return out;
    }""")
    assert result["initially"] is None
    assert result["shown"] == "Error: reconnecting"
    assert result["code"] == "disconnected"  # kept for support, not shown
    # Cleared by id, never by the words on screen (this message contains "disconnected").
    assert result["afterOtherId"] == "Error: the offer failed; disconnected"
    assert result["cleared"] is None
    assert result["named"] == "Error: bad password"
    assert result["namedCleared"] is None
    assert result["known"] == "Error: Wrong username or password."
    assert result["http"] == "Error: The file is too large."
    assert result["page"] == "Error: The file is larger than 10 MB."
    assert result["dismissed"] is None


async def test_dom_helper(new_page):
    page = await blank(new_page)
    result = await page.evaluate("""async () => {
        const { el, svg, $ } = await import("/lib/dom.js");
        let clicks = 0;
        const b = el("button", { id: "b1", class: "btn x", type: "button", text: "Go", onclick: () => clicks++,
                                 hidden: false, disabled: true, title: null, "aria-label": "Go now" });
        const list = el("ul", {}, ["a", null, el("li", { text: "b" })], 7);
        document.body.append(b, list);
        b.dispatchEvent(new Event("click"));
        const s = svg("rect", { class: "bar", width: 3 }, svg("title", {}, "three"));
        return {
            found: $("b1") === b, cls: b.className, text: b.textContent, clicks,
            hidden: b.hasAttribute("hidden"), disabled: b.disabled, title: b.hasAttribute("title"),
            label: b.getAttribute("aria-label"), listText: list.textContent, listNodes: list.childNodes.length,
            svgNs: s.namespaceURI, svgClass: s.getAttribute("class"), svgTitle: s.firstChild.textContent,
        };
    }""")
    assert result["found"] and result["cls"] == "btn x" and result["text"] == "Go"
    assert result["clicks"] == 1 and result["disabled"] and not result["hidden"] and not result["title"]
    assert result["label"] == "Go now"
    assert result["listText"] == "ab7" and result["listNodes"] == 3
    assert result["svgNs"] == "http://www.w3.org/2000/svg" and result["svgClass"] == "bar" and result["svgTitle"] == "three"


async def test_i18n_switch_and_page_chrome(new_page):
    page = await blank(new_page)
    result = await page.evaluate("""async () => {
        document.body.innerHTML = `
            <header class="topbar" data-title="admin.title"><div class="topbar-tools"><span id="own">mine</span></div></header>
            <p id="p" data-i18n="caller.call"></p><input id="i" data-i18n-ph="chat.ph">
            <footer class="footer" data-note="app.privacy"></footer>`;
        const i18n = await import("/lib/i18n.js");
        const { mountChrome } = await import("/lib/chrome.js");
        const { showError } = await import("/lib/errors.js");
        mountChrome();
        const text = (sel) => document.querySelector(sel).textContent;
        const out = { lang: i18n.getLang(), header: text("header"), para: text("#p"), footer: text("footer"),
                      errorAfterHeader: document.querySelector("header").nextElementSibling.id,
                      own: !!document.querySelector("header .topbar-tools #own") };
        out.vars = i18n.t("caller.service.count", { n: 3 });
        out.unknown = i18n.t("no.such.key");
        out.tvKnown = i18n.tv("outcome", "missed");
        out.tvUnknown = i18n.tv("outcome", "teleported");
        out.clock = [i18n.fmtClock(0), i18n.fmtClock(61.9), i18n.fmtClock(600)];
        out.durations = [i18n.fmtDuration(42), i18n.fmtDuration(125), i18n.fmtDuration(null)];
        let heard = null;
        i18n.onLangChange((l) => { heard = l; });
        showError({ code: "x", message: "m" });
        document.getElementById("lang-switch").click();
        out.zh = { lang: i18n.getLang(), heard, html: document.documentElement.lang, para: text("#p"),
                   ph: document.getElementById("i").placeholder, button: text("#lang-switch"),
                   dismiss: text("#error-dismiss"), stored: localStorage.getItem("vw.lang"),
                   fallback: i18n.t("lang.label") };
        i18n.setLang("en");
        out.back = text("#p");
        return out;
    }""")
    assert result["lang"] == "en"
    assert "Virtual Window · Administration" in result["header"] and "中文" in result["header"]
    assert result["own"] and result["errorAfterHeader"] == "error"
    assert result["footer"] == "Citizen Service Center · Virtual Window · Calls are recorded for service quality."
    assert result["para"] == "Call"
    assert result["vars"] != "caller.service.count" and "3" in result["vars"]
    assert result["unknown"] == "no.such.key"
    assert result["tvUnknown"] == "teleported" and result["tvKnown"] not in ("missed", "outcome.missed")
    assert result["clock"] == ["0:00", "1:01", "10:00"]
    assert result["durations"] == ["42 s", "2:05", "—"]
    zh = result["zh"]
    assert zh["lang"] == "zh" and zh["heard"] == "zh" and zh["html"] == "zh-CN" and zh["stored"] == "zh"
    assert zh["para"] == "呼叫" and zh["button"] == "English" and zh["dismiss"] != "Dismiss" and zh["ph"]
    assert result["back"] == "Call"


LEG_HARNESS = """
async ({ delayMs }) => {
    const { Leg } = await import("/lib/leg.js");
    const log = [];         // what the page sent, in order, and when the answer came back
    const tracks = [];      // [index, kind] of every remote track
    const handlers = {};
    const media = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    let server = null;
    // The stand-in for the server: answers every offer, sending the fake camera and
    // microphone on each m-line the page receives on; its candidates are in the answer.
    async function answer(sdp) {
        if (!server) server = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
        await server.setRemoteDescription({ type: "offer", sdp });
        for (const tr of server.getTransceivers()) {
            if (tr.sender.track) continue;
            tr.direction = "sendonly";
            await tr.sender.replaceTrack(tr.receiver.track.kind === "audio" ? media.getAudioTracks()[0] : media.getVideoTracks()[0]);
        }
        await server.setLocalDescription(await server.createAnswer());
        if (server.iceGatheringState !== "complete") {
            await new Promise((done) => server.addEventListener("icegatheringstatechange", () => {
                if (server.iceGatheringState === "complete") done();
            }));
        }
        await new Promise((done) => setTimeout(done, delayMs)); // candidates gather meanwhile
        return server.localDescription.sdp;
    }
    const socket = {
        id: "fake-connection",
        on(event, fn) { handlers[event] = fn; },
        off(event) { delete handlers[event]; },
        timeout() { return this; },
        emit(event, payload, ack) {
            log.push({ event, candidate: payload && payload.candidate, mlines: payload && payload.sdp ? payload.sdp.split("\\nm=").length - 1 : null });
            if (event === "rtc:offer") {
                answer(payload.sdp).then((sdp) => { log.push({ event: "answered" }); ack(null, { ok: true, type: "answer", sdp }); });
            } else if (event === "rtc:candidate") {
                if (payload.candidate) server.addIceCandidate(payload).catch(() => {});
                ack({ ok: true });
            }
        },
    };
    const leg = new Leg(socket, { onTrack: (track, index) => tracks.push([index, track.kind]) });
    window.harness = { leg, log, tracks, handlers, server: () => server };
    const opened = await leg.open([{ kind: "audio" }, { kind: "video" }]);
    return { opened, usable: leg.usable };
}
"""


async def test_leg_buffers_candidates_renegotiates_and_reports_stats(new_page):
    page = await blank(new_page)
    opened = await page.evaluate(LEG_HARNESS, {"delayMs": 400})
    assert opened == {"opened": True, "usable": True}
    await page.wait_for_function("() => harness.leg.state === 'connected'", timeout=15_000)
    await page.wait_for_function("() => harness.log.some((e) => e.event === 'rtc:candidate' && e.candidate === '')")

    first = await page.evaluate("() => harness.log")
    answered = next(i for i, e in enumerate(first) if e["event"] == "answered")
    candidates = [i for i, e in enumerate(first) if e["event"] == "rtc:candidate"]
    assert first[0] == {"event": "rtc:offer", "candidate": None, "mlines": 2}
    # Gathered while the offer was out, sent only after the answer; the end marker last.
    assert candidates and all(i > answered for i in candidates)
    assert first[candidates[-1]]["candidate"] == "" and any(first[i]["candidate"] for i in candidates)

    # rtc:renegotiate {audio: 1, video: 1}: two receive-only m-lines after the two, a new offer.
    reply = await page.evaluate("""() => new Promise((resolve) => harness.handlers["rtc:renegotiate"]({ audio: 1, video: 1 }, resolve))""")
    assert reply == {"ok": True}
    after = await page.evaluate("""() => ({
        offers: harness.log.filter((e) => e.event === "rtc:offer").map((e) => e.mlines),
        lines: harness.leg.pc.getTransceivers().map((t) => [t.receiver.track.kind, t.direction]),
    })""")
    assert after["offers"] == [2, 4]
    assert after["lines"] == [["audio", "recvonly"], ["video", "recvonly"], ["audio", "recvonly"], ["video", "recvonly"]]
    await page.wait_for_function("() => [0, 1, 2, 3].every((i) => harness.tracks.some(([index]) => index === i))")
    kinds = dict(await page.evaluate("() => harness.tracks"))
    assert kinds == {0: "audio", 1: "video", 2: "audio", 3: "video"}

    # Malformed requests are refused without an offer.
    for bad in ({"audio": -1}, {"video": 1.5}, {"audio": 5, "video": 5}):
        reply = await page.evaluate("(msg) => new Promise((resolve) => harness.handlers['rtc:renegotiate'](msg, resolve))", bad)
        assert reply["ok"] is False and reply["error"]["code"] == "invalid_value", (bad, reply)
    assert await page.evaluate("() => harness.log.filter((e) => e.event === 'rtc:offer').length") == 2

    # Stats: media flows in on the m-lines.
    await page.wait_for_function("""async () => {
        const s = await harness.leg.stats();
        return s.state === "connected" && s.inbound.some((r) => r.kind === "video" && r.bytes > 0 && r.frames > 0);
    }""", timeout=15_000, polling=250)
    stats = await page.evaluate("() => harness.leg.stats()")
    assert {r["kind"] for r in stats["inbound"]} == {"audio", "video"}
    assert stats["outbound"] == []

    await page.evaluate("() => harness.leg.destroy()")
    left = await page.evaluate("() => ({ handlers: Object.keys(harness.handlers), state: harness.leg.state })")
    assert left == {"handlers": [], "state": "closed"}


async def test_participant_tiles_map_tracks_by_mid(new_page):
    """ParticipantTiles: each participant's tracks are the receivers of the transceivers call:participants
    names by mid (never the m-line order); the main one plays in the large <video>, the others get a
    captioned tile and an <audio> each; a new list moves them; clear() removes everything."""
    page = await blank(new_page)
    result = await page.evaluate("""async () => {
        const { ParticipantTiles } = await import("/lib/participants.js");
        const pc = new RTCPeerConnection();
        for (const kind of ["audio", "video", "audio", "video", "audio", "video"]) pc.addTransceiver(kind, { direction: "recvonly" });
        await pc.setLocalDescription(await pc.createOffer());  // the mids exist from here
        const track = (mid) => pc.getTransceivers().find((t) => t.mid === mid).receiver.track.id;
        const stage = document.createElement("div");
        const main = document.createElement("video");
        stage.append(main);
        document.body.append(stage);
        const mains = [];
        const tiles = new ParticipantTiles({
            stage, main, selfId: () => "specialist:1",
            pickMain: (others) => others.find((p) => p.role === "caller"),
            onMain: (p) => mains.push(p && p.id),
        });
        const leg = { pc, offers: Promise.resolve() };
        const seen = () => ({
            main: main.srcObject ? main.srcObject.getTracks().map((t) => t.id) : [],
            tiles: [...stage.querySelectorAll(".tile")].map((f) => ({
                id: f.dataset.participantId, name: f.querySelector("figcaption").textContent, role: f.dataset.role,
                video: f.querySelector("video").srcObject.getTracks().map((t) => t.id),
            })),
            sounds: [...stage.querySelectorAll(".tile-sounds audio")].map((a) => [a.dataset.participantId, a.srcObject.getTracks()[0].id]),
            multi: stage.classList.contains("multi"),
        });
        const before = { active: tiles.active, ...seen() };
        tiles.update({ call_id: "c1", mode: "conference", participants: [
            { id: "specialist:2", role: "specialist", display_name: "李娜", audio_mid: "0", video_mid: "1" },
            { id: "caller", role: "caller", display_name: "Caller", audio_mid: "2", video_mid: "3" },
            { id: "specialist:1", role: "specialist", display_name: "me" },  // never a tile of one's own
        ] }, leg);
        const three = seen();
        // The caller moves onto the first m-lines, a supervisor barges in on the last ones.
        tiles.update({ call_id: "c1", mode: null, participants: [
            { id: "caller", role: "caller", display_name: "Caller", audio_mid: "0", video_mid: "1" },
            { id: "supervisor:9", role: "supervisor", display_name: "王主任", audio_mid: "4", video_mid: "5" },
        ] }, leg);
        const moved = seen();
        tiles.update({ call_id: "c1", mode: null, participants: [
            { id: "caller", role: "caller", display_name: "Caller", audio_mid: "0", video_mid: "1" },
            { id: "supervisor:9", role: "supervisor", display_name: "王主任", audio_mid: "4" },  // whispering: heard only
        ] }, leg);
        const whisper = seen();
        tiles.update({ call_id: "c1", mode: null, participants: [
            { id: "caller", role: "caller", display_name: "Caller", audio_mid: "0", video_mid: "1" },
        ] }, leg);
        const two = seen();
        tiles.clear();
        return { before, three, moved, whisper, two, cleared: { active: tiles.active, ...seen() }, mains,
                 ids: Object.fromEntries(["0", "1", "2", "3", "4", "5"].map((m) => [m, track(m)])) };
    }""")
    ids = result["ids"]
    assert result["before"] == {"active": False, "main": [], "tiles": [], "sounds": [], "multi": False}
    assert result["three"] == {
        "main": [ids["2"], ids["3"]],  # the caller, by its mids, though on the later m-lines
        "tiles": [{"id": "specialist:2", "name": "李娜", "role": "specialist", "video": [ids["1"]]}],
        "sounds": [["specialist:2", ids["0"]]],
        "multi": True,
    }
    assert result["moved"] == {
        "main": [ids["0"], ids["1"]],
        "tiles": [{"id": "supervisor:9", "name": "王主任", "role": "supervisor", "video": [ids["5"]]}],
        "sounds": [["supervisor:9", ids["4"]]],
        "multi": True,
    }
    assert result["whisper"] == {"main": [ids["0"], ids["1"]], "tiles": [], "sounds": [["supervisor:9", ids["4"]]], "multi": False}
    assert result["two"] == {"main": [ids["0"], ids["1"]], "tiles": [], "sounds": [], "multi": False}
    assert result["cleared"]["active"] is False and result["cleared"]["tiles"] == [] and result["cleared"]["sounds"] == []
    assert result["mains"][-1] is None and "caller" in result["mains"]
