"""The specialist's console reloads during a call: the call comes back, with video both ways."""

from __future__ import annotations

import re

import pytest

from test_call_browser import wait_for_decoding

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


async def sign_in(page) -> None:
    await page.get_by_label("Username", exact=True).fill("demo")
    await page.get_by_label("Password", exact=True).fill("demo123")
    await page.get_by_role("button", name="Log in", exact=True).click()


async def finish_wrap_up(console) -> None:
    """Leave `demo` ready for the next browser test (the server is shared by the whole session)."""
    await console.get_by_role("button", name="Finish wrap-up", exact=True).click()
    await console.wait_for_function("() => window.vw.state === 'ready'", timeout=15_000)


async def connected_call(server, new_page, name: str):
    """A ready auto-answer console and a caller page in a connected call with it."""
    item = server.get_json("/api/service-items?q=")["items"][0]
    console = await new_page("/console")
    await sign_in(console)
    auto = console.get_by_label("Auto-answer", exact=True)
    await auto.wait_for()
    if not await auto.is_checked():
        await auto.check()
    await console.get_by_role("button", name="Ready", exact=True).click()
    await console.wait_for_function("() => window.vw.state === 'ready' && window.vw.legState === 'connected'",
                                    timeout=15_000)
    caller = await new_page("/")
    await caller.get_by_label("Service", exact=True).fill(item["code"])
    await caller.get_by_role("radio", name=re.compile(re.escape(item["code"]))).first.check()
    await caller.get_by_label("Name", exact=True).fill(name)
    await caller.wait_for_function("() => window.vw && window.vw.legState === 'connected'", timeout=15_000)
    await caller.get_by_role("button", name="Call", exact=True).click()
    await caller.wait_for_function("() => window.vw.state === 'connected'", timeout=15_000)
    return console, caller


async def test_console_reload_during_a_call_resumes_it(server, new_page):
    console, caller = await connected_call(server, new_page, "Reload Tester")
    call_id = await caller.evaluate("() => window.vw.callId")
    await wait_for_decoding(console, "console before the reload")

    await console.reload()  # the console drops out and comes back within the grace period

    await console.get_by_role("button", name="Hang up", exact=True).wait_for(state="visible", timeout=15_000)
    assert await console.evaluate("() => window.vw.callId") == call_id
    await wait_for_decoding(console, "console after the reload")
    first, last = await wait_for_decoding(caller, "caller after the console reload")
    assert last["width"] > 0

    await console.get_by_role("button", name="Hang up", exact=True).click()
    await caller.wait_for_function("() => window.vw.state === 'ended'")
    await finish_wrap_up(console)
    session = server.get_json(f"/api/sessions/{call_id}", server.login("admin", "admin123"))
    types = [e["type"] for e in session["events"]]
    assert session["outcome"] == "answered" and session["ended_by"] == "specialist"
    assert "specialist_disconnected" in types and "specialist_reconnected" in types


async def test_the_caller_sees_at_once_that_the_specialist_is_reconnecting(server, new_page):
    console, caller = await connected_call(server, new_page, "Notice Tester")
    await console.close()  # the console is gone (not yet back): the caller is told at once
    notice = caller.get_by_role("status").filter(has_text="The specialist is reconnecting")
    await notice.wait_for(state="visible", timeout=5_000)

    again = await new_page("/console")  # back within the grace period: the call resumes
    await sign_in(again)
    await again.get_by_role("button", name="Hang up", exact=True).wait_for(state="visible", timeout=15_000)
    await notice.wait_for(state="hidden", timeout=10_000)
    await again.get_by_role("button", name="Hang up", exact=True).click()
    await caller.wait_for_function("() => window.vw.state === 'ended'")
    await finish_wrap_up(again)
