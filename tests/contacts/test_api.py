"""/api/v1/contacts and /api/v1/switchboard: scopes, who reaches what, bad input, answers that fit the document."""
import re

import pytest

from app.contacts import service
from app.contacts.models import Contact, Interaction
from app.org.service import deactivate_person
from app.security.tokens import SCOPES, create_token
from app.switchboard.models import RoutingDecision
from tests import openapi
from tests.conftest import make_person
from tests.contacts.conftest import add_contact

ALL = ["contacts:read", "contacts:write", "switchboard:route"]


@pytest.fixture
def passwords():
    return False      # tokens only


@pytest.fixture
def tokens(team):
    return {name: create_token(team[name], "test", ALL, 30)[1] for name in ("alice", "wang", "li", "zhao", "sun")}


def call(client, method, path, token=None, **kw):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return getattr(client, method)("/api/v1" + path, headers=headers, **kw)


def test_the_scopes_exist_and_every_route_is_documented(app):
    assert {"contacts:read", "contacts:write", "switchboard:route"} <= set(SCOPES)
    documented = openapi.api_paths()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api/v1/contacts", "/api/v1/switchboard")):
            path = re.sub(r"<(?:int:)?(\w+)>", r"{\1}", rule.rule[len("/api/v1"):])
            assert path in documented
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert method.lower() in openapi.document()["paths"][path], f"{method} {rule.rule}"


def test_create_read_list_and_change_a_contact(client, team, tokens):
    created = call(client, "post", "/contacts", tokens["li"], json={
        "name": "王芳", "company": "Example Trading", "kind": "partner", "email": "wf@example.com",
        "phones": ["+86 138 0013 8000", {"label": "work", "number": "010 6552 9988"}], "tags": ["Key account"]})
    openapi.check(created, "/contacts", "post")
    assert created.status_code == 201
    contact_id = created.json["id"]
    assert created.json["owner"] == {"id": team["li"].id, "name": "李娜", "active": True}
    assert [p["normalized"] for p in created.json["phones"]] == ["8613800138000", "861065529988"]

    one = call(client, "get", f"/contacts/{contact_id}", tokens["wang"])          # Li's manager
    openapi.check(one, "/contacts/{contact_id}")
    assert one.json["name"] == "王芳"
    listing = call(client, "get", "/contacts?q=wangfang&kind=partner", tokens["li"])
    openapi.check(listing, "/contacts")
    assert [c["id"] for c in listing.json["contacts"]] == [contact_id] and listing.json["total"] == 1
    assert call(client, "get", "/contacts?which=shared", tokens["li"]).json["contacts"] == []

    changed = call(client, "patch", f"/contacts/{contact_id}", tokens["li"], json={"title": "Buyer", "tags": []})
    openapi.check(changed, "/contacts/{contact_id}", "patch")
    assert (changed.json["title"], changed.json["tags"], changed.json["company"]) == ("Buyer", [], "Example Trading")
    handed = call(client, "patch", f"/contacts/{contact_id}", tokens["wang"], json={"owner": team["zhao"].id})
    assert handed.status_code == 200 and handed.json["owner"]["id"] == team["zhao"].id
    assert call(client, "get", f"/contacts/{contact_id}", tokens["li"]).status_code == 404   # no longer hers


def test_history_through_the_api(client, team, tokens):
    contact = add_contact(team)
    added = call(client, "post", f"/contacts/{contact.id}/interactions", tokens["li"],
                 json={"kind": "call", "answered": False, "body": "No answer, will try again"})
    openapi.check(added, "/contacts/{contact_id}/interactions", "post")
    assert added.status_code == 201 and (added.json["answered"], added.json["direction"]) == (False, "outbound")
    listing = call(client, "get", f"/contacts/{contact.id}/interactions", tokens["li"])
    openapi.check(listing, "/contacts/{contact_id}/interactions")
    assert [e["kind"] for e in listing.json["interactions"]] == ["call", "created"]
    assert listing.json["interactions"][1]["facts"]["owner"]["name"] == "李娜"
    bad = call(client, "post", f"/contacts/{contact.id}/interactions", tokens["li"], json={"kind": "call"})
    openapi.check(bad, "/contacts/{contact_id}/interactions", "post")
    assert bad.status_code == 400 and bad.json["field"] == "answered"


@pytest.mark.parametrize("body, field", [
    ({"name": ""}, "name"), ({"name": "A", "kind": 3}, "kind"), ({"name": "A", "phones": "13800138000"}, "phones"),
    ({"name": "A", "phones": [12]}, "phone_0"), ({"name": "A", "tags": [None]}, "tags"),
    ({"name": ["A"]}, "name"), ({"name": "A", "owner": True}, "owner"), ({"name": "A", "email": 5}, "email"),
])
def test_bad_contacts_are_refused_with_the_field(client, team, tokens, body, field):
    response = call(client, "post", "/contacts", tokens["li"], json=body)
    openapi.check(response, "/contacts", "post")
    assert response.status_code == 400 and response.json["field"] == field
    assert Contact.select().count() == 0


def test_not_json_unknown_fields_and_half_changes(client, team, tokens):
    contact = add_contact(team, company="Old Co")
    for path, method in (("/contacts", "post"), (f"/contacts/{contact.id}", "patch"),
                         (f"/contacts/{contact.id}/interactions", "post"), ("/switchboard/route", "post"),
                         ("/switchboard/calls", "post")):
        token = tokens["alice"]
        for payload in ({"data": "not json"}, {"json": [1, 2]}):
            response = call(client, method, path, token, **payload)
            assert response.status_code == 400, (path, payload)
            openapi.check(response, re.sub(r"/\d+", "/{contact_id}", path), method)
    unknown = call(client, "patch", f"/contacts/{contact.id}", tokens["li"], json={"colour": "red"})
    assert unknown.status_code == 400 and unknown.json["field"] == "colour"
    # A good field with a bad new owner: neither is saved.
    half = call(client, "patch", f"/contacts/{contact.id}", tokens["li"],
                json={"company": "New Co", "owner": 999999})
    assert half.status_code == 400 and half.json["field"] == "owner"
    assert Contact.get_by_id(contact.id).company == "Old Co"


def test_scopes_visibility_and_tenants(client, team, tokens, other_tenant):
    contact = add_contact(team)
    _t, read_only = create_token(team["li"], "reader", ["contacts:read"], 1)
    denied = call(client, "post", "/contacts", read_only, json={"name": "A"})
    openapi.check(denied, "/contacts", "post")
    assert denied.status_code == 403
    assert call(client, "get", "/contacts").status_code == 401
    _t, no_contacts = create_token(team["li"], "dir", ["directory:read"], 1)
    assert call(client, "get", "/contacts", no_contacts).status_code == 403
    # Someone it is not shared with: 404 for reading and writing, as if it did not exist.
    for method, path, body in (("get", f"/contacts/{contact.id}", None),
                               ("patch", f"/contacts/{contact.id}", {"title": "x"}),
                               ("get", f"/contacts/{contact.id}/interactions", None),
                               ("post", f"/contacts/{contact.id}/interactions", {"kind": "note", "body": "x"})):
        response = call(client, method, path, tokens["sun"], json=body) if body else call(client, method, path,
                                                                                            tokens["sun"])
        assert response.status_code == 404, path
        openapi.check(response, path.replace(str(contact.id), "{contact_id}"), method)
    assert call(client, "get", "/contacts", tokens["sun"]).json["total"] == 0
    # Shared: may read and add to its history, not change it.
    service.share_contact(team["tenant"], team["li"], contact, team["sun"].id)
    assert call(client, "get", f"/contacts/{contact.id}", tokens["sun"]).status_code == 200
    refused = call(client, "patch", f"/contacts/{contact.id}", tokens["sun"], json={"title": "x"})
    openapi.check(refused, "/contacts/{contact_id}", "patch")
    assert refused.status_code == 403
    assert call(client, "post", f"/contacts/{contact.id}/interactions", tokens["sun"],
                json={"kind": "note", "body": "Met them"}).status_code == 201
    # The stand-in may change fields but not the owner.
    import datetime
    service.set_stand_in(team["tenant"], team["li"], team["li"].id, team["zhao"].id, "",
                         (datetime.date.today() + datetime.timedelta(days=1)).isoformat())
    assert call(client, "patch", f"/contacts/{contact.id}", tokens["zhao"], json={"title": "x"}).status_code == 200
    assert call(client, "patch", f"/contacts/{contact.id}", tokens["zhao"],
                json={"owner": team["zhao"].id}).status_code == 403
    # Another tenant's token, even on this tenant's host, and this tenant's id on the other host.
    stranger = make_person(other_tenant, "boss", role="admin", password=None)
    _t, foreign = create_token(stranger, "t", ALL, 1)
    assert call(client, "get", f"/contacts/{contact.id}", foreign).status_code == 401
    response = client.get(f"/api/v1/contacts/{contact.id}", headers={"Authorization": f"Bearer {foreign}",
                                                                     "Host": "globex.example"})
    assert response.status_code == 404


def test_switchboard_route_and_calls_for_admin_tokens_only(client, team, tokens):
    contact = add_contact(team)
    refused = call(client, "post", "/switchboard/route", tokens["li"], json={"number": "13800138000"})
    openapi.check(refused, "/switchboard/route", "post")
    assert refused.status_code == 403
    assert call(client, "post", "/switchboard/calls", tokens["li"],
                json={"employee": team["li"].id, "number": "13800138000", "answered": False}).status_code == 403
    _t, no_scope = create_token(team["alice"], "t", ["contacts:read"], 1)
    assert call(client, "post", "/switchboard/route", no_scope, json={"number": "13800138000"}).status_code == 403
    assert RoutingDecision.select().count() == 0

    routed = call(client, "post", "/switchboard/route", tokens["alice"], json={"number": "+86 138 0013 8000"})
    openapi.check(routed, "/switchboard/route", "post")
    assert (routed.json["rule"], routed.json["person"]["login"], routed.json["contact"]["id"]) == ("owner", "li",
                                                                                                   contact.id)
    assert [(e["rule"], e["applied"]) for e in routed.json["explanation"]] == [
        ("match", True), ("last_caller", False), ("owner", True)]
    assert routed.json["explanation"][2]["text"] == "李娜 is responsible for 王芳."

    logged = call(client, "post", "/switchboard/calls", tokens["alice"],
                  json={"employee": team["zhao"].id, "number": "8613800138000", "answered": False})
    openapi.check(logged, "/switchboard/calls", "post")
    assert logged.status_code == 201 and logged.json["author"]["id"] == team["zhao"].id
    routed = call(client, "post", "/switchboard/route", tokens["alice"], json={"number": "13800138000"})
    assert (routed.json["rule"], routed.json["person"]["login"]) == ("last_caller", "zhao")
    assert RoutingDecision.select().count() == 2

    unknown = call(client, "post", "/switchboard/calls", tokens["alice"],
                   json={"employee": team["zhao"].id, "number": "+86 10 1234 5678", "answered": True})
    openapi.check(unknown, "/switchboard/calls", "post")
    assert unknown.status_code == 404
    for body, field in (({"number": "abc"}, "number"), ({}, "number")):
        bad = call(client, "post", "/switchboard/route", tokens["alice"], json=body)
        openapi.check(bad, "/switchboard/route", "post")
        assert bad.status_code == 400 and bad.json["field"] == field
    for body, field in (({"employee": "zhao", "number": "13800138000", "answered": False}, "employee"),
                        ({"employee": team["zhao"].id, "number": "13800138000", "answered": "yes please"}, "answered"),
                        ({"employee": team["zhao"].id, "number": "13800138000", "answered": True, "contact": "1"},
                         "contact")):
        bad = call(client, "post", "/switchboard/calls", tokens["alice"], json=body)
        openapi.check(bad, "/switchboard/calls", "post")
        assert bad.status_code == 400 and bad.json["field"] == field
    assert Interaction.select().where(Interaction.kind == "call").count() == 1


def test_a_deactivated_admins_token_stops_working(client, team, tokens):
    make_person(team["tenant"], "root", role="admin", password=None)
    deactivate_person(team["alice"])
    assert call(client, "post", "/switchboard/route", tokens["alice"], json={"number": "13800138000"}).status_code == 401
