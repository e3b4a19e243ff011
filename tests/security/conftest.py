"""A populated world for the security checks: two tenants full of data, marked with sentinels, built once per module.

Every piece of data carries a unique sentinel string ("s3nt-<tenant>-<what>"), so
a check can tell whose data a response shows. The world is built once per module
and database (SQLite and a real PostgreSQL); checks that change it use objects
kept for that purpose (the spare person, department and token, and a spare of each
feature's object a route changes or deletes: requests to decide, tasks, posts,
comments, contacts, a place, a tag, an integration token).
"""
from __future__ import annotations

import datetime
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
SCOPES = ["directory:read", "messages:read", "messages:write", "dings:write", "announcements:read",
          "announcements:write", "notifications:read", "approvals:read", "approvals:write", "attendance:read",
          "attendance:write", "tasks:read", "tasks:write", "circle:read", "circle:write", "contacts:read",
          "contacts:write", "switchboard:route"]


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
        from app.approvals.models import (Approval, ApprovalAction, ApprovalAttachment, ApprovalCopy, ApprovalStep,
                                          ApprovalTemplate)
        from app.attendance.models import AttendanceDay, AttendancePlace, AttendanceRule
        from app.brand.models import BrandVersion
        from app.chat.models import Conversation, ConversationMember, Message
        from app.circle.models import CircleComment, CircleImage, CircleLike, CirclePost, CirclePostDepartment
        from app.contacts.models import (Contact, ContactImport, ContactPhone, ContactSettings, ContactShare,
                                         ContactTag, ContactTagging, Interaction, StandIn)
        from app.ding.models import Ding, DingRecipient
        from app.notify.models import EmailSettings, Notification, OutgoingEmail
        from app.org.ldap.models import DirectoryConfig, SyncRun
        from app.org.models import Department, Membership, Person
        from app.security.tokens import ApiToken
        from app.switchboard.models import DutyPerson, RoutingDecision
        from app.tasks.models import Task, TaskAssignee, TaskComment
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
                (BrandVersion, ("number", "is_current")), (SyncRun, ("status",)), (DirectoryConfig, ("enabled",)),
                (Notification, ("person_id", "read_at")), (EmailSettings, ("enabled", "from_address", "from_name",
                                                                          "ding_delay_minutes", "digest_time")),
                (OutgoingEmail, ("person_id", "state")),
                (ApprovalTemplate, ("name", "enabled", "fields", "route_mode", "route_depth", "extra_approvers",
                                    "copied")),
                (Approval, ("status", "version", "round", "answers", "title")),
                (ApprovalStep, ("approver_id", "state", "round")), (ApprovalCopy, ("person_id",)),
                (ApprovalAction, ("action",)), (ApprovalAttachment, ("blob_id", "name")),
                (AttendanceRule, ("enabled", "check_in_from", "check_in_until", "work_days", "tolerance_m")),
                (AttendancePlace, ("name", "latitude", "longitude", "radius_m")),
                (AttendanceDay, ("person_id", "check_in_at", "check_out_at")),
                (Task, ("title", "description", "status", "percent", "priority", "due_at", "last_reminded_at")),
                (TaskAssignee, ("person_id",)), (TaskComment, ("text",)),
                (CirclePost, ("text", "to_all")), (CirclePostDepartment, ("department_id",)),
                (CircleImage, ("blob_id",)), (CircleLike, ("person_id",)), (CircleComment, ("text",)),
                (Contact, ("name", "company", "title", "kind", "owner_id", "updated_at")),
                (ContactPhone, ("normalized",)), (ContactShare, ("person_id",)), (ContactTag, ("name", "preset")),
                (ContactTagging, ("tag_id",)), (Interaction, ("kind", "body")), (StandIn, ("delegate_id", "ended_at")),
                (ContactImport, ("person_id",)), (ContactSettings, ("country_code",)),
                (DutyPerson, ("department_id", "person_id")), (RoutingDecision, ("rule",))):
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
    """Two tenants, each with people (a department admin and an auditor among them), departments, a conversation
    with an attachment, a DING, an announcement, API tokens, a brand, a directory photo, a sync run, and the
    objects of notifications, approvals, attendance, tasks, the work circle, contacts, the switchboard,
    integrations and email (_build_features), every piece marked with a sentinel."""
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
        # Staff: the other department's own admin, and an auditor (they read the audit log, change nothing).
        "dept_admin": dict(role="dept_admin", departments=[other], admin_department_id=str(other.id)),
        "auditor": dict(role="auditor", departments=[]),
    }
    for key, spec in people.items():
        extra = {"admin_department_id": spec["admin_department_id"]} if "admin_department_id" in spec else {}
        person = make_person(t, f"{key.replace('_', '-')}-{slug}", role=spec.get("role", "member"),
                             display_name=f"{key.title()} {s('person-' + key)}", title=f"Title {s('title-' + key)}",
                             email=f"{key.replace('_', '-')}@{side.host}",
                             department_ids=[str(d.id) for d in spec["departments"]], **extra)
        side.people[key] = person
        side.tenant_wide[f"person_{key}"] = s("person-" + key)
        side.tenant_wide[f"title_{key}"] = s("title-" + key)
    p = side.people
    side.ids.update(person=p["owner"].id, person_spare=p["spare"].id, person_peer=p["peer"].id,
                    person_gone=p["gone"].id, dept=main.id, dept_other=other.id, dept_spare=spare_dept.id)
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
                           ("token_gone", "gone"), ("token_peer", "peer"), ("token_admin", "admin"),
                           ("token_dept_admin", "dept_admin"), ("token_auditor", "auditor")):
        token, secret = create_token(p[owner_key], f"Token {s(key.replace('_', '-'))}", SCOPES, 30)
        side.ids[key] = token.id
        side.ids[key + "_secret"] = secret
        side.private[key] = s(key.replace("_", "-"))
        side.seen_by[key] = {owner_key, "admin", "auditor"}   # the audit log names the tokens made
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
    _build_features(side, main, conv)
    return side


def _mark(side: Side, key: str, seen_by, *, ids: dict | None = None) -> None:
    """A private sentinel and who may see it (with the ids of the objects it is in)."""
    side.private[key] = sentinel(side.slug, key.replace("_", "-"))
    side.seen_by[key] = set(seen_by)
    side.ids.update(ids or {})


def _build_features(side: Side, main, conv) -> None:
    """Notifications, approvals, attendance, tasks, the work circle, contacts, the switchboard, integrations and
    email: objects for every route of theirs, each marked with a sentinel."""
    from werkzeug.datastructures import MultiDict

    from app.approvals import service as approvals
    from app.approvals.models import ApprovalAttachment
    from app.attendance import service as attendance
    from app.chat.attachments import Upload
    from app.circle import service as circle
    from app.circle.models import CircleImage
    from app.contacts import service as contacts
    from app.notify import notify
    from app.notify.models import Notification, OutgoingEmail
    from app.security.integrations import create_integration_token
    from app.switchboard.service import route_call
    from app.tasks import service as tasks
    from tests.security.routes import ATTENDANCE_RULE, PHONE

    t, p = side.tenant, side.people
    s = lambda what: sentinel(side.slug, what)  # noqa: E731
    everyone_in_main = {"owner", "peer", "gone", "admin"}

    # A notification of the owner's.
    notify(t, p["owner"], "mention", {"sender": "Peer", "conversation": "Chat", "text": f"hello {s('notification')}"},
           link=f"/chat/{conv.id}")
    found = (Notification.select().where((Notification.person == p["owner"])
                                         & Notification.params.contains(s("notification"))).get())
    _mark(side, "notification", {"owner"}, ids={"notification": found.id})

    # Approvals: an expense with a receipt (the admin approves it, the peer is copied), and one general request
    # for each decision the routes make (half of them returned for changes already).
    receipt = Upload(f"{s('approval-file-name')}.txt", f"receipt {s('approval-file')}".encode(),
                     "text/plain; charset=utf-8")
    approval = approvals.submit(t, p["owner"], "expense", {"amount": "42.50", "currency": "CNY",
                                                          "purpose": f"Taxi {s('approval')}"},
                                files=[receipt], copied=[p["peer"].id])
    receipt = ApprovalAttachment.get(ApprovalAttachment.approval == approval)
    _mark(side, "approval", {"owner", "peer", "admin"}, ids={"approval": approval.id, "approval_file": receipt.id})
    _mark(side, "approval_file", {"owner", "peer", "admin"})
    _mark(side, "approval_file_name", {"owner", "peer", "admin"})
    for key in ("approve", "reject", "return", "withdraw", "returned", "api_approve", "api_reject", "api_return",
                "api_withdraw", "api_returned"):
        other = approvals.submit(t, p["owner"], "general", {"title": f"Other {s('approval-other')}",
                                                           "details": "Details"})
        if key.endswith("returned"):
            approvals.return_for_changes(t, p["admin"], other.id, None, f"Fix it {s('approval-reason')}")
        side.ids[f"approval_{key}"] = other.id
    _mark(side, "approval_other", {"owner", "admin"})
    _mark(side, "approval_reason", {"owner", "admin"})

    # Attendance: open all day at the office; an annex to remove.
    attendance.save_rule(t, MultiDict(ATTENDANCE_RULE))
    place = attendance.save_place(t, None, {"name": f"Office {s('place')}", "latitude": "31.2304",
                                            "longitude": "121.4737", "radius_m": "300"})
    annex = attendance.save_place(t, None, {"name": f"Annex {s('place-spare')}", "latitude": "31.3",
                                            "longitude": "121.5", "radius_m": "100"})
    side.tenant_wide.update(place=s("place"), place_spare=s("place-spare"))
    side.ids.update(place=place.id, place_spare=annex.id)

    # Tasks: the owner gives one to the peer and themself (the peer comments); two more to change and delete.
    task = tasks.create_task(t, p["owner"], f"Task {s('task-title')}", [p["owner"].id, p["peer"].id],
                             description=f"Do {s('task-body')}")
    tasks.add_comment(t, p["peer"], task.id, f"Comment {s('task-comment')}")
    side.ids["task"] = task.id
    for key in ("task_title", "task_body", "task_comment", "task_other"):
        _mark(side, key, {"owner", "peer"})
    for key in ("task_spare", "task_api"):
        side.ids[key] = tasks.create_task(t, p["owner"], f"Other {s('task-other')}", [p["peer"].id]).id

    # The work circle: posts to the main department with a photo, comments, spares to delete. The routes that
    # add and delete comments use a post of their own, so that the feed, which shows a post's latest comments,
    # shows the sentinel comment whichever of them ran before.
    post = circle.create_post(t, p["owner"], f"Post {s('circle-post')}", to_all=False, department_ids=[main.id],
                              images=[_png()])
    comment = circle.add_comment(t, p["peer"], post.id, f"Comment {s('circle-comment')}")
    talk = circle.create_post(t, p["owner"], f"Talk {s('circle-post')}", to_all=False, department_ids=[main.id])
    side.ids.update(circle_post=post.id, circle_comment=comment.id, circle_post_talk=talk.id,
                    circle_image=CircleImage.get(CircleImage.post == post.id).id,
                    circle_comment_spare=circle.add_comment(t, p["owner"], talk.id, "a comment to delete").id,
                    circle_comment_api_spare=circle.add_comment(t, p["owner"], talk.id, "another to delete").id)
    for key in ("circle_post_spare", "circle_post_api_spare"):
        side.ids[key] = circle.create_post(t, p["owner"], f"Spare {s('circle-post')}", to_all=False,
                                           department_ids=[main.id]).id
    _mark(side, "circle_post", everyone_in_main)
    _mark(side, "circle_comment", everyone_in_main)

    # Contacts: the owner's, shared with the peer (who will stand in for the owner), with a tag, a phone and a
    # note; spares to change, hand over and delete; one of the person who leaves; a stand-in; a pending import.
    contact = contacts.create_contact(t, p["owner"], {"name": f"Contact {s('contact')}",
                                                      "company": f"Company {s('contact-company')}",
                                                      "phones": [PHONE], "tags": [f"Tag {s('contact-tag')}"]})
    contacts.share_contact(t, p["owner"], contact, p["peer"].id)
    contacts.add_interaction(t, p["owner"], contact, "note", f"Note {s('contact-note')}")
    side.ids["contact"] = contact.id
    for key in ("contact_spare", "contact_transfer"):
        side.ids[key] = contacts.create_contact(t, p["owner"], {"name": f"Spare {s('contact')}"}).id
    left = contacts.create_contact(t, p["gone"], {"name": f"Left {s('contact-gone')}"})
    stand_in = contacts.set_stand_in(t, p["peer"], p["peer"].id, p["owner"].id, "",
                                     datetime.date.today() + datetime.timedelta(days=10))
    upload = contacts.start_import(t, p["owner"], "contacts.csv",
                                   f"name,company\r\nImported {s('contact-import')},Co\r\n".encode())
    spare_tag = contacts.add_preset_tag(t, f"Spare {s('contact-tag')}")
    tag = next(tag for tag in contacts.all_tags(t) if tag.name == f"Tag {s('contact-tag')}")
    side.ids.update(contact_gone=left.id, stand_in=stand_in.id, contact_import=upload.id, contact_tag=tag.id,
                    contact_tag_spare=spare_tag.id)
    for key in ("contact", "contact_company", "contact_note", "contact_import"):
        _mark(side, key, {"owner", "peer", "admin"})
    _mark(side, "contact_gone", {"admin"})
    side.tenant_wide.update(contact_tag=s("contact-tag"))
    # The switchboard routed a call from the contact's number once (the log names the contact).
    route_call(t, PHONE, requested_by=p["admin"], origin="try")

    # An integration's tokens (and one to revoke), and an email that failed (admins see both).
    for key in ("integration_token", "integration_token_spare"):
        token, _secret = create_integration_token(t, f"Integration {s('integration')}", ["directory:read"], 30)
        side.ids[key] = token.id
    _mark(side, "integration", {"admin"})
    OutgoingEmail.create(tenant=t, person=p["admin"], kind="test", params="{}", to_address=p["admin"].email,
                         message_id=f"<{side.slug}-failed@{side.host}>", state="failed",
                         detail=f"550 no such mailbox {s('email-failure')}")
    _mark(side, "email_failure", {"admin"})


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
