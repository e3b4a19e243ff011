"""Hostile text in every field people (or the directory) fill in renders inert on every page that shows it.

Each line of tests/data/hostile_text.txt goes, through the real forms, into person
names and titles, department names, messages and replies, DING text,
announcement titles and bodies, brand texts, labels and custom buttons, the
tenant's name, API token names and search queries; then every page showing
them must be inert (tests/inert.py), show the text escaped rather than
evaluated, and a refused value must get a clear error and change nothing.
Hostile SVG icons and colours are checked in tests/brand.
"""
from __future__ import annotations

import functools
import json
import re
import tomllib

import pytest
from markupsafe import escape

from tests import inert
from tests.ldap.conftest import configure, pki, slapd  # noqa: F401 - the directory's real server
from tests.security.conftest import FOREIGN, ROOT

SETTINGS = {"chat": {"rate_messages": 100000}}   # every line posts messages; the rate limit is tested in tests/chat
TEXTS = inert.hostile_texts()
LINK = "https://example.com/x"


def _id(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "_", text[:24]).strip("_") or "text"


class Visit:
    """Requests as the world's people; every HTML answer is checked for inertness as it arrives."""

    def __init__(self, world, text: str):
        self.world, self.text = world, text
        self.side = world.home
        self.problems: list[str] = []

    def _client(self, key, side=None):
        side = side or self.side
        return (self.world.client(side.actors[key]) if key else self.world.app.test_client()), side

    def get(self, key, path, side=None, shows=()):
        client, side = self._client(key, side)
        response = client.get(path, base_url=f"http://{side.host}")
        self.check(f"GET {path} as {key or 'anonymous'}", response, shows)
        return response

    def post(self, key, path, data, side=None, accept_json=False):
        client, side = self._client(key, side)
        headers = {"Accept": "application/json"} if accept_json else {}
        response = client.post(path, base_url=f"http://{side.host}", headers=headers,
                               data={**data, "csrf_token": side.actors[key].csrf})
        self.check(f"POST {path}", response, ())
        return response

    def check(self, what: str, response, shows) -> None:
        if response.status_code >= 500:
            self.problems.append(f"{what}: status {response.status_code}")
        if "text/html" not in response.content_type:
            return
        html = response.get_data(as_text=True)
        found = inert.page_problems(html)
        if found:
            self.problems.append(f"{what}: not inert: {found[:5]}")
        if "<" in self.text and self.text in html:
            self.problems.append(f"{what}: the text is in the page unescaped")
        for shown in shows:
            # Shown escaped, not evaluated as a template: its start is there as typed.
            start = str(escape(shown.replace("\r\n", "\n").strip()[:30]))
            if start not in html:
                self.problems.append(f"{what}: does not show the text as typed ({start!r})")

    def saved(self, what: str, response) -> bool:
        """True when the form took the value; a refusal must be a 400 that says what is wrong."""
        if response.status_code in (302, 303):
            return True
        body = response.get_data(as_text=True)
        if response.status_code == 200 and "flash-error" not in body:
            return True   # a page that answers in place (a new API token is shown once)
        if response.status_code != 400 or not ('role="alert"' in body or "field-error" in body):
            self.problems.append(f"{what}: refused without a clear error (status {response.status_code})")
        return False


def _location_id(response) -> int:
    return int(re.search(r"/(\d+)$", response.headers["Location"]).group(1))


@functools.lru_cache(maxsize=1)
def _default_pack():
    from app.brand.pack import build_pack, read_folder

    return build_pack(read_folder(ROOT / "branding" / "default"))


def _brand(side, text: str) -> dict[str, bool]:
    """Save a brand whose texts, labels and custom button are the hostile text, each part only where valid.

    Returns which parts were taken; a refused part must name its field and change nothing.
    """
    from app.brand.pack import BrandPack, parse_settings
    from app.brand.service import apply_pack, current_version

    parts = {
        "identity": lambda data: data["identity"].update(product_name=text, company_name=text,
                                                         login_headline=text, login_text=text),
        "labels": lambda data: data["buttons"].update(labels={"send": text, "ding": text, "logout": text}),
        "custom": lambda data: data["navigation"].update(custom=[{"label": text,
                                                                  "url": "https://evil.example/" + text}]),
    }
    default = (ROOT / "branding" / "default" / "brand.toml").read_text()
    taken = {}
    data = tomllib.loads(default)
    for name, change in parts.items():
        alone = tomllib.loads(default)
        change(alone)
        errors = parse_settings(alone, {})[2].items
        assert all(field and message for field, message in errors)
        taken[name] = not errors
        if taken[name]:
            change(data)
    before = current_version(side.tenant)
    if any(taken.values()):
        settings, _sources, errors = parse_settings(data, {})
        assert not errors.items
        apply_pack(side.tenant, BrandPack(settings, _default_pack().assets), note="hostile")
    else:
        assert current_version(side.tenant) == before
    return taken


@pytest.mark.parametrize("text", TEXTS, ids=[_id(t) for t in TEXTS])
def test_hostile_text_renders_inert_everywhere(world, text):
    side, visit = world.home, Visit(world, text)
    ids = side.ids
    shown = lambda ok: (text,) if ok else ()  # noqa: E731

    # People: a display name (the spare person) and a title (the outsider), through the admin's form.
    name_ok = visit.saved("display name", visit.post("admin", f"/admin/people/{ids['person_spare']}", {
        "display_name": text, "role": "member", "department_ids": [str(ids["dept_spare"])]}))
    title_ok = visit.saved("title", visit.post("admin", f"/admin/people/{side.people['outsider'].id}", {
        "display_name": "Outsider", "title": text, "role": "member"}))
    dept_ok = visit.saved("department", visit.post("admin", f"/admin/departments/{ids['dept_spare']}",
                                                   {"name": text}))
    token_ok = visit.saved("token name", visit.post("owner", "/me/tokens", {
        "name": text, "scopes": "directory:read", "days": "5"}))
    tenant_ok = visit.saved("tenant name", visit.post("admin", "/admin/tenant", {
        "name": text, "hosts": side.host}))

    # Chat: a message with a link, and a reply quoting it.
    conv = ids["conversation"]
    posted = visit.post("owner", f"/chat/{conv}/messages", {"text": f"{text}\n{LINK}"}, accept_json=True)
    message_ok = posted.status_code == 201
    if message_ok:
        visit.post("peer", f"/chat/{conv}/messages", {"text": text, "reply_to": posted.get_json()["id"]},
                   accept_json=True)
    elif posted.status_code != 400 or not posted.get_json().get("error"):
        visit.problems.append(f"message refused without a clear error: {posted.status_code}")

    # A DING, and two announcements (hostile title, hostile body).
    ding = visit.post("owner", "/ding/new", {"text": f"{text}\n{LINK}", "recipients": str(side.people["peer"].id)})
    ding_ok = visit.saved("DING", ding)
    title_post = visit.post("admin", "/announcements/new", {"title": text, "body": "plain", "audience": "all"})
    body_post = visit.post("admin", "/announcements/new", {"title": "plain", "body": f"{text}\n{LINK}",
                                                           "audience": "all"})
    ann_title_ok, ann_body_ok = visit.saved("announcement title", title_post), visit.saved("announcement body",
                                                                                             body_post)

    # The brand's texts, labels and a custom button.
    taken = _brand(side, text)
    brand_ok, labels_ok, button_ok = taken["identity"], taken["labels"], taken["custom"]

    # Every page that shows them.
    visit.get(None, "/login", shows=shown(tenant_ok) + shown(brand_ok and "\n" not in text))
    visit.get("owner", "/", shows=shown(dept_ok))
    visit.get("owner", "/people", shows=shown(name_ok) + shown(title_ok))
    visit.get("owner", f"/people/{ids['person_spare']}", shows=shown(name_ok))
    visit.get("owner", f"/people/{side.people['outsider'].id}", shows=shown(title_ok))
    visit.get("owner", f"/departments/{ids['dept_spare']}", shows=shown(dept_ok) + shown(name_ok))
    visit.get("owner", "/ding/new", shows=shown(name_ok))
    visit.get("owner", "/me/tokens", shows=shown(token_ok))
    visit.get("admin", f"/admin/people/{ids['person_spare']}", shows=shown(dept_ok))
    visit.get("admin", f"/admin/departments/{ids['dept_spare']}", shows=shown(dept_ok))
    visit.get("admin", "/admin/tenant", shows=shown(tenant_ok))
    visit.get("admin", "/admin/brand/")
    visit.get("admin", "/announcements/new", shows=shown(dept_ok))
    operator = world.sides[FOREIGN]
    visit.get("admin", "/admin/tenants", side=operator, shows=shown(tenant_ok))
    # A login name and password: refused as wrong, never a failure.
    login = world.app.test_client().post("/login", base_url=f"http://{side.host}", data={
        "login": text, "password": text, "csrf_token": _anonymous_token(world, side)})
    if login.status_code not in (400, 401, 429):
        visit.problems.append(f"POST /login with the text as login and password: {login.status_code}")
    # Search queries are echoed.
    visit.get("owner", "/people?" + _q(text), shows=shown(text.isprintable() and len(text) <= 100))
    visit.get("owner", "/chat/search?" + _q(text))
    visit.get("admin", "/admin/people?" + _q(text))

    if message_ok:
        page = visit.get("peer", f"/chat/{conv}").get_data(as_text=True)
        assert "<br>" in page
        messages = world.client(side.actors["peer"]).get(f"/chat/{conv}/messages", base_url=f"http://{side.host}")
        for payload in messages.get_json()["messages"][-2:]:
            if inert.problems(payload["html"]):
                visit.problems.append(f"message html not inert: {inert.problems(payload['html'])}")
    if ding_ok:
        ding_id = _location_id(ding)
        for key in ("peer", "owner"):
            page = visit.get(key, f"/ding/{ding_id}").get_data(as_text=True)
            body = page.split('<div class="ding-body">')[1].split("</div>")[0]
            if inert.problems(body) or "<br>" not in body or f'href="{LINK}"' not in body:
                visit.problems.append(f"DING body as {key}: {inert.problems(body)}")
        visit.get("peer", "/ding/", shows=(text,))
        pending = world.client(side.actors["peer"]).get("/ding/pending", base_url=f"http://{side.host}")
        if f"{text}\n{LINK}".replace("\r\n", "\n").strip() not in [d.get("text") for d in pending.get_json()["dings"]]:
            visit.problems.append("the pending DING's text is not returned as typed")
    for ok, post_response, what in ((ann_title_ok, title_post, "title"), (ann_body_ok, body_post, "body")):
        if ok:
            number = _location_id(post_response)
            page = visit.get("owner", f"/announcements/{number}",
                             shows=(text,) if what == "title" else ()).get_data(as_text=True)
            body = page.split('<div class="announcement-body">')[1].split("</div>")[0]
            if inert.problems(body) or (what == "body" and "<br>" not in body):
                visit.problems.append(f"announcement body: {inert.problems(body)}")
            visit.get("admin", f"/announcements/{number}/stats", shows=(text,) if what == "title" else ())
    visit.get("owner", "/announcements/", shows=shown(ann_title_ok))

    # The brand on the pages every person sees, and in the web-app manifest (JSON, the text intact).
    if brand_ok or labels_ok or button_ok:
        visit.get("owner", "/ding/", shows=shown(labels_ok) + shown(button_ok))
        visit.get(None, "/login", shows=shown(brand_ok and "\n" not in text))
        manifest = world.client().get("/manifest.webmanifest", base_url=f"http://{side.host}")
        if brand_ok and json.loads(manifest.get_data(as_text=True))["name"] != text.strip():
            visit.problems.append("the manifest does not carry the product name as typed")

    assert not visit.problems, "\n".join(visit.problems)


def _anonymous_token(world, side) -> str:
    from tests.conftest import csrf_from

    client = world.app.test_client()
    token = csrf_from(client.get("/login", base_url=f"http://{side.host}").get_data(as_text=True))
    return token


def _q(text: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"q": text})


def test_hostile_directory_values_render_inert(world, slapd):  # noqa: F811
    """Names, titles and department names read from a real directory server are as hostile as typed ones."""
    import ldap3

    from app.org.ldap.sync import run_sync
    from app.org.models import Department, Person
    from app.tenancy.service import create_tenant
    from tests.conftest import login, make_person
    from tests.ldap.builder import Directory

    with world.app.app_context():
        tenant = create_tenant("initech", "Initech", ["initech.example"])
        make_person(tenant, "root", role="admin", display_name="Local Root")
        directory = Directory(slapd, "openldap").load()
        stored = []
        for n, text in enumerate(TEXTS):
            value = text.encode()   # bytes: base64 in LDIF, so any character reaches the server
            try:
                directory.person(f"p{n}", "", extra={"cn": value, "title": value, "departmentNumber": value})
            except (AssertionError, ldap3.core.exceptions.LDAPException):
                continue   # the server itself refuses it (a NUL in a directory string): no directory can send it
            stored.append(text)
        configure(tenant, directory, department_source="attribute", department_base_dn="")
        run = run_sync(tenant, origin="cli").run
        assert run.status == "ok", run.reason
        directory.close()
    assert len(stored) > len(TEXTS) // 2
    names = {d.name for d in Department.select().where(Department.tenant == tenant)}
    assert any("<script>" in name for name in names), "no hostile department name came through the sync"
    client = world.app.test_client()
    assert login(client, "root", host="initech.example").status_code == 302
    pages = ["/", "/people", "/admin/people", "/admin/departments", f"/admin/directory/runs/{run.id}"]
    pages += [f"/departments/{d.id}" for d in Department.select().where(Department.tenant == tenant)]
    pages += [f"/people/{p.id}" for p in Person.select().where(Person.tenant == tenant)]
    problems = []
    for path in pages:
        response = client.get(path, base_url="http://initech.example")
        html = response.get_data(as_text=True)
        if response.status_code != 200 or inert.page_problems(html):
            problems.append(f"{path}: {response.status_code} {inert.page_problems(html)[:5]}")
        problems += [f"{path}: {text[:30]!r} unescaped" for text in stored if "<" in text and text in html]
    assert not problems, "\n".join(problems)
