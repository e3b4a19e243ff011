"""Every endpoint of the application, and how the security suite probes it.

The suite walks the application's URL map: a rule whose endpoint has no entry
here fails the suite, so a new route is covered as soon as it exists. To add
an entry, say who may use the route and how to fill in its URL:

    "chat.conversation": Route(MEMBER, ids={"conversation_id": "conversation"}, private=True,
                               shows=("message",)),

`ids` maps each URL variable to an object of the world (tests/security/conftest.py)
by its key; the suite fills it with the home tenant's object for the allowed
case and with the other tenant's object for the cross-tenant case. Values in
`query` and `data` written "id:KEY" (an object's id) or "search:KEY" (words that
find the object's sentinel without being it) are filled the same way, so ids sent
in a form or a JSON body are probed too. Use Fixed(...) for a value
that is the same everywhere (a static file name), and File(...) for a file sent
with a browser form (a fresh copy for every request).

The methods tried are the rule's own (HEAD and OPTIONS aside); `data` is the
form (browser) or JSON body (API) sent with POST, PUT, PATCH and DELETE.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Mapping

PUBLIC = "public"      # anyone who reaches the host, logged in or not
MEMBER = "member"      # a logged-in person of the tenant (login_required)
ADMIN = "admin"        # the tenant's admins (admin_required)
OPERATOR = "operator"  # admins of the install's default tenant; to every other tenant the page does not exist
API = "api"            # /api/v1 with a bearer token; session cookies count for nothing
# The roles between a member and a tenant admin (app.security.permissions): each is refused wherever a route is
# for admins only, or is private to others, unless its entry names the role in `staff`.
STAFF = ("dept_admin", "auditor")   # the world's department admin (of the other department) and auditor


@dataclass(frozen=True)
class Fixed:
    """A URL value that is not a tenant's object (a static file name, a version number)."""

    value: object


@dataclass(frozen=True)
class File:
    """A file uploaded with a browser form (multipart): its name and bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Route:
    access: str
    ids: Mapping[str, object] = field(default_factory=dict)   # URL variable -> world object key, or Fixed
    private: bool = False     # the object belongs to some people of the tenant (participants, recipients, its owner)
    actor: str = "owner"      # the home tenant's person for whom the route works (owner, peer, admin)
    data: Mapping[str, object] = field(default_factory=dict)   # form or JSON body for unsafe methods
    query: Mapping[str, object] = field(default_factory=dict)  # query string
    shows: tuple[str, ...] = ()   # sentinel keys the allowed case must show
    staff: tuple[str, ...] = ()   # staff roles (STAFF) the route works for too; every other one is refused
    stream: bool = False          # a Server-Sent-Events stream: read its first frames, then close it
    lists_tenants: bool = False   # the operator's pages name every tenant of the install


CONVERSATION = {"conversation_id": "conversation"}
MESSAGE = {"conversation_id": "conversation", "message_id": "message"}
MY_MESSAGE = {"conversation_id": "conversation", "message_id": "message_mine"}
APPROVAL = {"approval_id": "approval"}
APPROVAL_FILE = {"approval_id": "approval", "attachment_id": "approval_file"}
TASK = {"task_id": "task"}
POST = {"post_id": "circle_post"}
TALK = {"post_id": "circle_post_talk"}       # the post whose comments the routes add and delete
CONTACT = {"contact_id": "contact"}
NOTIFICATION = {"notification_id": "notification"}
PLACE_ON = {"latitude": "31.2304", "longitude": "121.4737", "accuracy": "20"}   # inside the world's place
# Attendance open all day, every day, at the world's place: the settings form saves it again as it is.
ATTENDANCE_RULE = {"enabled": "1", "work_start": "09:00", "work_end": "18:00", "check_in_from": "00:00",
                   "check_in_until": "23:59", "check_out_from": "00:00", "check_out_until": "23:59",
                   "work_days": ["1", "2", "3", "4", "5", "6", "7"], "grace_minutes": "0", "tolerance_m": "50"}
PLACE_FORM = {"name": "Office", "latitude": "31.2304", "longitude": "121.4737", "radius_m": "300"}
PHONE = "+86 138 0013 8000"   # the world's contact's number (each tenant has its own contact with it)
GENERAL = {"title": "Subject", "details": "Details"}
EMAIL_FORM = {"from_address": "", "from_name": "Sender", "ding_delay_minutes": "10", "digest_time": "08:00"}
LAST_DAY = Fixed((datetime.date.today() + datetime.timedelta(days=30)).isoformat())
CONTACTS_CSV = File("contacts.csv", "name,company,phones\r\nImported Person,Imported Co,+86 139 0000 0001\r\n".encode())


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (24, 16), (200, 120, 40)).save(out, format="PNG")
    return out.getvalue()


PHOTO = File("photo.png", _png())
# Every security policy at its default (an unticked box is left out), but the other department hidden.
POLICY_FORM = {"login.session_hours": "0", "login.idle_minutes": "0", "login.ip_scope": "off", "login.ip_allow": "",
               "login.lockout_after": "0", "privacy.contacts_department": "1", "privacy.contacts_role": "admin",
               "privacy.hidden_departments": "id:dept_other", "files.max_mb": "0"}

ROUTES: dict[str, Route] = {
    # --- public: the login page, the brand's files, health, static files, the API's description
    "static": Route(PUBLIC, ids={"filename": Fixed("atrium.css")}),
    "health.healthz": Route(PUBLIC),
    "health.readyz": Route(PUBLIC),
    "auth.login": Route(PUBLIC),
    "auth.logout": Route(PUBLIC),
    "brand.stylesheet": Route(PUBLIC, ids={"digest": "brand_css"}),
    "brand.asset": Route(PUBLIC, ids={"digest": "brand_asset", "name": Fixed("logo")}),
    "brand.manifest": Route(PUBLIC, shows=("brand",)),
    "brand.favicon": Route(PUBLIC),
    "api.openapi": Route(PUBLIC),

    # --- the org chart: every member sees the whole tenant's directory
    "org.home": Route(MEMBER, shows=("dept_main",)),
    "org.people": Route(MEMBER, query={"q": "search:person_peer"}, shows=("person_peer",)),
    "org.person": Route(MEMBER, ids={"person_id": "person"}, shows=("person_owner",)),
    "org.person_photo": Route(MEMBER, ids={"person_id": "person"}),
    "org.department": Route(MEMBER, ids={"dept_id": "dept"}, shows=("dept_main", "person_peer")),

    # --- chat: conversations belong to their members
    "chat.index": Route(MEMBER, shows=("group",)),
    "chat.new": Route(MEMBER, data={"kind": "direct", "person": "id:person_spare"}),
    "chat.with_person": Route(MEMBER, ids={"person_id": "person_spare"}),
    "chat.read_all": Route(MEMBER),
    "chat.search_page": Route(MEMBER, query={"q": "search:message"}, shows=("message",)),
    "chat.conversation": Route(MEMBER, ids=CONVERSATION, private=True, shows=("message", "message_mine")),
    "chat.messages": Route(MEMBER, ids=CONVERSATION, private=True, shows=("message",)),
    "chat.post": Route(MEMBER, ids=CONVERSATION, private=True, data={"text": "posted", "reply_to": "id:message"}),
    "chat.read": Route(MEMBER, ids=CONVERSATION, private=True, data={"up_to": "id:message"}),
    "chat.message_receipts": Route(MEMBER, ids=MESSAGE, private=True),
    "chat.attachment": Route(MEMBER, ids=MESSAGE, private=True, shows=("attachment",)),
    "chat.edit": Route(MEMBER, ids=MY_MESSAGE, private=True, data={"text": "edited"}),
    "chat.recall": Route(MEMBER, ids=MY_MESSAGE, private=True),

    # --- DING: the sender and the recipients
    "ding.index": Route(MEMBER, shows=("ding",)),
    "ding.pending_alerts": Route(MEMBER, actor="peer", shows=("ding",)),
    "ding.new": Route(MEMBER, data={"text": "urgent", "recipients": "id:person_spare"}),
    "ding.show": Route(MEMBER, ids={"ding_id": "ding"}, private=True, shows=("ding",)),
    "ding.confirm_view": Route(MEMBER, ids={"ding_id": "ding"}, private=True, actor="peer"),
    "ding.stop_view": Route(MEMBER, ids={"ding_id": "ding"}, private=True),

    # --- announcements: the addressed departments; publishing and read rates for admins and heads
    "announce.index": Route(MEMBER, shows=("announcement_title",)),
    "announce.new": Route(MEMBER, actor="admin", private=True,
                          data={"title": "news", "body": "text", "departments": "id:dept"}),
    "announce.show": Route(MEMBER, ids={"announcement_id": "announcement"}, private=True,
                           shows=("announcement_body",)),
    "announce.confirm": Route(MEMBER, ids={"announcement_id": "announcement"}, private=True),
    "announce.stats": Route(MEMBER, ids={"announcement_id": "announcement"}, private=True, actor="admin",
                            shows=("announcement_title",)),

    # --- one's own settings, tokens, password and live events
    "me.settings": Route(MEMBER, data={"locale": "en"}),
    "me.tokens": Route(MEMBER, shows=("token",), data={"name": "new", "scopes": "directory:read", "days": "5"}),
    "me.revoke": Route(MEMBER, ids={"token_id": "token_spare"}, private=True),
    "auth.password": Route(MEMBER),
    "events.stream": Route(MEMBER, stream=True, query={"after": Fixed(0)}),

    # --- the admin console
    "admin.index": Route(ADMIN, actor="admin", staff=STAFF),
    "admin.people": Route(ADMIN, actor="admin", query={"q": "search:person_gone"}, shows=("person_gone",),
                          staff=("dept_admin",)),
    "admin.person_new": Route(ADMIN, actor="admin", staff=("dept_admin",),
                              data={"login": "newcomer", "display_name": "Newcomer", "role": "member",
                                    "department_ids": "id:dept"}),
    # The spare person is in the department the world's department admin administers.
    "admin.person_edit": Route(ADMIN, ids={"person_id": "person_spare"}, actor="admin", shows=("person_spare",),
                               staff=("dept_admin",)),
    "admin.person_reset_password": Route(ADMIN, ids={"person_id": "person_spare"}, actor="admin",
                                         staff=("dept_admin",)),
    "admin.person_unlock": Route(ADMIN, ids={"person_id": "person_spare"}, actor="admin", staff=("dept_admin",)),
    "admin.person_deactivate": Route(ADMIN, ids={"person_id": "person_spare"}, actor="admin", staff=("dept_admin",)),
    "admin.person_reactivate": Route(ADMIN, ids={"person_id": "person_spare"}, actor="admin", staff=("dept_admin",)),
    "admin.departments": Route(ADMIN, actor="admin", shows=("dept_spare",), staff=("dept_admin",)),
    "admin.department_new": Route(ADMIN, actor="admin", data={"name": "New department", "parent_id": "id:dept"},
                                  staff=("dept_admin",)),
    "admin.department_edit": Route(ADMIN, ids={"dept_id": "dept_spare"}, actor="admin", shows=("dept_spare",)),
    "admin.department_delete": Route(ADMIN, ids={"dept_id": "dept_spare"}, actor="admin"),
    "brand_admin.editor": Route(ADMIN, actor="admin", shows=("brand",)),
    "brand_admin.export": Route(ADMIN, actor="admin"),
    "brand_admin.import_pack": Route(ADMIN, actor="admin"),
    "brand_admin.rollback_version": Route(ADMIN, ids={"number": Fixed(1)}, actor="admin"),
    "directory.settings": Route(ADMIN, actor="admin"),
    "directory.test": Route(ADMIN, actor="admin"),
    "directory.preview": Route(ADMIN, actor="admin"),
    "directory.sync": Route(ADMIN, actor="admin"),
    "directory.runs": Route(ADMIN, actor="admin"),
    "directory.run": Route(ADMIN, ids={"run_id": "sync_run"}, actor="admin", shows=("sync_plan",)),
    "residency.report": Route(ADMIN, actor="admin"),
    "tenants.settings": Route(ADMIN, actor="admin", shows=("tenant_name",)),
    "tenants.tenants": Route(OPERATOR, actor="admin", lists_tenants=True),
    # The security policies as they are, with the other department hidden from the directory (after the
    # directory's own pages were probed).
    "policies.edit": Route(ADMIN, actor="admin", data=POLICY_FORM),

    # --- the audit log, integrations and email (admins): the free-text filter finds the home tenant's token
    "audit.index": Route(ADMIN, actor="admin", query={"q": "search:token"}, shows=("token",), staff=("auditor",)),
    "integrations.index": Route(ADMIN, actor="admin", shows=("integration",),
                                data={"name": "New integration", "scopes": "directory:read", "days": "5"}),
    "integrations.revoke": Route(ADMIN, ids={"token_id": "integration_token_spare"}, actor="admin"),
    "email_admin.settings": Route(ADMIN, actor="admin", shows=("email_failure",), data=EMAIL_FORM),
    "email_admin.test": Route(ADMIN, actor="admin"),

    # --- notifications: each person's own
    "notify.index": Route(MEMBER, shows=("notification",)),
    "notify.open_notification": Route(MEMBER, ids=NOTIFICATION, private=True),
    "notify.read": Route(MEMBER, ids=NOTIFICATION, private=True),
    "notify.read_all": Route(MEMBER),

    # --- approvals: the applicant, the approvers on the route, the people copied; templates for admins
    "approvals.index": Route(MEMBER, query={"box": "mine"}, shows=("approval",)),
    "approvals.new": Route(MEMBER, ids={"kind": Fixed("general")},
                           data={**GENERAL, "copied": "id:person_peer", "extra_approvers": "id:person_peer"}),
    "approvals.show": Route(MEMBER, ids=APPROVAL, private=True, shows=("approval", "approval_file_name")),
    "approvals.attachment": Route(MEMBER, ids=APPROVAL_FILE, private=True, shows=("approval_file",)),
    "approvals.approve": Route(MEMBER, ids={"approval_id": "approval_approve"}, private=True, actor="admin",
                               data={"reason": "fine"}),
    "approvals.reject": Route(MEMBER, ids={"approval_id": "approval_reject"}, private=True, actor="admin",
                              data={"reason": "no budget"}),
    "approvals.send_back": Route(MEMBER, ids={"approval_id": "approval_return"}, private=True, actor="admin",
                                 data={"reason": "add the receipt"}),
    "approvals.withdraw": Route(MEMBER, ids={"approval_id": "approval_withdraw"}, private=True),
    "approvals.edit": Route(MEMBER, ids={"approval_id": "approval_returned"}, private=True,
                            shows=("approval_other",), data={**GENERAL, "extra_approvers": "id:person_peer"}),
    "approvals.templates": Route(ADMIN, actor="admin"),
    "approvals.template_edit": Route(ADMIN, ids={"kind": Fixed("general")}, actor="admin",
                                     data={"enabled": "1", "route_mode": "manager", "route_depth": "1",
                                           "copied": "id:person_peer"}),

    # --- attendance: one's own days; reports for admins (and department heads); settings and places for admins
    "attendance.index": Route(MEMBER, shows=("place",)),
    "attendance.check": Route(MEMBER, data={"action": "check_in", **PLACE_ON}),
    "attendance.report": Route(MEMBER, actor="admin", private=True, query={"department": "id:dept"},
                               shows=("person_owner",)),
    "attendance.report_csv": Route(MEMBER, actor="admin", private=True, query={"department": "id:dept"},
                                   shows=("person_owner",)),
    "attendance.settings": Route(ADMIN, actor="admin", shows=("place",), data=ATTENDANCE_RULE),
    "attendance.place_new": Route(ADMIN, actor="admin", data=PLACE_FORM),
    "attendance.place_edit": Route(ADMIN, ids={"place_id": "place_spare"}, actor="admin", data=PLACE_FORM),
    "attendance.place_delete": Route(ADMIN, ids={"place_id": "place_spare"}, actor="admin"),

    # --- tasks: the person who gave one and its assignees; only the giver changes, chases or deletes it
    "tasks.mine": Route(MEMBER, shows=("task_title",)),
    "tasks.given": Route(MEMBER, shows=("task_title",)),
    "tasks.new": Route(MEMBER, query={"message": "id:message"}, shows=("message",),
                       data={"title": "Follow up", "assignees": "id:person_peer", "message": "id:message"}),
    "tasks.show": Route(MEMBER, ids=TASK, private=True, shows=("task_title", "task_body", "task_comment")),
    "tasks.edit": Route(MEMBER, ids={"task_id": "task_spare"}, private=True, shows=("task_other",),
                        data={"title": "Changed", "assignees": "id:person_peer", "priority": "high"}),
    "tasks.progress": Route(MEMBER, ids=TASK, private=True,
                            data={"status": "in_progress", "percent": "40", "note": "started"}),
    "tasks.comment": Route(MEMBER, ids=TASK, private=True, data={"text": "on it"}),
    "tasks.remind_now": Route(MEMBER, ids={"task_id": "task_spare"}, private=True),
    "tasks.delete": Route(MEMBER, ids={"task_id": "task_spare"}, private=True),

    # --- the work circle: a post to the main department is seen there, by its author and by admins
    "circle.index": Route(MEMBER, shows=("circle_post", "circle_comment")),
    "circle.new_post": Route(MEMBER, data={"text": "hello", "audience": "departments", "departments": "id:dept",
                                           "images": PHOTO}),
    "circle.show": Route(MEMBER, ids=POST, private=True, shows=("circle_post", "circle_comment")),
    "circle.image": Route(MEMBER, ids={"image_id": "circle_image"}, private=True),
    "circle.like": Route(MEMBER, ids=POST, private=True, data={"like": "1"}),
    "circle.comment": Route(MEMBER, ids=TALK, private=True, data={"text": "well done"}),
    "circle.delete_comment_view": Route(MEMBER, ids={"post_id": "circle_post_talk",
                                                     "comment_id": "circle_comment_spare"},
                                        private=True),
    "circle.delete": Route(MEMBER, ids={"post_id": "circle_post_spare"}, private=True),

    # --- external contacts: the owner, the people it is shared with, the owner's managers and stand-in, admins
    "contacts.index": Route(MEMBER, query={"q": "search:contact"}, shows=("contact", "contact_tag")),
    "contacts.new": Route(MEMBER, data={"name": "New Contact", "kind": "customer", "phone": PHONE,
                                        "owner": "id:person"}),
    "contacts.show": Route(MEMBER, ids=CONTACT, private=True, shows=("contact", "contact_company", "contact_note")),
    "contacts.edit": Route(MEMBER, ids={"contact_id": "contact_spare"}, private=True, shows=("contact",),
                           data={"name": "Renamed Contact", "kind": "supplier", "company": "Renamed Co"}),
    "contacts.add_history": Route(MEMBER, ids=CONTACT, private=True, data={"kind": "note", "body": "met again"}),
    "contacts.share": Route(MEMBER, ids={"contact_id": "contact_spare"}, private=True,
                            data={"person": "id:person_peer"}),
    "contacts.unshare": Route(MEMBER, ids={"contact_id": "contact_spare", "person_id": "person_peer"}, private=True),
    "contacts.transfer": Route(MEMBER, ids={"contact_id": "contact_transfer"}, private=True,
                               data={"owner": "id:person_peer"}),
    "contacts.delete": Route(MEMBER, ids={"contact_id": "contact_spare"}, private=True),
    "contacts.stand_in": Route(MEMBER, data={"owner": "id:person", "delegate": "id:person_peer",
                                             "first_day": "", "last_day": LAST_DAY}),
    "contacts.end_stand_in": Route(MEMBER, ids={"stand_in_id": "stand_in"}, private=True),
    "contacts.handover": Route(MEMBER, ids={"person_id": "person_gone"}, private=True, actor="admin",
                               shows=("contact_gone",), data={"owner": "id:person_spare"}),
    "contacts.import_upload": Route(MEMBER, data={"file": CONTACTS_CSV}),
    "contacts.import_template": Route(MEMBER),
    "contacts.import_preview": Route(MEMBER, ids={"import_id": "contact_import"}, private=True,
                                     shows=("contact_import",)),
    "contacts.tags": Route(ADMIN, actor="admin", shows=("contact_tag",), data={"name": "Key account"}),
    "contacts.tag_preset": Route(ADMIN, ids={"tag_id": "contact_tag"}, actor="admin", data={"preset": "1"}),
    "contacts.tag_delete": Route(ADMIN, ids={"tag_id": "contact_tag_spare"}, actor="admin"),

    # --- the switchboard (admins): duty people, the country code, routing a number, the routing log
    "switchboard.index": Route(ADMIN, actor="admin", shows=("person_peer",)),
    "switchboard.duty": Route(ADMIN, actor="admin", data={"department": "id:dept", "person": "id:person_peer"}),
    "switchboard.set_code": Route(ADMIN, actor="admin", data={"country_code": "86"}),
    "switchboard.try_number": Route(ADMIN, actor="admin", data={"number": PHONE}),
    "switchboard.log": Route(ADMIN, actor="admin", shows=("contact",)),

    # --- the API: bearer tokens only
    "api.me": Route(API, shows=("person_owner",)),
    "api.people": Route(API, query={"q": "search:person_peer"}, shows=("person_peer",)),
    "api.person": Route(API, ids={"person_id": "person"}, shows=("person_owner",)),
    "api.departments": Route(API, shows=("dept_main",)),
    "api.conversations": Route(API, shows=("group",)),
    "api.create_conversation": Route(API, data={"kind": "direct", "person": "id:person_spare"}),
    "api.list_messages": Route(API, ids=CONVERSATION, private=True, shows=("message",)),
    "api.create_message": Route(API, ids=CONVERSATION, private=True, data={"text": "posted", "reply_to": "id:message"}),
    "api.message_receipts": Route(API, ids=MESSAGE, private=True),
    "api.update_message": Route(API, ids=MY_MESSAGE, private=True, data={"text": "edited"}),
    "api.delete_message": Route(API, ids=MY_MESSAGE, private=True),
    "api.read": Route(API, ids=CONVERSATION, private=True, data={"up_to": "id:message"}),
    "api.read_all": Route(API),
    "api.search_messages": Route(API, query={"q": "search:message"}, shows=("message",)),
    "api.list_dings": Route(API, shows=("ding",)),
    "api.create_ding": Route(API, data={"text": "urgent", "recipients": ["id:person_spare"]}),
    "api.confirm_ding": Route(API, ids={"ding_id": "ding"}, private=True, actor="peer", shows=("ding",)),
    "api.stop_ding": Route(API, ids={"ding_id": "ding"}, private=True, shows=("ding",)),
    "api.list_announcements": Route(API, shows=("announcement_title",)),
    "api.get_announcement": Route(API, ids={"announcement_id": "announcement"}, private=True,
                                  shows=("announcement_body",)),
    "api.confirm_announcement": Route(API, ids={"announcement_id": "announcement"}, private=True,
                                      shows=("announcement_body",)),
    "api.create_announcement": Route(API, actor="admin", private=True,
                                     data={"title": "news", "body": "text", "departments": ["id:dept"]}),
    # notifications
    "api.list_notifications": Route(API, shows=("notification",)),
    "api.read_notification": Route(API, ids=NOTIFICATION, private=True, shows=("notification",)),
    "api.read_all_notifications": Route(API),
    # approvals
    "api.list_approval_templates": Route(API),
    "api.list_approvals": Route(API, query={"box": "mine"}, shows=("approval_other",)),
    "api.create_approval": Route(API, data={"template": "general", "values": GENERAL,
                                            "copied": ["id:person_peer"], "extra_approvers": ["id:person_peer"]}),
    "api.get_approval": Route(API, ids=APPROVAL, private=True, shows=("approval", "approval_file_name")),
    "api.approval_file": Route(API, ids=APPROVAL_FILE, private=True, shows=("approval_file",)),
    "api.approve_approval": Route(API, ids={"approval_id": "approval_api_approve"}, private=True, actor="admin",
                                  data={"comment": "fine"}),
    "api.reject_approval": Route(API, ids={"approval_id": "approval_api_reject"}, private=True, actor="admin",
                                 data={"reason": "no budget"}),
    "api.return_approval": Route(API, ids={"approval_id": "approval_api_return"}, private=True, actor="admin",
                                 data={"reason": "add the receipt"}),
    "api.withdraw_approval": Route(API, ids={"approval_id": "approval_api_withdraw"}, private=True),
    "api.resubmit_approval": Route(API, ids={"approval_id": "approval_api_returned"}, private=True,
                                   data={"values": GENERAL, "extra_approvers": ["id:person_peer"]}),
    # attendance
    "api.attendance_today": Route(API, shows=("place",)),
    "api.attendance_check_in": Route(API, data=PLACE_ON),
    "api.attendance_check_out": Route(API, data=PLACE_ON),
    "api.attendance_days": Route(API),
    "api.attendance_report": Route(API, actor="admin", private=True, query={"department": "id:dept"}),
    # tasks
    "api.tasks_list": Route(API, query={"role": "created"}, shows=("task_title",)),
    "api.tasks_create": Route(API, data={"title": "Follow up", "assignees": ["id:person_peer"],
                                         "message": "id:message"}),
    "api.tasks_get": Route(API, ids=TASK, private=True, shows=("task_title", "task_body", "task_comment")),
    "api.tasks_change": Route(API, ids={"task_id": "task_api"}, private=True, shows=("task_other",),
                              data={"title": "Changed", "assignees": ["id:person_peer"]}),
    "api.tasks_progress": Route(API, ids=TASK, private=True, data={"percent": 60, "note": "more"}),
    "api.tasks_comment": Route(API, ids=TASK, private=True, data={"text": "on it"}),
    "api.tasks_remind": Route(API, ids={"task_id": "task_api"}, private=True),
    "api.tasks_delete": Route(API, ids={"task_id": "task_api"}, private=True),
    # the work circle
    "api.circle_list": Route(API, shows=("circle_post", "circle_comment")),
    "api.circle_create": Route(API, data={"text": "hello", "to_all": False, "departments": ["id:dept"]}),
    "api.circle_get": Route(API, ids=POST, private=True, shows=("circle_post", "circle_comment")),
    "api.circle_image": Route(API, ids={"image_id": "circle_image"}, private=True),
    "api.circle_like": Route(API, ids=POST, private=True),
    "api.circle_unlike": Route(API, ids=POST, private=True),
    "api.circle_comment": Route(API, ids=TALK, private=True, data={"text": "well done"}),
    "api.circle_comment_delete": Route(API, ids={"post_id": "circle_post_talk",
                                                 "comment_id": "circle_comment_api_spare"},
                                       private=True),
    "api.circle_delete": Route(API, ids={"post_id": "circle_post_api_spare"}, private=True),
    # external contacts
    "api.list_contacts": Route(API, query={"q": "search:contact"}, shows=("contact",)),
    "api.create_contact": Route(API, data={"name": "New Contact", "phones": [PHONE], "owner": "id:person"}),
    "api.get_contact": Route(API, ids=CONTACT, private=True, shows=("contact", "contact_company")),
    "api.update_contact": Route(API, ids=CONTACT, private=True, shows=("contact",), data={"title": "Chief buyer"}),
    "api.list_interactions": Route(API, ids=CONTACT, private=True, shows=("contact_note",)),
    "api.create_interaction": Route(API, ids=CONTACT, private=True, data={"kind": "visit", "body": "visited"}),
    # the switchboard: the telephone system, with an admin's token
    "api.route": Route(API, actor="admin", private=True, data={"number": PHONE}),
    "api.log_call": Route(API, actor="admin", private=True,
                          data={"employee": "id:person", "number": PHONE, "answered": False, "contact": "id:contact"}),
}
