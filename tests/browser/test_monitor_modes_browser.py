"""The supervisor's modes in headless Chromium: listen, whisper, barge, switched live (issue 13).

A headless caller (red picture, 440 Hz) and specialist `demo` (green, 660 Hz) are in a call
(signaling.client, which decodes what it receives per mid). The administrator monitors it on the
wallboard and switches the mode: in whisper the specialist is told and receives the supervisor's
microphone on a transceiver of its own while the caller is told nothing and receives nothing new;
in barge the caller is told too and both receive the supervisor's camera (a blue canvas) and
microphone; back to listen, the parties are told the supervisor no longer speaks to them.
"""

from __future__ import annotations

import asyncio

import pytest

from signaling.client import Caller, Specialist

from test_conference_browser import COLOUR_CAMERA

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

SUPERVISOR_BLUE = (0, 60, 255)  # near the client's "blue" chroma once encoded


def supervisor_in(msg) -> dict | None:
    """The supervisor in a call:participants, if listed."""
    return next((p for p in msg.get("participants", []) if p.get("role") == "supervisor"), None)


async def frames_grow(party, mid: str, label: str, colour: str | None = None, timeout_s: float = 20.0):
    """`party` decodes more and more frames on its transceiver `mid` (of `colour`, for video)."""
    first = None
    seen = None
    for _ in range(int(timeout_s / 0.25)):
        seen = party.reception.by_mid.get(mid) if party.reception else None
        if seen and seen["frames"] and (colour is None or seen["colour"] == colour):
            if first is None:
                first = seen["frames"]
            elif seen["frames"] >= first + 10:
                return
        await asyncio.sleep(0.25)
    raise AssertionError(f"{label}: nothing decoded on mid {mid} ({seen})")


async def test_supervisor_listens_whispers_and_barges(server, new_page):
    admin = await new_page("/admin", init_script=COLOUR_CAMERA % SUPERVISOR_BLUE)
    await admin.get_by_label("Username", exact=True).fill("admin")
    await admin.get_by_label("Password", exact=True).fill("admin123")
    await admin.get_by_role("button", name="Log in", exact=True).click()
    await admin.locator("#sessions-body").wait_for()
    await admin.get_by_role("link", name="Wallboard", exact=True).click()
    await admin.wait_for_function("() => window.vw.statsCount >= 1")

    item = server.get_json("/api/service-items?q=")["items"][0]["code"]
    addr = ["127.0.0.1"]
    spec = Specialist(server.base_url, username="demo", password="demo123", media_addresses=addr)
    spec.colour, spec.pitch = "green", 660.0
    caller = Caller(server.base_url, media_addresses=addr)
    caller.colour, caller.pitch = "red", 440.0
    try:
        await spec.connect()
        await spec.open_leg()
        await spec.set_state("ready", auto_answer=True)
        await caller.connect()
        await caller.open_leg()
        call_id = (await caller.request(item, "Supervised Caller"))["call_id"]
        await caller.wait_media(3, 3, timeout=20)

        row = admin.locator(f'#wb-calls tr[data-call-id="{call_id}"]')
        await row.get_by_role("button", name="Monitor", exact=True).click()
        await admin.locator("#monitor-status").filter(has_text="They cannot hear or see you").wait_for()
        mode = admin.locator("#monitor-mode")
        assert await mode.get_by_label("Listen").is_checked()

        # --- whisper: the specialist hears the supervisor; the caller neither hears nor is told
        await mode.get_by_label("Whisper to the specialist").check()
        await admin.locator("#monitor-status").filter(has_text="Whispering").wait_for()
        assert await admin.locator("#monitor-title").text_content() == "Monitoring: whispering to the specialist"
        told = await spec.wait_for("call:supervisor", timeout=15, predicate=lambda m: m.get("mode") == "whisper")
        assert told["call_id"] == call_id and told["supervisor"]["display_name"]
        # listed at once, with its mid once the specialist's leg has the transceiver for it
        listed = await spec.wait_for("call:participants", timeout=15, predicate=lambda m: (supervisor_in(m) or {}).get("audio_mid"))
        await frames_grow(spec, supervisor_in(listed)["audio_mid"], "the specialist hears the whisper")
        caller_audio = {mid for mid, seen in caller.reception.by_mid.items() if seen["kind"] == "audio" and seen["frames"]}
        with pytest.raises(TimeoutError):  # the caller is not told of a whisper
            await caller.wait_for("call:supervisor", timeout=1)
        assert {mid for mid, seen in caller.reception.by_mid.items() if seen["kind"] == "audio" and seen["frames"]} == caller_audio

        # --- barge: everyone sees and hears the supervisor
        await mode.get_by_label("Barge in").check()
        await admin.locator("#monitor-status").filter(has_text="Barged in").wait_for()
        await caller.wait_for("call:supervisor", timeout=15, predicate=lambda m: m.get("mode") == "barge")
        await spec.wait_for("call:supervisor", timeout=15, predicate=lambda m: m.get("mode") == "barge")
        listed = await caller.wait_for("call:participants", timeout=15, predicate=lambda m: (supervisor_in(m) or {}).get("video_mid"))
        await frames_grow(caller, supervisor_in(listed)["video_mid"], "the caller sees the supervisor", colour="blue")
        await frames_grow(caller, supervisor_in(listed)["audio_mid"], "the caller hears the supervisor")
        listed = await spec.wait_for("call:participants", timeout=15, predicate=lambda m: (supervisor_in(m) or {}).get("video_mid"))
        await frames_grow(spec, supervisor_in(listed)["video_mid"], "the specialist sees the supervisor", colour="blue")

        # --- back to listening: both are told the supervisor no longer speaks to them
        await mode.get_by_label("Listen").check()
        await admin.locator("#monitor-status").filter(has_text="They cannot hear or see you").wait_for()
        assert await admin.locator("#monitor-title").text_content() == "Monitoring (silent)"
        await caller.wait_for("call:supervisor", timeout=15, predicate=lambda m: m.get("mode") is None)
        await spec.wait_for("call:supervisor", timeout=15, predicate=lambda m: m.get("mode") is None)
        session = server.get_json(f"/api/sessions/{call_id}", server.login("admin", "admin123"))
        modes = [e["data"].get("mode") for e in session["events"] if e["type"] == "monitor_mode"]
        assert modes == ["whisper", "barge", "listen"], modes

        await admin.get_by_role("button", name="Stop monitoring", exact=True).click()
        await caller.hangup(call_id)
        # Leave `demo` ready, not in wrap-up, for the next browser test (the server is shared).
        await spec.wait_for("call:ended", timeout=15, predicate=lambda e: e.get("call_id") == call_id)
        assert (await spec.wrapup(call_id))["ok"]
    finally:
        await caller.close()
        await spec.close()
