"""The caller page's search box: what a citizen types finds the item, best match first, in both
languages. It only reads the shared demo catalog (nothing to undo)."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

SOCIAL = [f"SI-00{i}" for i in range(1, 6)]


async def _results(page):
    """The codes of the listed service items, in the order shown."""
    return await page.locator('#service-results input[name="service-item"]').evaluate_all(
        "(radios) => radios.map((r) => r.value)")


async def _search(page, text, first):
    box = page.get_by_label(re.compile(r"^(Service|办理事项)$"))
    await box.fill(text)
    # the list is redrawn when the (debounced) answer arrives: wait for its first item
    await page.locator('#service-results input[name="service-item"]').first.wait_for()
    await page.wait_for_function(
        "(code) => document.querySelector('#service-results input[name=\"service-item\"]')?.value === code",
        arg=first, timeout=15_000)
    return await _results(page)


async def test_typing_a_short_name_lists_the_social_insurance_items(server, new_page):
    page = await new_page("/")
    listed = await _search(page, "社保", "SI-001")
    assert listed == SOCIAL  # the five social insurance items, and nothing after them
    await page.get_by_text("5 service items").wait_for()
    # a result says why it was found: the keywords it is also known by
    first = page.get_by_role("radio", name=re.compile("SI-001"))
    assert "Also known as" in await page.locator(".result", has=first).text_content()
    await first.check()
    await page.get_by_text(re.compile(r"Selected: Open employee social insurance accounts \(SI-001\)")).wait_for()

    # pinyin, its initials, English with a British spelling and a typo: the best match first
    assert (await _search(page, "sb", "SI-001"))[:5] == SOCIAL
    assert (await _search(page, "yibao", "MI-001"))[:5] == [f"MI-00{i}" for i in range(1, 6)]
    assert (await _search(page, "busines licence", "BR-002"))[0] == "BR-002"


async def test_the_search_in_chinese(server, new_page):
    page = await new_page("/")
    await page.get_by_role("button", name="中文", exact=True).click()
    listed = await _search(page, "医保", "MI-001")
    assert listed[:5] == [f"MI-00{i}" for i in range(1, 6)]
    await page.get_by_text("共 5 个事项").wait_for()
    row = page.locator(".result", has=page.get_by_role("radio", name=re.compile("MI-002")))
    assert "又称" in await row.text_content()  # 异地就医备案 does not say 医保: its keywords do
    assert await page.get_by_label("办理事项", exact=True).get_attribute("placeholder") == "按事项名称、简称、拼音或编码搜索"
