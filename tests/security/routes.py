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
that is the same everywhere (a static file name).

The methods tried are the rule's own (HEAD and OPTIONS aside); `data` is the
form (browser) or JSON body (API) sent with POST, PUT, PATCH and DELETE.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

PUBLIC = "public"      # anyone who reaches the host, logged in or not
MEMBER = "member"      # a logged-in person of the tenant (login_required)
ADMIN = "admin"        # the tenant's admins (admin_required)
OPERATOR = "operator"  # admins of the install's default tenant; to every other tenant the page does not exist
API = "api"            # /api/v1 with a bearer token; session cookies count for nothing


@dataclass(frozen=True)
class Fixed:
    """A URL value that is not a tenant's object (a static file name, a version number)."""

    value: object


@dataclass(frozen=True)
class Route:
    access: str
    ids: Mapping[str, object] = field(default_factory=dict)   # URL variable -> world object key, or Fixed
    private: bool = False     # the object belongs to some people of the tenant (participants, recipients, its owner)
    actor: str = "owner"      # the home tenant's person for whom the route works (owner, peer, admin)
    data: Mapping[str, object] = field(default_factory=dict)   # form or JSON body for unsafe methods
    query: Mapping[str, object] = field(default_factory=dict)  # query string
    shows: tuple[str, ...] = ()   # sentinel keys the allowed case must show
    stream: bool = False          # a Server-Sent-Events stream: read its first frames, then close it
    lists_tenants: bool = False   # the operator's pages name every tenant of the install


CONVERSATION = {"conversation_id": "conversation"}
MESSAGE = {"conversation_id": "conversation", "message_id": "message"}
MY_MESSAGE = {"conversation_id": "conversation", "message_id": "message_mine"}

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
    "admin.index": Route(ADMIN, actor="admin"),
    "admin.people": Route(ADMIN, actor="admin", query={"q": "search:person_gone"}, shows=("person_gone",)),
    "admin.person_new": Route(ADMIN, actor="admin",
                              data={"login": "newcomer", "display_name": "Newcomer", "role": "member",
                                    "department_ids": "id:dept"}),
    "admin.person_edit": Route(ADMIN, ids={"person_id": "person_spare"}, actor="admin", shows=("person_spare",)),
    "admin.person_reset_password": Route(ADMIN, ids={"person_id": "person_spare"}, actor="admin"),
    "admin.person_deactivate": Route(ADMIN, ids={"person_id": "person_spare"}, actor="admin"),
    "admin.person_reactivate": Route(ADMIN, ids={"person_id": "person_spare"}, actor="admin"),
    "admin.departments": Route(ADMIN, actor="admin", shows=("dept_spare",)),
    "admin.department_new": Route(ADMIN, actor="admin", data={"name": "New department", "parent_id": "id:dept"}),
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
}
