"""A conference of three through the real pages in headless Chromium (issue 13).

A caller on / calls; specialist `demo` answers on one /console; a second
specialist (`li.na`) signs in on another /console; `demo` invites her into a
conference with a note; her offer says who invites, how and why; she accepts.
Each page then plays the other two participants' videos, each in the tile of
the right person: every page's camera is a plain colour (red caller, green
`demo`, blue `li.na`), so the colour in a tile tells whose picture it is. The
invited specialist leaves, the call goes on between the caller and `demo`;
`demo` hangs up and wraps up. Both specialists are signed out at the end (the
server is shared by every browser test).
"""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

RED, GREEN, BLUE = (220, 40, 40), (40, 190, 60), (40, 80, 230)

# The page's camera, a canvas of one colour (Chromium's fake camera looks the same on every page).
COLOUR_CAMERA = """(() => {
  const colour = "rgb(%d, %d, %d)";
  const devices = navigator.mediaDevices;
  if (!devices) return;
  const original = devices.getUserMedia.bind(devices);
  devices.getUserMedia = async (constraints) => {
    const stream = await original(constraints);
    if (!constraints || !constraints.video) return stream;
    const canvas = document.createElement("canvas");
    canvas.width = 320;
    canvas.height = 240;
    const ctx = canvas.getContext("2d");
    let n = 0;
    setInterval(() => {  // repainted, so frames keep coming
      ctx.fillStyle = colour;
      ctx.fillRect(0, 0, 320, 240);
      ctx.fillStyle = n++ %% 2 ? colour : "rgb(128, 128, 128)";
      ctx.fillRect(0, 0, 4, 4);
    }, 66);
    for (const track of stream.getVideoTracks()) { stream.removeTrack(track); track.stop(); }
    stream.addTrack(canvas.captureStream(15).getVideoTracks()[0]);
    return stream;
  };
})();"""

# What a <video> shows: frames presented, its size, and the mean colour of its middle.
PICTURE = """(video) => {
  if (!video || !video.videoWidth) return null;
  const canvas = document.createElement("canvas");
  canvas.width = 16;
  canvas.height = 12;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(video, video.videoWidth / 4, video.videoHeight / 4, video.videoWidth / 2, video.videoHeight / 2, 0, 0, 16, 12);
  const d = ctx.getImageData(0, 0, 16, 12).data;
  const sum = [0, 0, 0];
  for (let i = 0; i < d.length; i += 4) for (let k = 0; k < 3; k++) sum[k] += d[i + k];
  const n = d.length / 4;
  const box = video.getBoundingClientRect();
  return { frames: Number(video.dataset.frames || 0), width: video.videoWidth, shown: box.width * box.height,
           paused: video.paused, colour: sum.map((v) => Math.round(v / n)) };
}"""


def near(colour, expected, tolerance=45) -> bool:
    return colour is not None and all(abs(a - b) <= tolerance for a, b in zip(colour, expected))


async def sign_in(console, username: str, ready: bool = True):
    await console.get_by_label("Username", exact=True).fill(username)
    await console.get_by_label("Password", exact=True).fill("demo123")
    await console.get_by_role("button", name="Log in", exact=True).click()
    auto = console.get_by_label("Auto-answer", exact=True)
    await auto.wait_for()
    if await auto.is_checked():
        await auto.uncheck()
    await console.wait_for_function("() => window.vw.legState === 'connected'", timeout=20_000)
    if ready:
        await console.get_by_role("button", name="Ready", exact=True).click()
        await console.wait_for_function("() => window.vw.state === 'ready'")


async def picture(page, selector: str):
    return await page.locator(selector).evaluate(PICTURE)


async def wait_picture(page, selector: str, colour, label: str, timeout_s: float = 25.0):
    """`selector`'s video plays (frames keep coming, it has a size on screen) in `colour`."""
    last = None
    first = None
    for _ in range(int(timeout_s / 0.25)):
        last = await picture(page, selector)
        if last and last["frames"] > 0 and last["shown"] > 0 and not last["paused"] and near(last["colour"], colour):
            if first is None:
                first = last
            elif last["frames"] >= first["frames"] + 5:
                return last
        await page.wait_for_timeout(250)
    raise AssertionError(f"{label}: {selector} does not play the expected picture {colour} (last={last})")


async def tile_of(page, name: str) -> str:
    """The selector of the tile captioned `name` (it must exist)."""
    tile = page.locator("#stage .tile", has=page.locator(".tile-name", has_text=name))
    await tile.wait_for()
    pid = await tile.get_attribute("data-participant-id")
    return f'#stage .tile[data-participant-id="{pid}"] video'


async def three_pages(new_page):
    """`demo` (green) ready on one console, `li.na` (blue) signed in on another, the caller page (red)."""
    laptop = {"width": 1366, "height": 900}
    front = await new_page("/console", viewport=laptop, init_script=COLOUR_CAMERA % GREEN)
    back = await new_page("/console", viewport=laptop, init_script=COLOUR_CAMERA % BLUE)
    caller = await new_page("/", viewport=laptop, init_script=COLOUR_CAMERA % RED)
    await sign_in(front, "demo")
    await sign_in(back, "li.na", ready=False)  # ready only once the call is demo's
    return front, back, caller


async def test_conference_of_three_from_the_console(server, new_page):
    item = server.get_json("/api/service-items?q=")["items"][0]
    front, back, caller = await three_pages(new_page)
    try:
        front_name = await front.evaluate("() => window.vw.user.display_name")
        back_name = await back.evaluate("() => window.vw.user.display_name")

        # --- the caller calls; demo answers
        call_id = await call_demo(caller, front, item, "Conference Caller")
        await wait_picture(front, "#remote-video", RED, "demo sees the caller")
        await front.get_by_role("textbox", name="Message").fill("Which form do I need?")
        await front.get_by_role("button", name="Send", exact=True).click()

        # --- demo invites li.na into a conference, with a note
        await back.get_by_role("button", name="Ready", exact=True).click()
        await back.wait_for_function("() => window.vw.state === 'ready'")
        await invite(front, "li.na", "Conference: all three together", "Approval of the licence change")
        await front.locator("#invite-status").filter(has_text=f"Inviting {back_name} to a conference").wait_for()

        # --- li.na's offer says who invites, how and why, with the chat so far; she accepts
        await back.locator("#offer-card").wait_for(state="visible")
        invite_text = await back.locator("#offer-invite").text_content()
        assert front_name in invite_text and "conference" in invite_text and "Approval of the licence change" in invite_text
        await back.locator("#offer-history-log").filter(has_text="Which form do I need?").wait_for()
        await back.get_by_role("button", name="Accept", exact=True).click()
        await back.get_by_role("button", name="Leave", exact=True).wait_for()
        assert not await back.get_by_role("button", name="Hang up", exact=True).is_visible()

        # --- every page plays the other two, each in their own tile
        await front.locator("#invite-status").filter(has_text=f"In a conference with {back_name}").wait_for()
        await wait_picture(front, "#remote-video", RED, "demo: the caller, large")
        await wait_picture(front, await tile_of(front, back_name), BLUE, "demo: li.na's tile")
        await wait_picture(back, "#remote-video", RED, "li.na: the caller, large")
        await wait_picture(back, await tile_of(back, front_name), GREEN, "li.na: demo's tile")
        main_name = await caller.locator("#specialist-badge").text_content()
        other_name = back_name if main_name == front_name else front_name
        assert main_name in (front_name, back_name)
        colour = {front_name: GREEN, back_name: BLUE}
        await wait_picture(caller, "#remote-video", colour[main_name], "caller: the first specialist")
        await wait_picture(caller, await tile_of(caller, other_name), colour[other_name], "caller: the second specialist")
        # the caller large on the consoles; the two specialists side by side on the caller page
        big = await picture(front, "#remote-video")
        small = await picture(front, await tile_of(front, back_name))
        assert big["shown"] > 1.5 * small["shown"], (big, small)
        # the browser plays the second party's sound itself: one <audio> per extra audio track
        for page in (front, back, caller):
            assert await page.evaluate("""() => [...document.querySelectorAll('.tile-sounds audio')]
                .filter((a) => a.srcObject && a.srcObject.getAudioTracks()[0].readyState === 'live').length""") == 1

        # --- li.na leaves; the call goes on between the caller and demo
        await back.get_by_role("button", name="Leave", exact=True).click()
        await back.locator("#call-card").wait_for(state="hidden")
        await back.wait_for_function("() => window.vw.state === 'ready'")
        assert await back.locator("#wrapup-card").is_hidden()  # the owner writes the notes
        await front.locator("#stage .tile").wait_for(state="detached")
        await caller.locator("#stage .tile").wait_for(state="detached")
        await wait_picture(front, "#remote-video", RED, "demo still sees the caller")
        await wait_picture(caller, "#remote-video", GREEN, "the caller still sees demo")

        # --- demo hangs up and wraps up
        await front.get_by_role("button", name="Hang up", exact=True).click()
        await caller.wait_for_function("() => window.vw.state === 'ended'")
        finish = front.get_by_role("button", name="Finish wrap-up", exact=True)
        await finish.wait_for(state="visible")
        await front.get_by_label("Notes", exact=True).fill("Licence change approved with the back office.")
        await finish.click()
        await finish.wait_for(state="hidden")
        await front.wait_for_function("() => window.vw.state === 'ready'")

        session = server.get_json(f"/api/sessions/{call_id}", server.login("admin", "admin123"))
        assert session["specialist"]["username"] == "demo" and session["outcome"] == "answered"
    finally:
        await sign_out(back, front)


async def sign_out(*consoles):
    """Put the shared server back: nobody signed in from this test."""
    for page in consoles:
        logout = page.get_by_role("button", name="Log out", exact=True)
        if await logout.is_visible():
            await logout.click()


async def call_demo(caller, front, item, name: str) -> str:
    """The caller calls and `demo` (on `front`) answers; the session's id."""
    await caller.get_by_label("Service", exact=True).fill(item["code"])
    await caller.get_by_role("radio", name=re.compile(re.escape(item["code"]))).first.check()
    await caller.get_by_label("Name", exact=True).fill(name)
    await caller.wait_for_function("() => window.vw.legState === 'connected'", timeout=20_000)
    await caller.get_by_role("button", name="Call", exact=True).click()
    await caller.wait_for_function("() => window.vw.callId")
    call_id = await caller.evaluate("() => window.vw.callId")
    await front.get_by_role("button", name="Accept", exact=True).click()
    await caller.wait_for_function("() => window.vw.state === 'connected'")
    return call_id


async def invite(front, username: str, how: str, note: str):
    await front.get_by_role("button", name="Invite", exact=True).click()
    dialog = front.locator("#invite-dialog")
    await dialog.get_by_label("A named specialist").check()
    await dialog.get_by_label("Specialist", exact=True).select_option(username)
    await dialog.get_by_label(how).check()
    await dialog.get_by_label("Note for your colleague").fill(note)
    await dialog.get_by_role("button", name="Send the invitation", exact=True).click()


async def test_consult_declined_then_accepted_conference_and_hand_over(server, new_page):
    """A declined invitation is told; a consult holds the caller (the hold screen says why) while
    the specialists see each other; it becomes a conference; the hand-over leaves the caller with
    the invited specialist, who then owns the call and wraps it up."""
    item = server.get_json("/api/service-items?q=")["items"][0]
    front, back, caller = await three_pages(new_page)
    try:
        back_name = await back.evaluate("() => window.vw.user.display_name")
        first_id = await call_demo(caller, front, item, "Consult Caller")
        first_no = await caller.locator(".session-no").first.text_content()
        await back.get_by_role("button", name="Ready", exact=True).click()
        await back.wait_for_function("() => window.vw.state === 'ready'")

        # --- declined: the inviter is told, and may invite again
        await invite(front, "li.na", "Consult: the caller holds", "Is this approvable?")
        await back.locator("#offer-invite").filter(has_text="invites you to consult").wait_for()
        await back.get_by_role("button", name="Decline", exact=True).click()
        await front.locator("#invite-status").filter(has_text=f"{back_name} declined the invitation.").wait_for()
        await front.wait_for_function("() => !document.getElementById('invite-btn').disabled")  # may invite again
        await back.wait_for_function("() => window.vw.state === 'ready'")

        # --- a consult: the caller holds and is told why; the specialists see each other
        await invite(front, "li.na", "Consult: the caller holds", "Is this approvable?")
        await back.get_by_role("button", name="Accept", exact=True).click()
        hold = caller.locator("#hold-overlay")
        await hold.filter(has_text="Your specialist is consulting a colleague. Please hold.").wait_for()
        await front.locator("#invite-status").filter(has_text=f"Consulting {back_name}").wait_for()
        await wait_picture(front, "#remote-video", BLUE, "demo consults li.na, large")
        assert await front.locator("#main-name").text_content() == back_name
        assert await front.locator("#hold-overlay").is_hidden()  # the colleague is not hidden by a hold screen
        await wait_picture(back, "#remote-video", GREEN, "li.na consults demo")
        assert await caller.locator("#stage .tile").count() == 0

        # --- the caller is brought in: a conference of three
        await front.get_by_role("button", name="Bring the caller in", exact=True).click()
        await hold.wait_for(state="hidden")
        await wait_picture(front, "#remote-video", RED, "demo: the caller, large again")
        await wait_picture(front, await tile_of(front, back_name), BLUE, "demo: li.na's tile")
        await wait_picture(caller, await tile_of(caller, back_name), BLUE, "caller: li.na's tile")

        # --- demo hands over: li.na keeps the caller and owns the session
        await front.get_by_role("button", name="Hand over", exact=True).click()
        await front.get_by_role("button", name="Finish wrap-up", exact=True).wait_for()
        assert await front.get_by_label("Disposition", exact=True).input_value() == "referred"
        await front.get_by_role("button", name="Finish wrap-up", exact=True).click()
        await back.get_by_role("button", name="Hang up", exact=True).wait_for()
        assert await back.get_by_role("button", name="Leave", exact=True).is_hidden()
        await back.locator("#chat-log").filter(has_text="The call was handed over to you").wait_for()
        await caller.locator("#chat-log").filter(has_text=f"You are now with {back_name}").wait_for()
        await caller.wait_for_function("(first) => window.vw.callId && window.vw.callId !== first", arg=first_id)
        assert await caller.locator(".session-no").first.text_content() != first_no
        assert await caller.evaluate("() => window.vw.state") == "connected"  # no queue in between
        await caller.locator("#stage .tile").wait_for(state="detached")
        await wait_picture(caller, "#remote-video", BLUE, "the caller is with li.na")
        await wait_picture(back, "#remote-video", RED, "li.na is with the caller")

        # --- li.na hangs up and wraps up, as the owner
        await back.get_by_role("button", name="Hang up", exact=True).click()
        await caller.wait_for_function("() => window.vw.state === 'ended'")
        await back.get_by_role("button", name="Finish wrap-up", exact=True).click()
        await back.wait_for_function("() => window.vw.state === 'ready'")
        await front.wait_for_function("() => window.vw.state === 'ready'")
        session = server.get_json(f"/api/sessions/{first_id}", server.login("admin", "admin123"))
        assert session["outcome"] == "transferred"
    finally:
        await sign_out(back, front)
