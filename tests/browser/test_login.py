"""A person logs in with a real browser, on a desktop and on a phone-sized screen."""
import pytest

from app.org.service import save_department
from tests.conftest import make_person

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def org(tenant):
    hq = save_department(tenant, None, {"name": "总部 HQ"})
    save_department(tenant, None, {"name": "研发中心", "parent_id": str(hq.id)})
    make_person(tenant, "wei", display_name="张伟", title="工程师", department_ids=[str(hq.id)],
                must_change_password="1", password="first-one-time-pw")
    return hq


def test_one_time_password_login_on_desktop(browser, live_server, org, artifacts):
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"http://localhost:{live_server}/")
    assert page.url.endswith("/login?next=/")
    page.fill("#login", "wei")
    page.fill("#password", "first-one-time-pw")
    page.click("button[type=submit]")
    page.wait_for_url("**/password")
    page.fill("#current_password", "first-one-time-pw")
    page.fill("#new_password", "my-own-password-1")
    page.fill("#confirm_password", "my-own-password-1")
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"http://localhost:{live_server}/")
    assert page.locator("h1#me").inner_text() == "张伟"
    assert "研发中心" in page.locator(".tree").inner_text()
    page.screenshot(path=str(artifacts / "login-desktop-home.png"), full_page=True)
    context.close()


def test_wrong_password_shows_an_error_and_phone_menu_works(browser, live_server, org, tenant, artifacts):
    make_person(tenant, "li", display_name="李娜")
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    page = context.new_page()
    page.goto(f"http://localhost:{live_server}/login")
    assert page.evaluate("document.documentElement.lang") == "zh-Hans"
    page.fill("#login", "li")
    page.fill("#password", "not-the-password")
    page.click("button[type=submit]")
    assert page.locator(".flash-error").is_visible()
    page.fill("#password", "correct-horse-battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"http://localhost:{live_server}/")
    # The phone layout: nothing wider than the screen, the menu folded behind its button.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    nav_link = page.locator(".nav a[href='/people']")
    assert not nav_link.is_visible()
    page.click(".nav-toggle-label")
    assert nav_link.is_visible()
    page.screenshot(path=str(artifacts / "login-phone-menu.png"))
    nav_link.click()
    page.wait_for_url("**/people")
    assert "李娜" in page.locator(".people-list").inner_text()
    context.close()
