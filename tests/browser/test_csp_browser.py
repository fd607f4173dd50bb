"""The pages run under the server's Content-Security-Policy: nothing they do is blocked."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


async def violations(page) -> list[str]:
    seen: list[str] = []
    page.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None)
    await page.evaluate("""() => document.addEventListener("securitypolicyviolation",
        (e) => console.error(`Content Security Policy: ${e.violatedDirective} ${e.blockedURI}`))""")
    return seen


# li.na, not demo: the other browser tests leave demo's console in calls and wrap-ups.
@pytest.mark.parametrize("path, username, password", [
    ("/", None, None), ("/console", "li.na", "demo123"), ("/admin", "admin", "admin123"), ("/api/docs", None, None),
])
async def test_no_csp_violation(server, new_page, path, username, password):
    page = await new_page(path)
    seen = await violations(page)
    await page.reload()
    seen += await violations(page)
    if username:
        await page.get_by_label("Username", exact=True).fill(username)
        await page.get_by_label("Password", exact=True).fill(password)
        await page.get_by_role("button", name="Log in", exact=True).click()
        await page.locator("#logout-btn").wait_for(state="visible", timeout=15_000)
    await page.wait_for_timeout(1500)  # charts, the wallboard's socket, the camera preview
    assert seen == [], seen
