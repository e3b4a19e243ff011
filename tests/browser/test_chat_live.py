"""Two people chat in two browser contexts: the message appears live and the read receipt turns to read."""
import pytest

from app.chat import service
from tests.browser.conftest import logged_in
from tests.conftest import make_person

pytestmark = [pytest.mark.browser, pytest.mark.slow]
VIEWPORT = {"width": 1100, "height": 800}


@pytest.fixture
def pair(tenant):
    wei = make_person(tenant, "wei", display_name="张伟")
    li = make_person(tenant, "li", display_name="李娜")
    return wei, li


def test_message_appears_live_and_receipt_turns_read(browser, live_server, pair, tenant, artifacts):
    wei, li = pair
    conv = service.direct_conversation(tenant, wei, li.id)
    ctx_wei, page_wei = logged_in(browser, live_server, "wei", viewport=VIEWPORT)
    ctx_li, page_li = logged_in(browser, live_server, "li", viewport=VIEWPORT)
    page_li.goto(f"http://localhost:{live_server}/chat/")
    page_wei.goto(f"http://localhost:{live_server}/chat/{conv.id}")

    page_wei.fill("#text", "下午三点开会 <script>alert(1)</script>")
    page_wei.keyboard.press("Enter")
    mine = page_wei.locator("#messages li.mine").last
    mine.wait_for()
    receipt = mine.locator(".receipt")
    receipt.wait_for()
    assert receipt.inner_text() == "0 read · 1 unread"

    # Li's conversation list shows the unread badge without a reload.
    badge = page_li.locator(f"[data-conversation='{conv.id}'] .unread")
    badge.wait_for(state="visible")
    assert badge.inner_text() == "1"
    page_li.goto(f"http://localhost:{live_server}/chat/{conv.id}")
    body = page_li.locator("#messages li .message-body").last
    assert body.inner_text() == "下午三点开会 <script>alert(1)</script>"     # shown as text, not run

    # Wei sees the receipt turn to read, live.
    page_wei.locator("#messages li.mine:last-child .receipt.all-read").wait_for()
    assert page_wei.locator("#messages li.mine:last-child .receipt").inner_text() == "All read"
    page_wei.screenshot(path=str(artifacts / "chat-receipt-read.png"))

    # Li answers; Wei's open conversation shows it without a reload.
    page_li.fill("#text", "好的 @wei")
    page_li.click("button[data-label=send]")
    page_wei.locator("#messages li:not(.mine) .mention").last.wait_for()
    assert page_wei.locator("#messages li:not(.mine) .message-body").last.inner_text() == "好的 @张伟"
    page_li.screenshot(path=str(artifacts / "chat-li.png"))
    ctx_wei.close()
    ctx_li.close()
