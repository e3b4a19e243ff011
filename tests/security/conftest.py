"""A populated world for the security checks: two tenants full of data, marked with sentinels, built once per module.

Every piece of data carries a unique sentinel string ("s3nt-<tenant>-<what>"), so
a check can tell whose data a response shows. The world is built once per module
and database (SQLite and a real PostgreSQL); checks that change it use objects
kept for that purpose (the spare person, department and token).
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict

from tests.conftest import TEST_PASSWORD, csrf_from, make_person, make_settings

ROOT = Path(__file__).resolve().parents[2]
HOSTS = {"acme": "acme.example", "globex": "globex.example"}
# The tenant the checks look from (not the install's default: to it, seeing other tenants is a leak everywhere),
# and the tenant whose data must never show there.
HOME, FOREIGN = "globex", "acme"
SCOPES = ["directory:read", "messages:read", "messages:write", "dings:write", "announcements:read"]


def sentinel(slug: str, what: str) -> str:
    """A marker no other piece of data contains (the closing "-9" keeps one from being the start of another)."""
    return f"s3nt-{slug}-{what}-9" if what else f"s3nt-{slug}-"


@dataclass
class Actor:
    """A person of a tenant with a logged-in browser session (cookie and CSRF token) and an API token."""

    key: str
    tenant: str
    person_id: int
    cookie: str = ""
    csrf: str = ""
    token: str = ""

    @property
    def host(self) -> str:
        return HOSTS[self.tenant]


@dataclass
class Side:
    """One tenant of the world: its row, people, object ids and sentinels."""

    slug: str
    tenant: object = None
    people: dict = field(default_factory=dict)      # key -> Person
    ids: dict = field(default_factory=dict)         # object key -> id (or name, for brand assets)
    public: dict = field(default_factory=dict)      # shown to anyone who reaches the tenant's host (brand, name)
    tenant_wide: dict = field(default_factory=dict)  # shown to every member (names, departments, titles)
    private: dict = field(default_factory=dict)     # shown only to some (messages, DINGs, tokens, sync runs)
    seen_by: dict = field(default_factory=dict)     # private key -> the people (keys) who may see it
    actors: dict = field(default_factory=dict)      # key -> Actor

    @property
    def host(self) -> str:
        return HOSTS[self.slug]

    def sentinel(self, key: str) -> str:
        return {**self.public, **self.tenant_wide, **self.private}[key]

    def hidden_from(self, actor_key: str | None) -> dict[str, str]:
        """The sentinels this person of the tenant must never be shown (None: someone not logged in here)."""
        if actor_key is None:
            return {**self.tenant_wide, **self.private}
        return {k: v for k, v in self.private.items() if actor_key not in self.seen_by[k]}


@dataclass
class World:
    app: object
    database_url: str
    sides: dict

    @property
    def home(self) -> Side:
        return self.sides[HOME]

    @property
    def foreign(self) -> Side:
        return self.sides[FOREIGN]

    def client(self, actor: Actor | None = None, host: str | None = None):
        """A fresh test client, logged in as the actor (its cookie) when one is given."""
        client = self.app.test_client()
        if actor is not None:
            client.set_cookie("atrium_session", actor.cookie, domain=host or actor.host)
        return client

    def fingerprint(self) -> str:
        """Everything a refused request must leave as it was, as one comparable string."""
        from app.announce.models import Announcement, AnnouncementRead
        from app.brand.models import BrandVersion
        from app.chat.models import Conversation, ConversationMember, Message
        from app.ding.models import Ding, DingRecipient
        from app.org.ldap.models import DirectoryConfig, SyncRun
        from app.org.models import Department, Membership, Person
        from app.security.tokens import ApiToken
        from app.tenancy.models import Tenant, TenantHost

        parts = []
        for model, fields in (
                (Tenant, ("name", "default_locale", "timezone")), (TenantHost, ("host",)),
                (Person, ("display_name", "title", "role", "is_active", "session_epoch", "password_hash",
                          "manager_id", "locale", "timezone", "dnd_until", "must_change_password")),
                (Department, ("name", "parent_id", "head_id")), (Membership, ("person_id", "department_id")),
                (Conversation, ("title", "kind")), (ConversationMember, ("person_id", "last_read_id")),
                (Message, ("text", "edited_at", "recalled_at")), (Ding, ("text", "stopped_at")),
                (DingRecipient, ("confirmed_at",)), (Announcement, ("title", "body")),
                (AnnouncementRead, ("person_id",)), (ApiToken, ("name", "revoked_at")),
                (BrandVersion, ("number", "is_current")), (SyncRun, ("status",)), (DirectoryConfig, ("enabled",))):
            columns = [model.id] + [getattr(model, name) for name in fields]
            rows = model.select(*columns).order_by(model.id).tuples()
            parts.append(f"{model.__name__}:{list(rows)!r}")
        return "\n".join(parts)


# --- the database and the application, once per module ----------------------------------------

@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A folder for the module's SQLite file and data directory, in memory where the machine has /dev/shm.

    These checks are about who sees what, not about surviving a power cut: without the
    fsync of every commit and blob, the thousands of requests take a fraction of the time.
    """
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path_factory.mktemp("security")
        return
    folder = Path(tempfile.mkdtemp(prefix="atrium-security-", dir=shm))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, scratch):
    """A fresh database at the newest schema for the module: SQLite, and a real PostgreSQL server."""
    if request.param == "sqlite":
        target = scratch / "atrium.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite:///{target}"
        return
    server = request.getfixturevalue("pg_server")
    template = request.getfixturevalue("pg_template")
    name = f"sec{os.getpid()}_{request.node.name.replace('.', '_').replace('/', '_')[-30:]}".lower()
    name = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name)
    server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    server.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    yield server.url(name)
    server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def app(request, database_url, scratch):
    """The application for the module; a module's SETTINGS mapping adds settings."""
    from app import create_app
    from app.db import db
    from app.events import hub as hubmod

    application = create_app(make_settings(scratch / "data", database_url,
                                           **getattr(request.module, "SETTINGS", {})))
    application.config["TESTING"] = True
    yield application
    hubmod.hub.stop()
    if not db.is_closed():
        db.close()


@pytest.fixture(scope="module")
def world(app, database_url) -> World:
    """Two tenants, each with people, departments, a conversation with an attachment, a DING, an announcement,
    API tokens, a brand, a directory photo and a sync run, every piece marked with a sentinel."""
    from app.db import db

    sides = {}
    for slug in ("acme", "globex"):
        sides[slug] = _build_side(slug)
    world = World(app, database_url, sides)
    for side in sides.values():
        _log_in_everyone(world, side)
    _deactivate(sides)
    if not db.is_closed():
        db.close()
    return world


def _build_side(slug: str) -> Side:
    from app.announce.service import publish_announcement
    from app.brand.pack import build_pack, read_folder
    from app.brand.service import apply_pack
    from app.chat.service import create_group, direct_conversation, post_message
    from app.ding.service import send_ding
    from app.org.ldap.models import DirectoryEntry
    from app.org.ldap.models import SyncRun
    from app.org.service import save_department
    from app.residency.blobs import save_blob
    from app.security.tokens import create_token
    from app.tenancy.service import create_tenant

    side = Side(slug)
    s = lambda what: sentinel(slug, what)  # noqa: E731
    side.public["tenant_name"] = s("tenant")
    side.tenant = create_tenant(slug, f"{slug.title()} {s('tenant')}", [side.host], is_default=(slug == "acme"))
    t = side.tenant
    main = save_department(t, None, {"name": f"Main {s('dept-main')}"})
    other = save_department(t, None, {"name": f"Other {s('dept-other')}"})
    spare_dept = save_department(t, None, {"name": f"Spare {s('dept-spare')}"})
    side.tenant_wide.update(dept_main=s("dept-main"), dept_other=s("dept-other"), dept_spare=s("dept-spare"))
    people = {
        "admin": dict(role="admin", departments=[]),
        "owner": dict(departments=[main]),
        "peer": dict(departments=[main]),
        "outsider": dict(departments=[other]),
        "spare": dict(departments=[other]),
        "gone": dict(departments=[main]),
    }
    for key, spec in people.items():
        person = make_person(t, f"{key}-{slug}", role=spec.get("role", "member"),
                             display_name=f"{key.title()} {s('person-' + key)}", title=f"Title {s('title-' + key)}",
                             email=f"{key}@{side.host}", department_ids=[str(d.id) for d in spec["departments"]])
        side.people[key] = person
        side.tenant_wide[f"person_{key}"] = s("person-" + key)
        side.tenant_wide[f"title_{key}"] = s("title-" + key)
    p = side.people
    side.ids.update(person=p["owner"].id, person_spare=p["spare"].id, dept=main.id, dept_spare=spare_dept.id)
    # A directory photo for the owner (as the photo pass stores it).
    photo = save_blob(t, _png(), "image/png")
    DirectoryEntry.create(tenant=t, person=p["owner"], dn=f"uid=owner,{s('dn')}", photo_blob=photo)
    # Chat: owner and peer talk; an attachment carries a sentinel in its bytes.
    conv = direct_conversation(t, p["owner"], p["peer"].id)
    attachment = save_blob(t, f"file {s('attachment')}".encode(), "text/plain; charset=utf-8")
    message = post_message(t, conv, p["peer"], f"hello {s('message')}", attachment=attachment,
                           attachment_name=f"{s('attachment-name')}.txt")
    mine = post_message(t, conv, p["owner"], f"reply {s('message-mine')}")
    group = create_group(t, p["owner"], f"Group {s('group')}", [p["peer"].id])
    post_message(t, group, p["owner"], f"group talk {s('message-group')}")
    side.ids.update(conversation=conv.id, message=message.id, message_mine=mine.id, group=group.id)
    side.private.update(message=s("message"), message_mine=s("message-mine"), attachment=s("attachment"),
                        attachment_name=s("attachment-name"), group=s("group"), message_group=s("message-group"))
    side.seen_by.update(dict.fromkeys(("message", "message_mine", "attachment", "attachment_name", "group",
                                       "message_group"), {"owner", "peer"}))
    # A DING from owner to peer, an announcement to the main department.
    ding = send_ding(t, p["owner"], f"urgent {s('ding')}", [p["peer"].id])
    announcement = publish_announcement(t, p["admin"], f"Title {s('announcement-title')}",
                                        f"Body {s('announcement-body')}", department_ids=[str(main.id)])
    side.ids.update(ding=ding.id, announcement=announcement.id)
    side.private.update(ding=s("ding"), announcement_title=s("announcement-title"),
                        announcement_body=s("announcement-body"))
    side.seen_by.update(ding={"owner", "peer"}, announcement_title={"owner", "peer", "gone", "admin"},
                        announcement_body={"owner", "peer", "gone", "admin"})
    # API tokens: the owner's (and a spare one to revoke), the outsider's, the to-be-deactivated person's.
    for key, owner_key in (("token", "owner"), ("token_spare", "owner"), ("token_outsider", "outsider"),
                           ("token_gone", "gone"), ("token_peer", "peer"), ("token_admin", "admin")):
        token, secret = create_token(p[owner_key], f"Token {s(key.replace('_', '-'))}", SCOPES, 30)
        side.ids[key] = token.id
        side.ids[key + "_secret"] = secret
        side.private[key] = s(key.replace("_", "-"))
        side.seen_by[key] = {owner_key}
    # The brand: every text field carries a sentinel; it is public on the tenant's host.
    files = read_folder(ROOT / "branding" / "default")
    toml = files["brand.toml"].decode()
    toml = toml.replace('product_name = "Atrium"', f'product_name = "{s("brand")}"', 1)
    toml = toml.replace('login_headline = "Work together, on your own servers"',
                        f'login_headline = "{s("headline")}"', 1)
    toml = toml.replace("[buttons.labels]\n", f'[buttons.labels]\nsend = "{s("label")}"\n', 1)
    toml += f'\n[[navigation.custom]]\nlabel = "{s("btn")}"\nurl = "https://{slug}.example.org/{s("btn-url")}"\n'
    files["brand.toml"] = toml.encode()
    version = apply_pack(t, build_pack(files), p["admin"], note=s("brand-note"))
    side.public.update(brand=s("brand"), headline=s("headline"), label=s("label"), button=s("btn"))
    from app.brand.service import brand_for

    brand = brand_for(t)
    side.ids.update(brand_version=version.number, brand_css=brand.css_digest,
                    brand_asset=brand.assets["logo"], brand_asset_name="logo")
    # A directory sync run with a sentinel in its plan (only admins see runs).
    run = SyncRun.create(tenant=t, origin="admin", started_by=p["admin"], kind="full", dry_run=True, status="ok",
                         reason=s("sync-reason"), counts=json.dumps({"creates": 1}),
                         plan=json.dumps({"creates": [{"login": s("sync-plan")}]}), problems="[]")
    side.ids["sync_run"] = run.id
    side.private.update(sync_reason=s("sync-reason"), sync_plan=s("sync-plan"))
    side.seen_by.update(sync_reason={"admin"}, sync_plan={"admin"})
    return side


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (16, 16), (40, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def _log_in_everyone(world: World, side: Side) -> None:
    """Each person logs in through the login form; the session cookie and its CSRF token are kept."""
    for key, person in side.people.items():
        client = world.app.test_client()
        base = f"http://{side.host}"
        page = client.get("/login", base_url=base).get_data(as_text=True)
        response = client.post("/login", base_url=base, data={"login": person.login, "password": TEST_PASSWORD,
                                                               "csrf_token": csrf_from(page)})
        assert response.status_code == 302, (key, response.status_code)
        html = client.get("/me/settings", base_url=base).get_data(as_text=True)
        token = csrf_from(html)
        cookie = client.get_cookie("atrium_session", domain=side.host)
        side.actors[key] = Actor(key, side.slug, person.id, cookie.value, token,
                                 side.ids.get(f"token_{key}_secret") or
                                 (side.ids["token_secret"] if key == "owner" else ""))


def _deactivate(sides) -> None:
    """The person kept for it is deactivated after logging in and making a token: both must stop working."""
    from app.org.service import deactivate_person

    for side in sides.values():
        deactivate_person(side.people["gone"])


def form(data: dict | None, csrf: str | None) -> MultiDict:
    values = MultiDict(data or {})
    if csrf is not None:
        values["csrf_token"] = csrf
    return values
