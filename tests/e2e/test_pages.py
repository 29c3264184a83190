"""The public pages in a real Chromium: Chinese text renders, nothing scrolls sideways, every field has a label."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

PUBLIC_PAGES = ["/", "/auth/login", "/auth/register"]
FORM_PAGES = ["/auth/login", "/auth/register"]

# Controls a person fills in; hidden fields (csrf_token) and buttons need no <label>.
UNLABELLED_CONTROLS_JS = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => !['hidden', 'submit', 'button', 'reset', 'image'].includes((el.type || '').toLowerCase()))
  .filter(el => el.labels === null || el.labels.length === 0
                || [...el.labels].every(label => label.textContent.trim() === ''))
  .map(el => el.outerHTML)"""

OVERFLOW_JS = """() => {
  const doc = document.documentElement;
  const wide = [...document.body.querySelectorAll('*')]
    .filter(el => el.getBoundingClientRect().right > doc.clientWidth + 1)
    .filter(el => !el.closest('.table-scroll'))
    .slice(0, 5).map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : ''));
  return {scrollWidth: doc.scrollWidth, clientWidth: doc.clientWidth, wide};
}"""


def test_portal_renders_campaign_title_in_chinese(page, live_server, artifact):
    response = page.goto(live_server("/"))
    assert response.status == 200
    title = page.locator("h1").first
    assert "正高级工程师" in title.inner_text()
    assert page.locator(".sandbox-banner").is_visible()  # the live server runs in sandbox mode
    # Rendered with a CJK font, not tofu: ask Chromium which platform fonts drew the title's glyphs.
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    h1 = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "h1"})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": h1})["fonts"]
    assert any("CJK" in f["familyName"] or "SC" in f["familyName"].split() for f in fonts), (
        f"the title is not drawn with a CJK font (install fonts-noto-cjk): {fonts}"
    )
    page.screenshot(path=artifact(".png"), full_page=True)


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_page_has_no_horizontal_scroll(page, live_server, path, width):
    page.set_viewport_size({"width": width, "height": 844})
    assert page.goto(live_server(path)).status == 200
    result = page.evaluate(OVERFLOW_JS)
    assert result["scrollWidth"] <= result["clientWidth"], f"{path} scrolls sideways at {width}px: {result}"


@pytest.mark.parametrize("path", FORM_PAGES)
def test_every_form_control_has_a_label(page, live_server, path):
    assert page.goto(live_server(path)).status == 200
    assert page.locator("form input:not([type=hidden]), form select, form textarea").count() > 0
    assert page.evaluate(UNLABELLED_CONTROLS_JS) == []


def test_register_and_log_in_with_the_keyboard_only(page, live_server):
    """Tab moves through the fields in reading order and Enter submits: no mouse needed."""
    assert page.goto(live_server("/auth/register")).status == 200
    page.locator("#real_name").focus()
    for value in ("键盘用户", "500116197503100051", "13800138001", "keyboard123", "keyboard123"):
        page.keyboard.type(value)
        page.keyboard.press("Tab")
    focused = page.evaluate(
        "() => document.activeElement.tagName + ':' + (document.activeElement.type || '')"
    )
    assert focused.startswith("BUTTON") or focused == "INPUT:submit", focused
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.goto(live_server("/auth/login"))
    page.locator("#username").focus()
    page.keyboard.type("500116197503100051")
    page.keyboard.press("Tab")
    page.keyboard.type("keyboard123")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "键盘用户" in page.locator(".nav-user").inner_text()
