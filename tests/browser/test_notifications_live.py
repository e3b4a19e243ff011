"""The notification centre in a real browser on a phone: the bell's count and the list follow events live."""
import pytest

from app.notify.service import mark_all_read, notify
from tests.browser.conftest import logged_in
from tests.conftest import make_person

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def bob(tenant):
    return make_person(tenant, "bob", display_name="Bob Smith")


def test_the_bell_and_the_list_update_live_on_a_phone(browser, live_server, bob, tenant, artifacts):
    context, page = logged_in(browser, live_server, "bob", viewport={"width": 390, "height": 844}, is_mobile=True,
                              has_touch=True)
    page.goto(f"http://localhost:{live_server}/notifications/")
    bell = page.locator("a.bell [data-notifications-unread]")
    assert page.locator("a.bell").is_visible() and not bell.is_visible()       # on a phone, outside the menu
    notify(tenant, bob, "mention", {"sender": "张伟", "text": "请看 <b>报价</b>"}, link="/chat/1")
    page.locator("a.bell [data-notifications-unread]", has_text="1").wait_for()
    item = page.locator("#notifications .notification-unread").first
    item.locator(".notification-title", has_text="张伟 mentioned you").wait_for()
    assert item.locator(".notification-text").inner_text() == "请看 <b>报价</b>"    # shown as text
    page.locator(".toast", has_text="张伟 mentioned you").wait_for()
    notify(tenant, bob, "task_reminder", {"title": "Report"})
    page.locator("a.bell [data-notifications-unread]", has_text="2").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(artifacts / "notifications-phone.png"))

    mark_all_read(tenant, bob)                  # in another tab, say: this page follows
    page.locator("a.bell [data-notifications-unread]").wait_for(state="hidden")
    assert page.locator("#notifications .notification-unread").count() == 0
    assert not page.locator("[data-read-all]").is_visible()

    notify(tenant, bob, "task_reminder", {"title": "Another"})
    page.locator("[data-read-all] button").click()       # the button appeared with the new one
    page.wait_for_url("**/notifications/")
    assert not bell.is_visible() and page.locator(".flash", has_text="All notifications are marked read.").count()
    context.close()
