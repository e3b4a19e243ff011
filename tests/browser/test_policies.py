"""The watermark covers chat without getting in the way; the security policies page fits a phone."""
import pytest

from app.chat import service
from app.security.policy import PolicyLimits, save_policy
from tests.browser.conftest import logged_in
from tests.conftest import make_person

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def people(tenant):
    wei = make_person(tenant, "wei", role="admin", display_name="张伟", mobile="+86 138 0013 8000")
    li = make_person(tenant, "li", display_name="李娜")
    return wei, li


def test_watermark_covers_the_chat_and_lets_clicks_through(browser, live_server, people, tenant, artifacts):
    wei, li = people
    save_policy(tenant, {"watermark.enabled": "on"}, PolicyLimits(12, 20), partial=True)
    conv = service.direct_conversation(tenant, wei, li.id)
    context, page = logged_in(browser, live_server, "wei", viewport={"width": 1100, "height": 800})
    page.goto(f"http://localhost:{live_server}/chat/{conv.id}")
    overlay = page.locator(".watermark")
    style = overlay.evaluate("e => { const s = getComputedStyle(e); return [s.position, s.pointerEvents, s.opacity]; }")
    assert style[0] == "fixed" and style[1] == "none" and 0 < float(style[2]) < 0.2
    box = overlay.bounding_box()
    assert box["width"] >= 1100 and box["height"] >= 800                   # the whole window, at any scroll
    assert overlay.locator("span").first.inner_text() == "张伟 8000"
    page.fill("#text", "through the watermark")                            # typing and clicking reach the page
    page.click("button[data-label=send]")
    page.locator("#messages li.mine .message-body", has_text="through the watermark").wait_for()
    page.screenshot(path=str(artifacts / "watermark-chat.png"))
    context.close()


def test_policies_page_fits_a_phone(browser, live_server, people, artifacts):
    context, page = logged_in(browser, live_server, "wei", viewport={"width": 375, "height": 740})
    page.goto(f"http://localhost:{live_server}/admin/policies/")
    page.locator("legend", has_text="Watermark").wait_for()
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    page.check("input[name='watermark.enabled']")
    page.fill("#login-lockout_after", "5")
    page.check("input[name='login.ip_scope'][value='admins']")
    page.fill("#login-ip_allow", "the office")
    page.click("button[data-label=save]")
    page.locator("#login-ip_allow-error").wait_for()
    page.screenshot(path=str(artifacts / "policies-phone.png"), full_page=True)
    page.fill("#login-ip_allow", "127.0.0.0/8")
    page.click("button[data-label=save]")
    page.locator(".flash-success").wait_for()
    assert page.locator("#login-lockout_after").input_value() == "5"
    assert page.locator("input[name='watermark.enabled']").is_checked()
    context.close()
