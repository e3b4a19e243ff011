"""The work circle in real browsers: a post with a photo reaches a colleague's open feed live, and the
colleague's like and comment reach the author live; the composer refuses too many images before uploading."""

import pytest
from PIL import Image

from app.circle.models import CirclePost
from app.org.service import save_department
from tests.browser.conftest import logged_in
from tests.conftest import make_person


pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def pair(tenant):
    sales = save_department(tenant, None, {"name": "Sales"})
    wei = make_person(tenant, "wei", display_name="张伟", department_ids=[str(sales.id)])
    li = make_person(tenant, "li", display_name="李娜", department_ids=[str(sales.id)])
    return wei, li, sales




def photo_file(tmp_path, name="stand.jpg") -> str:
    path = tmp_path / name
    image = Image.new("RGB", (800, 600), (30, 90, 200))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    image.save(path, "JPEG", exif=exif)
    return str(path)


def test_a_post_its_likes_and_comments_arrive_live(browser, live_server, pair, tenant, artifacts, tmp_path):
    wei, li, sales = pair
    base = f"http://localhost:{live_server}"
    errors: list[str] = []
    ctx_li, page_li = logged_in(browser, live_server, "li", errors, viewport={"width": 390, "height": 844},
                                is_mobile=True, has_touch=True)
    page_li.goto(f"{base}/circle/")
    ctx_wei, page_wei = logged_in(browser, live_server, "wei", errors, viewport={"width": 1100, "height": 800})
    page_wei.goto(f"{base}/circle/")

    page_wei.fill("#circle-text", "Our stand at the fair <b>hall 3</b>")
    page_wei.set_input_files("#circle-images", photo_file(tmp_path))
    page_wei.check("input[name=audience][value=departments]")
    page_wei.select_option("#departments", [str(sales.id)])
    page_wei.click("#circle-form button[type=submit]")
    page_wei.locator(".flash-success", has_text="Posted.").wait_for()
    post = CirclePost.get()
    card_wei = page_wei.locator(f"#post-{post.id}")
    assert card_wei.locator(".circle-text").inner_text() == "Our stand at the fair <b>hall 3</b>"

    # Li's open feed offers the new post; it shows with its photo.
    page_li.locator("#circle-news").wait_for(state="visible")
    page_li.locator("#circle-news a").click()
    card_li = page_li.locator(f"#post-{post.id}")
    card_li.wait_for()
    thumb = card_li.locator(".circle-images img")
    thumb.wait_for()
    page_li.wait_for_load_state("networkidle")
    assert thumb.evaluate("img => img.naturalWidth") == 480
    assert page_li.evaluate("document.documentElement.scrollWidth") <= 390

    # Li likes and comments without a reload; Wei sees both arrive.
    card_li.locator(".circle-like").click()
    card_li.locator(".circle-like.liked").wait_for()
    assert card_li.locator("[data-likes]").inner_text() == "1 like"
    card_wei.locator("[data-likes]", has_text="1 like").wait_for()
    card_li.locator("input[name=text]").fill("Looks great <script>alert(1)</script>")
    card_li.locator(".circle-comment-form button").click()
    card_li.locator(".circle-comment-text", has_text="Looks great").wait_for()
    comment = card_wei.locator(".circle-comment-text", has_text="Looks great")
    comment.wait_for()
    assert comment.inner_text() == "Looks great <script>alert(1)</script>"
    assert card_wei.locator("[data-comments]").inner_text() == "1 comment"
    page_wei.screenshot(path=str(artifacts / "circle-live-author.png"))
    page_li.screenshot(path=str(artifacts / "circle-phone.png"))

    # Wei deletes the comment on his post; it disappears from Li's page too.
    card_wei.locator(".circle-comment-delete button").click()
    card_li.locator(".circle-comment").wait_for(state="detached")
    assert card_li.locator("[data-comments]").inner_text() == "0 comments"

    # Ten images are refused in the browser, before anything is uploaded.
    page_li.fill("#circle-text", "Too many")
    page_li.set_input_files("#circle-images", [photo_file(tmp_path, f"{n}.jpg") for n in range(10)])
    page_li.click("#circle-form button[type=submit]")
    page_li.locator(".toast", has_text="At most 9 images.").wait_for()
    assert page_li.input_value("#circle-text") == "Too many" and CirclePost.select().count() == 1
    assert errors == []
    ctx_wei.close()
    ctx_li.close()
