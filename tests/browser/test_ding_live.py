"""A DING in real browsers: the banner alerts a person in do-not-disturb, Confirm closes it, the sender sees it live."""
import datetime

import pytest

from app.db import utcnow
from app.ding import service
from tests.browser.conftest import logged_in
from tests.conftest import make_person


pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def pair(tenant):
    wei = make_person(tenant, "wei", display_name="张伟")
    li = make_person(tenant, "li", display_name="李娜")
    li.dnd_until = utcnow() + datetime.timedelta(hours=4)
    li.work_start, li.work_end = "00:00", "00:01"
    li.save()
    return wei, li




def test_a_ding_alerts_through_do_not_disturb_and_confirms(browser, live_server, pair, tenant, artifacts):
    wei, li = pair
    earlier = service.send_ding(tenant, wei, "Sent before you opened the page", [li.id])
    ctx_li, page_li = logged_in(browser, live_server, "li", viewport={"width": 390, "height": 844}, is_mobile=True,
                                has_touch=True)
    assert page_li.evaluate("window.atriumLive.quiet()") is True
    # A DING that went out before the page opened is shown at once.
    page_li.locator(f"#ding-alert-{earlier.id}").wait_for()

    ctx_wei, page_wei = logged_in(browser, live_server, "wei", viewport={"width": 1100, "height": 800})
    page_wei.goto(f"http://localhost:{live_server}/ding/new")
    page_wei.select_option("#recipients", [str(li.id)])
    page_wei.fill("#text", "机房告警 <b>now</b>")
    page_wei.click("button[data-label=ding]")
    page_wei.wait_for_url("**/ding/*")
    assert page_wei.locator("#ding-counts").inner_text() == "0 confirmed · 1 not yet"

    alert = page_li.locator(".ding-alert").first
    alert.locator("text=机房告警").wait_for()
    assert alert.locator(".ding-alert-text").inner_text() == "机房告警 <b>now</b>"      # shown as text
    assert alert.locator("h2").inner_text() == "DING from 张伟"
    assert page_li.evaluate("document.documentElement.scrollWidth") <= 390
    page_li.screenshot(path=str(artifacts / "ding-alert-phone.png"))

    alert.locator("button").click()
    # A locator waits without evaluating a string in the page, which the CSP (no unsafe-eval) would refuse.
    page_wei.locator("#ding-counts", has_text="1 confirmed · 0 not yet").wait_for()
    assert page_wei.locator(f"#ding-confirmed [data-person='{li.id}']").count() == 1
    assert page_wei.locator("#ding-stop").count() == 0
    page_li.locator(".ding-alert", has_text="机房告警").wait_for(state="detached")
    assert page_li.locator(f"#ding-alert-{earlier.id}").is_visible()
    page_wei.screenshot(path=str(artifacts / "ding-sender-live.png"))
    ctx_wei.close()
    ctx_li.close()
