"""Brands on pages: stylesheets, icons, manifest, the admin editor, versions and isolation between tenants."""
import io
import re
import zipfile
from pathlib import Path

import pytest

from app import navigation
from app.brand.models import BrandVersion
from app.brand.pack import build_pack, read_folder
from app.brand.service import apply_pack, brand_for
from tests.conftest import csrf_from, login, make_person

ROOT = Path(__file__).resolve().parents[2]


def pack(name):
    return build_pack(read_folder(ROOT / "branding" / name))


@pytest.fixture
def branded(tenant, other_tenant):
    """acme wears sakura, globex wears ocean."""
    apply_pack(tenant, pack("sakura"))
    apply_pack(other_tenant, pack("ocean"))
    return tenant, other_tenant


def css_url(html):
    return re.search(r'href="(/brand/[0-9a-f]+\.css)"', html).group(1)


def test_each_tenant_gets_its_own_brand_on_the_login_page(client, branded):
    acme = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    globex = client.get("/login", base_url="http://globex.example", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "<title>Look up" not in acme
    assert "· Sakura</title>" in acme and "Bloom together" in acme and "Sakura Cosmetics" in acme
    assert "· Blue Harbor</title>" in globex and "Board" in globex
    assert css_url(acme) != css_url(globex)
    acme_css = client.get(css_url(acme)).get_data(as_text=True)
    assert "--color-primary: #be185d;" in acme_css
    # Another tenant's stylesheet digest is not served on this host.
    assert client.get(css_url(globex)).status_code == 404
    assert client.get(css_url(globex), base_url="http://globex.example").status_code == 200


def test_brand_texts_follow_the_language(client, branded):
    zh = client.get("/login", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "樱花协作" in zh and "一起绽放" in zh


def test_stylesheet_and_icons_are_cached_and_locked_down(client, branded):
    html = client.get("/login").get_data(as_text=True)
    css = client.get(css_url(html))
    assert css.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert css.mimetype == "text/css"
    logo_url = re.search(r'<img class="login-logo" src="([^"]+)"', html).group(1)
    logo = client.get(logo_url)
    assert logo.status_code == 200 and logo.mimetype == "image/svg+xml"
    assert logo.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in logo.headers["Content-Security-Policy"]
    assert "sandbox" in logo.headers["Content-Security-Policy"]
    favicon = client.get("/favicon.ico")
    assert favicon.status_code == 302
    icon = client.get(favicon.headers["Location"])
    assert icon.mimetype == "image/png" and icon.data.startswith(b"\x89PNG")
    # An asset digest of another tenant is a 404 here.
    globex_logo = re.search(r'<img class="login-logo" src="([^"]+)"', client.get(
        "/login", base_url="http://globex.example").get_data(as_text=True)).group(1)
    assert client.get(globex_logo).status_code == 404


def test_manifest_is_the_tenants(client, branded):
    manifest = client.get("/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    assert manifest.json["name"] == "Sakura" and manifest.json["theme_color"] == "#be185d"
    sizes = {icon["sizes"] for icon in manifest.json["icons"]}
    assert sizes == {"192x192", "512x512"}
    for icon in manifest.json["icons"]:
        assert client.get(icon["src"]).status_code == 200


def test_tenant_without_brand_and_unknown_hosts_get_the_default(client, tenant):
    html = client.get("/login").get_data(as_text=True)
    assert "· Atrium</title>" in html
    assert client.get(css_url(html)).status_code == 200
    error = client.get("/login", base_url="http://unknown.example")
    body = error.get_data(as_text=True)
    assert error.status_code == 404 and "Atrium" in body and "Acme" not in body
    assert client.get(css_url(body), base_url="http://unknown.example").status_code == 200


def test_nav_order_labels_and_custom_buttons(client, branded):
    make_person(branded[0], "mia")
    login(client, "mia")
    html = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    nav = re.findall(r'data-nav="([a-z]+)"', html)
    # sakura lists home, announcements, chat, people, circle: the installed ones show in that order.
    installed = [e.name for e in navigation.entries(pack("sakura").settings.navigation)]
    # The notification bell stays in the top bar, outside the brand's (collapsible) navigation.
    assert nav[0] == "notifications" and nav[1:] == installed + ["custom", "me"]
    assert installed[:1] == ["home"] and "people" in installed
    assert 'href="https://shop.sakura.example"' in html and 'rel="noopener noreferrer"' in html
    assert "Sign out" in html
    assert "Look up" in client.get("/people", headers={"Accept-Language": "en"}).get_data(as_text=True)


def _editor_form(client, **changes):
    html = client.get("/admin/brand/").get_data(as_text=True)
    fields = dict(re.findall(r'<input id="([^"]+)" name="\1"[^>]*?value="([^"]*)"', html))
    fields.update({"csrf_token": csrf_from(html), "dark_enabled": "1", "nav.home": "1", "nav.people": "1",
                   "nav_order.home": "2", "nav_order.people": "1"})
    fields.update(changes)
    return fields


def test_admin_edits_checks_saves_and_rolls_back(client, tenant):
    make_person(tenant, "alice", role="admin")
    login(client, "alice")
    assert client.get("/admin/brand/").status_code == 200
    # Check validates without saving.
    check = client.post("/admin/brand/", data=_editor_form(client, **{"identity.product_name": "Acme Works",
                                                                        "action": "check"}))
    assert check.status_code == 200 and BrandVersion.select().count() == 0
    saved = client.post("/admin/brand/", data=_editor_form(client, **{
        "identity.product_name": "Acme Works", "colors.primary": "#0f5132", "radius": "12",
        "labels.search": "Find it", "custom.0.label": "Wiki", "custom.0.url": "https://wiki.acme.example",
        "action": "save"}))
    assert saved.status_code == 302
    brand = brand_for(tenant)
    assert brand.version == 1 and brand.settings.identity["product_name"] == "Acme Works"
    assert brand.settings.navigation == ["people", "home"] and brand.settings.radius == 12
    home = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert [n for n in re.findall(r'data-nav="([a-z]+)"', home) if n in ("people", "home")] == ["people", "home"]
    assert "· Acme Works</title>" in home
    # A failing edit changes nothing and names the field.
    bad = client.post("/admin/brand/", data=_editor_form(client, **{"colors.text": "#eeeeee", "action": "save"}))
    assert bad.status_code == 400 and "colors.text" in bad.get_data(as_text=True)
    assert brand_for(tenant).version == 1
    saved = client.post("/admin/brand/", data=_editor_form(client, **{"identity.product_name": "Acme Two", "action": "save"}))
    assert brand_for(tenant).settings.identity["product_name"] == "Acme Two"
    page = client.get("/admin/brand/").get_data(as_text=True)
    back = client.post("/admin/brand/rollback/1", data={"csrf_token": csrf_from(page)})
    assert back.status_code == 302
    assert brand_for(tenant).settings.identity["product_name"] == "Acme Works" and brand_for(tenant).version == 3
    assert client.post("/admin/brand/rollback/99", data={"csrf_token": csrf_from(page)}).status_code == 404


def test_icon_upload_hostile_and_good(client, tenant):
    make_person(tenant, "alice", role="admin")
    login(client, "alice")
    evil = (Path(__file__).resolve().parents[1] / "data" / "hostile_svg" / "onload.svg").read_bytes()
    response = client.post("/admin/brand/", content_type="multipart/form-data",
                           data={**_editor_form(client, action="save"), "logo": (io.BytesIO(evil), "logo.svg")})
    assert response.status_code == 400 and "icons.logo" in response.get_data(as_text=True)
    assert BrandVersion.select().count() == 0
    good = (ROOT / "branding" / "sunrise" / "icons" / "logo.svg").read_bytes()
    response = client.post("/admin/brand/", content_type="multipart/form-data",
                           data={**_editor_form(client, action="save"), "logo": (io.BytesIO(good), "anything.png")})
    assert response.status_code == 302
    html = client.get("/").get_data(as_text=True)
    logo = client.get(re.search(r'class="brand-logo" href="/">\s*<picture>.*?<img src="([^"]+)"', html, re.S).group(1))
    assert b"Sunrise" in logo.data and logo.mimetype == "image/svg+xml"


def test_import_export_and_shipped_packs(client, tenant):
    make_person(tenant, "alice", role="admin")
    login(client, "alice")
    token = csrf_from(client.get("/admin/brand/").get_data(as_text=True))
    assert client.post("/admin/brand/import", data={"csrf_token": token, "shipped": "monochrome"}).status_code == 302
    assert brand_for(tenant).settings.radius == 0
    assert client.post("/admin/brand/import", data={"csrf_token": token, "shipped": "../etc"}).status_code == 404
    exported = client.get("/admin/brand/export")
    assert exported.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(exported.data)).namelist()
    assert "brand.toml" in names and "icons/logo.svg" in names
    apply_pack(tenant, pack("sakura"))
    response = client.post("/admin/brand/import", content_type="multipart/form-data",
                           data={"csrf_token": token, "pack": (io.BytesIO(exported.data), "mono.zip")})
    assert response.status_code == 302 and brand_for(tenant).settings.radius == 0
    before = brand_for(tenant).version
    response = client.post("/admin/brand/import", content_type="multipart/form-data",
                           data={"csrf_token": token, "pack": (io.BytesIO(b"not a zip"), "x.zip")})
    assert response.status_code == 302 and brand_for(tenant).version == before


def test_brand_admin_is_for_admins_and_other_tenants_versions_are_404(client, branded):
    make_person(branded[0], "bob")
    login(client, "bob")
    assert client.get("/admin/brand/").status_code == 403
    assert client.get("/admin/brand/export").status_code == 403


def test_brand_cache_never_crosses_tenants(app, tenant, other_tenant):
    """Same version number in two tenants: each tenant still gets its own brand."""
    apply_pack(tenant, pack("sakura"))
    apply_pack(other_tenant, pack("sunrise"))
    assert brand_for(tenant).version == brand_for(other_tenant).version == 1
    assert brand_for(tenant).settings.colors["primary"] == "#be185d"
    assert brand_for(other_tenant).settings.colors["primary"] == "#c2410c"
    assert brand_for(tenant).css_digest != brand_for(other_tenant).css_digest
