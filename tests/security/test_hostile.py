"""Hostile text in every field people (or the directory) fill in renders inert on every page that shows it.

Each line of tests/data/hostile_text.txt goes, through the real forms, into person
names and titles, department names, messages and replies, DING text,
announcement titles and bodies, brand texts, labels and custom buttons, the
tenant's name, API token names and search queries; and into the fields of the
features in FEATURES (approval forms, templates and reasons, task titles,
descriptions, comments and progress notes, work circle posts and comments,
contact names, companies, titles, tags and notes, attendance place names,
integration names, the email sender's name, audit log filters, and the
notifications all of these raise). Then every page showing them must be inert
(tests/inert.py) and show the text escaped rather than evaluated. A field may
refuse a value (control and format characters, overlong text) with a clear
error; it never fails with a 5xx or renders live markup.
Hostile SVG icons and colours are checked in tests/brand.
"""
from __future__ import annotations

import functools
import html
import json
import re
import tomllib
from urllib.parse import urlencode

import pytest
from markupsafe import escape

from tests import inert
from tests.ldap.conftest import configure, pki, slapd  # noqa: F401 - the directory's real server
from tests.security.conftest import FOREIGN, ROOT

pytestmark = pytest.mark.slow

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
            # Shown escaped, not evaluated as a template: its start is there as typed (a rendered text's first
            # line, read from the page's text, where links and line breaks are markup of the page's own).
            start = str(escape(shown.replace("\r\n", "\n").strip()[:30]))
            if start not in html and _lead(shown) not in _page_text(html):
                self.problems.append(f"{what}: does not show the text as typed ({start!r})")

    def api(self, key, path) -> None:
        """GET an API path with the person's token: an answer, never a failure."""
        side = self.side
        response = self.world.app.test_client().get(path, base_url=f"http://{side.host}",
                                                    headers={"Authorization": f"Bearer {side.actors[key].token}"})
        if response.status_code >= 500 or response.mimetype != "application/json":
            self.problems.append(f"GET {path}: status {response.status_code} ({response.mimetype})")

    def act(self, key, path, data, what: str) -> bool:
        """POST a form that answers with a redirect and a message; True when it was taken (no error message)."""
        client, side = self._client(key)
        response = client.post(path, base_url=f"http://{side.host}", data={**data, "csrf_token": side.actors[key].csrf})
        self.check(f"POST {path}", response, ())
        if response.status_code not in (302, 303):
            return self.saved(what, response)
        landing = client.get(response.headers["Location"], base_url=f"http://{side.host}")
        self.check(f"GET {response.headers['Location']} after POST {path}", landing, ())
        return "flash-error" not in landing.get_data(as_text=True)

    def fragments(self, what: str, page: str, pattern: str, expected: int = 1) -> None:
        """The blocks of the page holding people's text hold only the few tags the renderer makes."""
        found = re.findall(pattern, page, flags=re.S)
        if len(found) < expected:
            self.problems.append(f"{what}: {len(found)} blocks like {pattern!r}, expected {expected}")
        for fragment in found:
            if inert.problems(fragment):
                self.problems.append(f"{what}: not inert: {inert.problems(fragment)[:5]}")

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


def _lead(text: str) -> str:
    """The start of a text's first line, as a page shows it."""
    return text.replace("\r\n", "\n").strip().split("\n")[0].strip()[:30]


def _page_text(page: str) -> str:
    """What a page reads as: its text without the tags, entities decoded."""
    return html.unescape(re.sub(r"<[^>]*>", "", page))


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
    visit.api("owner", "/api/v1/people?" + _q(text))
    visit.api("owner", "/api/v1/search?" + _q(text))
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


# --- the features: each posts the text into its fields through the real forms, then visits the pages showing it

def _approvals(visit: Visit, text: str) -> None:
    """A template's name, description and extra field (admins); a request's subject and details; reasons."""
    shown = lambda ok, value=text: (value,) if ok else ()  # noqa: E731
    template_ok = visit.saved("approval template", visit.post("admin", "/approvals/templates/general", {
        "name": text, "description": text, "enabled": "1", "route_mode": "manager", "route_depth": "1",
        "field_rows": "1", "f0_label": text, "f0_type": "text"}))
    visit.get("admin", "/approvals/templates", shows=shown(template_ok))
    visit.get("owner", "/approvals/new/general", shows=shown(template_ok))
    posts = [visit.post("owner", "/approvals/new/general", {"title": text, "details": "plain"}),
             visit.post("owner", "/approvals/new/general", {"title": "plain", "details": f"{text}\n{LINK}"})]
    taken = [visit.saved("approval subject", posts[0]), visit.saved("approval details", posts[1])]
    ids = [_location_id(post) for post, ok in zip(posts, taken) if ok]
    while len(ids) < 2:   # a request to decide on, whatever was refused
        ids.append(_location_id(visit.post("owner", "/approvals/new/general", {"title": "plain", "details": "plain"})))
    reasons = [visit.saved("return reason", visit.post("admin", f"/approvals/{ids[0]}/return", {"reason": text})),
               visit.saved("reject reason", visit.post("admin", f"/approvals/{ids[1]}/reject", {"reason": text}))]
    for approval_id, reason_ok in zip(ids, reasons):
        for key in ("owner", "admin"):
            page = visit.get(key, f"/approvals/{approval_id}", shows=shown(reason_ok)).get_data(as_text=True)
            visit.fragments(f"approval {approval_id} answers as {key}", page, r'<dd class="answer">(.*?)</dd>', 2)
            visit.fragments(f"approval {approval_id} reasons as {key}", page, r'<p class="step-comment">(.*?)</p>',
                            1 if reason_ok else 0)
    visit.get("owner", "/approvals/?box=mine", shows=shown(taken[0]))
    visit.get("admin", "/approvals/?box=done", shows=shown(taken[0]))


def _tasks(visit: Visit, text: str) -> None:
    """A task's title and description; an assignee's comment and progress note."""
    peer = str(visit.side.people["peer"].id)
    posts = [visit.post("owner", "/tasks/new", {"title": text, "assignees": peer, "description": "plain"}),
             visit.post("owner", "/tasks/new", {"title": "plain", "assignees": peer,
                                                "description": f"{text}\n{LINK}"})]
    taken = [visit.saved("task title", posts[0]), visit.saved("task description", posts[1])]
    ids = [_location_id(post) for post, ok in zip(posts, taken) if ok]
    if not ids:
        ids.append(_location_id(visit.post("owner", "/tasks/new", {"title": "plain", "assignees": peer})))
    task_id = ids[-1]
    comment_ok = visit.act("peer", f"/tasks/{task_id}/comments", {"text": text}, "task comment")
    note_ok = visit.act("peer", f"/tasks/{task_id}/progress", {"percent": "10", "note": text}, "progress note")
    for key in ("owner", "peer"):
        page = visit.get(key, f"/tasks/{task_id}", shows=(text,) if comment_ok or note_ok or taken[1] else ())
        visit.fragments(f"task {task_id} as {key}", page.get_data(as_text=True),
                        r'<div class="(?:announcement-body|message-body)">(.*?)</div>',
                        int(taken[1] and task_id == ids[-1]) + comment_ok + note_ok)
    visit.get("peer", "/tasks/", shows=(text,) if taken[0] else ())
    visit.get("owner", "/tasks/given", shows=(text,) if taken[0] else ())
    visit.get("peer", "/notifications/", shows=(text,) if taken[0] else ())


def _circle(visit: Visit, text: str) -> None:
    """A post to a department, and a comment on it."""
    side = visit.side
    posted = visit.post("owner", "/circle/posts", {"text": f"{text}\n{LINK}", "audience": "departments",
                                                   "departments": str(side.ids["dept"])})
    post_ok = visit.saved("circle post", posted)
    post_id = _newest_post(side) if post_ok else side.ids["circle_post"]
    comment = visit.post("peer", f"/circle/posts/{post_id}/comments", {"text": text}, accept_json=True)
    comment_ok = comment.status_code == 201
    if not comment_ok and (comment.status_code != 400 or not comment.get_json().get("error")):
        visit.problems.append(f"circle comment refused without a clear error: {comment.status_code}")
    for key, path in (("peer", f"/circle/posts/{post_id}"), ("peer", "/circle/"), ("admin", "/circle/")):
        page = visit.get(key, path, shows=(text,) if post_ok or comment_ok else ()).get_data(as_text=True)
        visit.fragments(f"{path} as {key}", page,
                        r'<(?:div|span) class="circle-(?:comment-)?text">(.*?)</(?:div|span)>', post_ok + comment_ok)


def _contacts(visit: Visit, text: str) -> None:
    """A contact's name, company, title and tags; a note in its history; a preset tag (admins); the search."""
    owner = str(visit.side.people["owner"].id)
    posts = [visit.post("owner", "/contacts/new", {"name": text, "kind": "customer", "owner": owner}),
             visit.post("owner", "/contacts/new", {"name": "Plain", "kind": "customer", "company": text,
                                                   "title": text, "owner": owner}),
             visit.post("owner", "/contacts/new", {"name": "Plain", "kind": "customer", "custom_tags": text,
                                                   "owner": owner})]
    taken = [visit.saved(what, post) for what, post in zip(("contact name", "company", "tags"), posts)]
    contact_id = ([_location_id(post) for post, ok in zip(posts, taken) if ok] or [visit.side.ids["contact"]])[0]
    note_ok = visit.saved("contact note", visit.post("owner", f"/contacts/{contact_id}/history",
                                                     {"kind": "note", "body": text}))
    preset_ok = visit.saved("preset tag", visit.post("admin", "/contacts/tags", {"name": text}))
    for key in ("owner", "admin"):
        page = visit.get(key, f"/contacts/{contact_id}", shows=(text,) if any(taken) or note_ok else ())
        visit.fragments(f"contact {contact_id} as {key}", page.get_data(as_text=True),
                        r'<p class="history-body">(.*?)</p>', int(note_ok))
    visit.get("owner", "/contacts/", shows=(text,) if taken[0] else ())
    visit.get("owner", "/contacts/?" + _q(text))
    visit.api("owner", "/api/v1/contacts?" + _q(text))
    visit.get("admin", "/contacts/tags", shows=(text,) if preset_ok else ())


def _attendance(visit: Visit, text: str) -> None:
    """An allowed place's name (admins)."""
    place = visit.side.ids["place_spare"]
    ok = visit.saved("place name", visit.post("admin", f"/attendance/places/{place}", {
        "name": text, "latitude": "31.3", "longitude": "121.5", "radius_m": "100"}))
    visit.get("owner", "/attendance/", shows=(text,) if ok else ())
    visit.get("admin", "/attendance/settings", shows=(text,) if ok else ())


def _admin(visit: Visit, text: str) -> None:
    """An integration's name, the email sender's name, and the audit log's filters (admins)."""
    integration = visit.post("admin", "/admin/integrations/", {"name": text, "scopes": "directory:read", "days": "5"})
    integration_ok = visit.saved("integration name", integration)
    visit.get("admin", "/admin/integrations/", shows=(text,) if integration_ok else ())
    sender_ok = visit.saved("sender name", visit.post("admin", "/admin/email/", {
        "from_name": text, "ding_delay_minutes": "10", "digest_time": "08:00"}))
    visit.get("admin", "/admin/email/", shows=(text,) if sender_ok else ())
    visit.get("admin", "/admin/audit/", shows=(text,) if integration_ok else ())
    # Older entries: the names people were given and the login names tried (the first test's texts).
    visit.get("admin", "/admin/audit/?action=person.update")
    visit.get("admin", "/admin/audit/?action=login.failed")
    for query in ({"q": text, "actor": text}, {"action": text, "outcome": text}, {"since": text, "until": text}):
        response = visit.get("admin", "/admin/audit/?" + urlencode(query))
        body = response.get_data(as_text=True)
        if response.status_code == 400 and not ('role="alert"' in body or "field-error" in body):
            visit.problems.append(f"audit filter {sorted(query)} refused without a clear error")
        elif response.status_code not in (200, 400):
            visit.problems.append(f"audit filter {sorted(query)}: status {response.status_code}")


FEATURES = {"approvals": _approvals, "tasks": _tasks, "circle": _circle, "contacts": _contacts,
            "attendance": _attendance, "admin": _admin}


def _newest_post(side) -> int:
    from app.circle.models import CirclePost

    return (CirclePost.select(CirclePost.id).where(CirclePost.tenant == side.tenant)
            .order_by(CirclePost.id.desc()).scalar())


@pytest.mark.parametrize("text", TEXTS, ids=[_id(t) for t in TEXTS])
def test_hostile_text_in_the_features_renders_inert(world, text):
    visit = Visit(world, text)
    with world.app.app_context():
        for feature in FEATURES.values():
            feature(visit, text)
    # The notification centre shows what approvals, tasks and DINGs raised.
    for key in ("owner", "peer", "admin"):
        visit.get(key, "/notifications/")
    assert not visit.problems, "\n".join(visit.problems)


def _anonymous_token(world, side) -> str:
    from tests.conftest import csrf_from

    client = world.app.test_client()
    token = csrf_from(client.get("/login", base_url=f"http://{side.host}").get_data(as_text=True))
    return token


def _q(text: str) -> str:
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
