"""Integration tokens: made by tenant admins, shown once, stored hashed, scoped, revocable, expiring, one tenant's
own; the integration acts as a service account that cannot log in and is not in the directory."""
from __future__ import annotations

import datetime
import hashlib
import json
import re

import pytest

from app.audit.models import AuditEvent
from app.chat.models import Message
from app.db import utcnow
from app.org.models import Person
from app.org.service import save_department
from app.security.integrations import create_integration_token, integration_named
from app.security.tokens import ApiToken, create_token
from app.tenancy.scope import TenantScope
from tests import openapi
from tests.conftest import login, make_person, post_form

PAGE = "/admin/integrations/"


def call(client, method, path, token=None, host="localhost", **kw):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return getattr(client, method)("/api/v1" + path, headers=headers, base_url=f"http://{host}", **kw)


def create(client, name="CRM", scopes=("directory:read",), days="30"):
    """Create a token on the admin page; the response and the secret it showed (None when refused)."""
    response = post_form(client, PAGE, {"name": name, "scopes": list(scopes), "days": days}, page=PAGE)
    found = re.search(r'id="new-token">([^<]+)<', response.get_data(as_text=True))
    return response, found.group(1) if found else None


@pytest.fixture
def as_admin(client, admin):
    assert login(client, "alice").status_code == 302
    return client


# --- the admin page -------------------------------------------------------------------------------------

def test_a_token_is_shown_once_and_stored_hashed(as_admin, tenant):
    response, secret = create(as_admin, "CRM", ["directory:read", "messages:write"])
    assert response.status_code == 200 and secret and secret.startswith("atr_")
    token = ApiToken.get(ApiToken.name == "CRM")
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    stored = json.dumps(list(ApiToken.select().tuples()), default=str)
    assert secret not in stored and secret[10:] not in stored       # only the hash and the 10-character prefix
    listing = as_admin.get(PAGE).get_data(as_text=True)
    assert secret not in listing and token.prefix in listing and "CRM" in listing and "Never" in listing
    assert token.scope_list == ["directory:read", "messages:write"]
    assert token.expires_at - utcnow() > datetime.timedelta(days=29)


def test_the_integration_is_a_service_account(as_admin, tenant):
    _response, secret = create(as_admin, "CRM")
    account = integration_named(tenant, "CRM")
    assert account.source == "integration" and account.password_hash is None and not account.is_admin
    assert account.login.startswith("integration:")
    # A second token under the same name joins it (to rotate the first); another name is another account.
    create(as_admin, "CRM")
    create(as_admin, "Billing")
    assert ApiToken.select().where(ApiToken.person == account).count() == 2
    assert TenantScope(tenant).select(Person).where(Person.source == "integration").count() == 2


@pytest.mark.parametrize("form, field", [
    ({"name": "", "scopes": ["directory:read"], "days": "30"}, "This field is required"),
    ({"name": "CRM", "scopes": [], "days": "30"}, "Choose at least one permission"),
    ({"name": "CRM", "scopes": ["directory:read", "admin:everything"], "days": "30"}, "Choose at least one permission"),
    ({"name": "CRM", "scopes": ["directory:read"], "days": "abc"}, "whole number of days"),
    ({"name": "CRM", "scopes": ["directory:read"], "days": "0"}, "Between 1 and 366 days"),
    ({"name": "CRM", "scopes": ["directory:read"], "days": "9999"}, "Between 1 and 366 days"),
    ({"name": "x" * 101, "scopes": ["directory:read"], "days": "30"}, "At most 100 characters"),
    ({"name": "bad\u0000name", "scopes": ["directory:read"], "days": "30"}, "not allowed"),
])
def test_bad_input_is_refused_keeps_the_form_and_creates_nothing(as_admin, tenant, form, field):
    people = Person.select().count()
    response = post_form(as_admin, PAGE, form, page=PAGE)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and field in html and 'id="new-token"' not in html
    assert ApiToken.select().count() == 0 and Person.select().count() == people   # no orphan service account
    if form["name"] == "CRM":
        assert 'value="CRM"' in html
    if form["days"] == "abc":
        assert 'value="abc"' in html


def test_revoke_stops_the_token_and_is_audited(as_admin, client, tenant, admin):
    _response, secret = create(as_admin, "CRM")
    token = ApiToken.get(ApiToken.name == "CRM")
    assert call(client, "get", "/me", secret).status_code == 200
    assert post_form(as_admin, f"{PAGE}tokens/{token.id}/revoke", page=PAGE).status_code == 302
    assert call(client, "get", "/me", secret).status_code == 401
    assert "Revoked" in as_admin.get(PAGE).get_data(as_text=True)
    actions = [(e.action, e.actor_label, e.target_id) for e in AuditEvent.select().where(
        AuditEvent.action.startswith("integration.")).order_by(AuditEvent.id)]
    assert actions == [("integration.token_create", "alice", str(token.id)),
                       ("integration.token_revoke", "alice", str(token.id))]


def test_only_integration_tokens_of_this_tenant_can_be_revoked_here(as_admin, tenant, other_tenant, member):
    personal, _secret = create_token(member, "bob's own", ["directory:read"], 5)
    theirs, _secret = create_integration_token(other_tenant, "Their CRM", ["directory:read"], 5)
    for token_id in (personal.id, theirs.id, 999999):
        assert post_form(as_admin, f"{PAGE}tokens/{token_id}/revoke", page=PAGE).status_code == 404
    assert ApiToken.select().where(ApiToken.revoked_at.is_null(False)).count() == 0
    assert "Their CRM" not in as_admin.get(PAGE).get_data(as_text=True)
    assert "bob&#39;s own" not in as_admin.get(PAGE).get_data(as_text=True)


def test_members_and_visitors_cannot_use_the_page(client, tenant, member):
    assert client.get(PAGE).status_code == 302
    login(client, "bob")
    assert client.get(PAGE).status_code == 403
    response = post_form(client, PAGE, {"name": "Sneaky", "scopes": ["directory:read"], "days": "5"}, page="/")
    assert response.status_code == 403 and ApiToken.select().count() == 0


# --- what an integration token can do ---------------------------------------------------------------------

@pytest.fixture
def crm(tenant, admin):
    """The CRM integration with a directory:read + messages:write token."""
    return create_integration_token(tenant, "CRM", ["directory:read", "messages:write"], 30)[1]


def test_scopes_are_enforced_exactly(client, tenant, member, crm):
    me = call(client, "get", "/me", crm)
    openapi.check(me, "/me")
    assert me.json["kind"] == "integration" and me.json["person"]["name"] == "CRM"
    assert me.json["scopes"] == ["directory:read", "messages:write"]
    assert call(client, "get", "/people", crm).status_code == 200
    assert call(client, "get", f"/people/{member.id}", crm).status_code == 200
    for method, path, spec in (("get", "/conversations", "/conversations"), ("get", "/search?q=x", "/search"),
                               ("get", "/dings", "/dings"), ("get", "/announcements", "/announcements"),
                               ("post", "/announcements", "/announcements")):
        denied = call(client, method, path, crm, json={})
        openapi.check(denied, spec, method)
        assert denied.status_code == 403 and "lacks the" in denied.json["error"]


def test_an_integration_posts_messages_under_its_own_name(client, tenant, member, crm):
    opened = call(client, "post", "/conversations", crm, json={"kind": "direct", "person": member.id})
    openapi.check(opened, "/conversations", "post")
    assert opened.status_code == 201
    conversation = opened.json["id"]
    posted = call(client, "post", f"/conversations/{conversation}/messages", crm, json={"text": "Order 42 shipped"})
    openapi.check(posted, "/conversations/{conversation_id}/messages", "post")
    assert posted.status_code == 201 and posted.json["sender_name"] == "CRM"
    message = Message.get_by_id(posted.json["id"])
    assert message.sender_id == integration_named(tenant, "CRM").id
    login(client, "bob")
    page = client.get(f"/chat/{conversation}").get_data(as_text=True)
    assert "Order 42 shipped" in page and "CRM" in page


def test_an_integration_is_hidden_from_the_directory_and_cannot_log_in(app, client, tenant, member, admin, crm):
    account = integration_named(tenant, "CRM")
    people = call(client, "get", "/people", crm).json["people"]
    assert "CRM" not in [p["name"] for p in people] and {p["login"] for p in people} == {"alice", "bob"}
    assert call(client, "get", "/people?q=CRM", crm).json["total"] == 0
    response = login(client, account.login, password="anything-at-all")
    assert response.status_code == 401
    failed = AuditEvent.select().where(AuditEvent.action == "login.failed").get()
    assert failed.actor_label == account.login and failed.actor_id is None
    login(client, "bob")
    for path in ("/people?q=CRM", "/chat/", "/ding/new"):
        assert ">CRM<" not in client.get(path).get_data(as_text=True), path
    admin_client = app.test_client()
    login(admin_client, "alice")
    assert "CRM" not in admin_client.get("/admin/people").get_data(as_text=True)
    tenants = admin_client.get("/admin/tenants").get_data(as_text=True)
    counted = r"<td>acme <span.*?</td><td>Acme Corp</td>\s*<td>acme.example</td><td>2</td>"
    assert re.search(counted, tenants, re.S), "the head count leaves integrations out"


def test_an_integration_cannot_be_added_to_a_conversation_by_people(client, tenant, member, crm):
    from app.chat.service import direct_conversation
    from app.validation import ValidationError

    with pytest.raises(ValidationError):
        direct_conversation(tenant, member, integration_named(tenant, "CRM").id)


def test_revoked_and_expired_tokens_are_refused(client, tenant, crm):
    token = ApiToken.get(ApiToken.token_hash == hashlib.sha256(crm.encode()).hexdigest())
    assert call(client, "get", "/me", crm).status_code == 200
    ApiToken.update(expires_at=utcnow() - datetime.timedelta(seconds=1)).where(ApiToken.id == token.id).execute()
    expired = call(client, "get", "/me", crm)
    openapi.check(expired, "/me")
    assert expired.status_code == 401
    token2, secret2 = create_integration_token(tenant, "CRM", ["directory:read"], 1)
    assert call(client, "get", "/people", secret2).status_code == 200
    from app.security.integrations import revoke_integration_token
    revoke_integration_token(tenant, token2.id)
    assert call(client, "get", "/people", secret2).status_code == 401


def test_last_use_is_shown(client, as_admin, tenant, crm):
    assert call(client, "get", "/people", crm).status_code == 200
    token = ApiToken.get(ApiToken.token_hash == hashlib.sha256(crm.encode()).hexdigest())
    assert token.last_used_at is not None
    assert "Never" not in as_admin.get(PAGE).get_data(as_text=True)


def test_another_tenants_token_is_refused_here(client, tenant, other_tenant, crm):
    _token, theirs = create_integration_token(other_tenant, "Their CRM", ["directory:read"], 5)
    assert call(client, "get", "/me", theirs).status_code == 401                      # at acme's host
    assert call(client, "get", "/me", crm, host="globex.example").status_code == 401
    assert call(client, "get", "/me", theirs, host="globex.example").status_code == 200


# --- announcements:write -----------------------------------------------------------------------------------

def test_an_integration_publishes_announcements_with_the_scope(client, tenant, member, admin):
    _token, secret = create_integration_token(tenant, "HR system", ["announcements:write"], 5)
    published = call(client, "post", "/announcements", secret,
                     json={"title": "Payroll", "body": "Payslips are out.", "to_all": True})
    openapi.check(published, "/announcements", "post")
    assert published.status_code == 201 and published.json["author"]["name"] == "HR system"
    entry = AuditEvent.select().where(AuditEvent.action == "announcement.publish").get()
    assert (entry.actor_label, entry.via, entry.address) == ("integration HR system", "api", "127.0.0.1")
    _token, reader = create_token(member, "reader", ["announcements:read"], 5)
    listing = call(client, "get", "/announcements", reader).json["announcements"]
    assert [a["title"] for a in listing] == ["Payroll"]


@pytest.mark.parametrize("body, status, field", [
    ({"title": "", "body": "x", "to_all": True}, 400, "title"),
    ({"title": "T", "body": "", "to_all": True}, 400, "body"),
    ({"title": "T", "body": "x"}, 400, "departments"),
    ({"title": "T", "body": "x", "departments": "1"}, 400, "departments"),
    ({"title": "T", "body": "x", "departments": [999999]}, 400, "departments"),
    ({"title": "T", "body": "x", "to_all": "yes"}, 400, "to_all"),
    ({"title": "T", "body": "x", "to_all": True, "important": 1}, 400, "important"),
])
def test_announcement_bad_input(client, tenant, admin, body, status, field):
    _token, secret = create_integration_token(tenant, "HR system", ["announcements:write"], 5)
    response = call(client, "post", "/announcements", secret, json=body)
    openapi.check(response, "/announcements", "post")
    assert response.status_code == status and response.json["field"] == field
    assert AuditEvent.select().where(AuditEvent.action == "announcement.publish").count() == 0


def test_a_persons_announcement_token_publishes_only_as_far_as_the_person_may(client, tenant, admin, member):
    sales = save_department(tenant, None, {"name": "Sales"})
    _token, bobs = create_token(member, "bob", ["announcements:write"], 5)
    refused = call(client, "post", "/announcements", bobs, json={"title": "T", "body": "x", "to_all": True})
    openapi.check(refused, "/announcements", "post")
    assert refused.status_code == 403
    head = make_person(tenant, "hana", display_name="Hana Head")
    save_department(tenant, sales, {"name": "Sales", "head_id": str(head.id)})
    _token, hanas = create_token(head, "hana", ["announcements:write"], 5)
    assert call(client, "post", "/announcements", hanas, json={"title": "T", "body": "x", "to_all": True}
                ).status_code == 400
    ok = call(client, "post", "/announcements", hanas, json={"title": "T", "body": "x", "departments": [sales.id]})
    assert ok.status_code == 201 and ok.json["departments"] == [sales.id]
