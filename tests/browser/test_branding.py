"""Two tenants on one running server, each in its own brand, checked in a real browser."""
from pathlib import Path

import pytest

from app import navigation
from app.brand.pack import build_pack, read_folder
from app.brand.service import apply_pack
from tests.conftest import make_person

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def rgb(hex_colour):
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


@pytest.fixture
def two_brands(tenant, other_tenant):
    apply_pack(tenant, build_pack(read_folder(ROOT / "branding" / "sakura")))
    apply_pack(other_tenant, build_pack(read_folder(ROOT / "branding" / "ocean")))
    make_person(tenant, "mia", display_name="Mia")
    make_person(other_tenant, "mia", display_name="Mia")
    return tenant, other_tenant


EXPECTED = {
    "acme.example": {"pack": "sakura", "primary": "#be185d", "title": "Sakura", "login": "Log in",
                     "search": "Look up", "logout": "Sign out", "radius": "16px"},
    "globex.example": {"pack": "ocean", "primary": "#0b5cad", "title": "Blue Harbor", "login": "Board",
                       "search": "Find", "logout": "Log out", "radius": "8px"},
}


@pytest.mark.parametrize("host", sorted(EXPECTED))
def test_each_tenant_sees_its_own_brand(browser, live_server, two_brands, artifacts, host):
    want = EXPECTED[host]
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800},
                                  color_scheme="light")
    page = context.new_page()
    base = f"http://{host}:{live_server}"
    page.goto(base + "/login")
    assert page.title().endswith(want["title"])
    button = page.locator("button[data-label=login]")
    assert button.inner_text() == want["login"]
    assert button.evaluate("e => getComputedStyle(e).backgroundColor") == rgb(want["primary"])
    assert button.evaluate("e => getComputedStyle(e).borderTopLeftRadius") == want["radius"]
    logo = page.locator("img.login-logo")
    assert logo.evaluate("e => e.naturalWidth") > 0
    page.screenshot(path=str(artifacts / f"brand-{want['pack']}-login.png"))

    page.fill("#login", "mia")
    page.fill("#password", "correct-horse-battery")
    button.click()
    page.wait_for_url(base + "/")
    topbar = page.locator(".topbar")
    assert topbar.evaluate("e => getComputedStyle(e).borderBottomColor") == rgb(want["primary"])
    shown = page.locator(".nav [data-nav]").evaluate_all("els => els.map(e => e.dataset.nav)")
    installed = [e.name for e in navigation.entries(build_pack(read_folder(ROOT / "branding" / want["pack"])).settings.navigation)]
    assert shown == installed + ["custom", "me"]
    assert page.locator("button[data-label=logout]").inner_text() == want["logout"]
    assert page.locator(".brand-logo img").get_attribute("alt") == want["title"]
    assert "logo-dark" in page.locator(".brand-logo source").get_attribute("srcset")
    assert page.locator(".brand-logo img").evaluate("e => e.naturalWidth") > 0
    icon_href = page.locator("link[rel=icon]").get_attribute("href")
    # Fetched by the page itself, so the request goes through the browser's loopback-only host mapping.
    assert page.evaluate("href => fetch(href).then(r => r.headers.get('content-type'))", icon_href) == "image/png"
    page.screenshot(path=str(artifacts / f"brand-{want['pack']}-home.png"))
    page.goto(base + "/people")
    assert page.locator("button[data-label=search]").inner_text() == want["search"]
    context.close()


def test_dark_mode_uses_the_dark_colours(browser, live_server, two_brands, artifacts):
    context = browser.new_context(color_scheme="dark", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"http://acme.example:{live_server}/login")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == rgb("#22071a")
    assert page.locator("img.login-logo").evaluate("e => e.currentSrc").endswith("/logo-dark")
    page.screenshot(path=str(artifacts / "brand-sakura-login-dark-phone.png"))
    context.close()
