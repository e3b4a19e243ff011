"""/api/v1: token authentication, scopes, isolation, and answers that fit the OpenAPI document."""
import datetime
import re

import pytest

from app.chat import service
from app.db import utcnow
from app.org.service import deactivate_person
from app.security.tokens import ApiToken, create_token, revoke_token
from tests import openapi
from tests.conftest import csrf_from, login, make_person

ALL = ["directory:read", "messages:read", "messages:write"]


@pytest.fixture
def tokens(team):
    return {name: create_token(team[name], "test", ALL, 30)[1] for name in ("wei", "li", "dan")}


def call(client, method, path, token=None, **kw):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return getattr(client, method)("/api/v1" + path, headers=headers, **kw)


def test_every_api_route_is_documented(app):
    documented = openapi.api_paths()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.endpoint != "api.openapi":
            path = re.sub(r"<(?:int:)?(\w+)>", r"{\1}", rule.rule[len("/api/v1"):])
            assert path in documented, f"{rule.rule} is missing from openapi.yaml"
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert method.lower() in openapi.document()["paths"][path], f"{method} {rule.rule} undocumented"


def test_tokens_authenticate_and_are_scoped(client, team, tokens):
    assert call(client, "get", "/me").status_code == 401
    assert call(client, "get", "/me", "atr_not-a-real-token").status_code == 401
    me = call(client, "get", "/me", tokens["wei"])
    openapi.check(me, "/me")
    assert me.json["person"]["login"] == "wei"
    _token, read_only = create_token(team["li"], "reader", ["directory:read"], 1)
    denied = call(client, "get", "/conversations", read_only)
    assert denied.status_code == 403
    openapi.check(denied, "/conversations")


def test_session_cookies_do_not_authenticate_the_api(client, team):
    login(client, "wei")
    assert client.get("/api/v1/me").status_code == 401
    assert client.post("/api/v1/read-all").status_code == 401


def test_revoked_expired_and_deactivated(client, team):
    token, secret = create_token(team["li"], "t", ALL, 1)
    assert call(client, "get", "/me", secret).status_code == 200
    ApiToken.update(expires_at=utcnow() - datetime.timedelta(seconds=1)).where(ApiToken.id == token.id).execute()
    assert call(client, "get", "/me", secret).status_code == 401
    token, secret = create_token(team["li"], "t2", ALL, 1)
    revoke_token(token)
    assert call(client, "get", "/me", secret).status_code == 401
    _t, secret = create_token(team["bob"], "t3", ALL, 1)
    deactivate_person(team["bob"])
    assert call(client, "get", "/me", secret).status_code == 401


def test_tokens_do_not_cross_tenants(client, team, tokens, other_tenant):
    assert call(client, "get", "/me", tokens["wei"], base_url="http://globex.example").status_code == 401


def test_directory_and_conversation_flow_fits_the_document(client, team, tokens):
    wei, li = tokens["wei"], tokens["li"]
    people = call(client, "get", "/people?q=zhang", wei)
    openapi.check(people, "/people")
    assert [p["name"] for p in people.json["people"]] == ["张伟"]
    openapi.check(call(client, "get", f"/people/{team['li'].id}", wei), "/people/{person_id}")
    openapi.check(call(client, "get", "/people/99999", wei), "/people/{person_id}")
    openapi.check(call(client, "get", "/departments", wei), "/departments")

    created = call(client, "post", "/conversations", wei, json={"kind": "direct", "person": team["li"].id})
    openapi.check(created, "/conversations", "post")
    conv = created.json["id"]
    bad = call(client, "post", "/conversations", wei, json={"kind": "group", "title": "", "members": []})
    assert bad.status_code == 400
    openapi.check(bad, "/conversations", "post")
    sent = call(client, "post", f"/conversations/{conv}/messages", wei, json={"text": "Hi @li <b>bold</b>"})
    openapi.check(sent, "/conversations/{conversation_id}/messages", "post")
    assert "&lt;b&gt;" in sent.json["html"]
    mid = sent.json["id"]
    listing = call(client, "get", f"/conversations/{conv}/messages", li)
    openapi.check(listing, "/conversations/{conversation_id}/messages")
    assert listing.json["messages"][-1]["read"] == 0
    summary = call(client, "get", "/conversations", li)
    openapi.check(summary, "/conversations")
    assert summary.json["conversations"][0]["unread"] == 1
    openapi.check(call(client, "post", f"/conversations/{conv}/read", li, json={}), "/conversations/{conversation_id}/read", "post")
    receipts = call(client, "get", f"/conversations/{conv}/messages/{mid}/receipts", wei)
    openapi.check(receipts, "/conversations/{conversation_id}/messages/{message_id}/receipts")
    assert [p["id"] for p in receipts.json["read"]] == [team["li"].id]
    edited = call(client, "patch", f"/conversations/{conv}/messages/{mid}", wei, json={"text": "Hi again"})
    openapi.check(edited, "/conversations/{conversation_id}/messages/{message_id}", "patch")
    assert edited.json["edited"] is True
    forbidden = call(client, "patch", f"/conversations/{conv}/messages/{mid}", li, json={"text": "mine now"})
    assert forbidden.status_code == 403
    openapi.check(forbidden, "/conversations/{conversation_id}/messages/{message_id}", "patch")
    found = call(client, "get", "/search?q=again", wei)
    openapi.check(found, "/search")
    assert [m["id"] for m in found.json["messages"]] == [mid]
    recalled = call(client, "delete", f"/conversations/{conv}/messages/{mid}", wei)
    openapi.check(recalled, "/conversations/{conversation_id}/messages/{message_id}", "delete")
    assert recalled.json["recalled"] and recalled.json["text"] == ""
    openapi.check(call(client, "post", "/read-all", li), "/read-all", "post")
    empty = call(client, "post", f"/conversations/{conv}/messages", wei, json={"text": 5})
    assert empty.status_code == 400


def test_api_rate_limit(app, client, team, tokens):
    from app.chat.service import ChatRules
    app.config["ATRIUM_CHAT_RULES"] = ChatRules(rate_messages=1, rate_seconds=60)
    conv = service.direct_conversation(team["tenant"], team["wei"], team["li"].id)
    call(client, "post", f"/conversations/{conv.id}/messages", tokens["wei"], json={"text": "1"})
    limited = call(client, "post", f"/conversations/{conv.id}/messages", tokens["wei"], json={"text": "2"})
    assert limited.status_code == 429 and limited.headers["Retry-After"]
    openapi.check(limited, "/conversations/{conversation_id}/messages", "post")


def test_api_never_shows_other_conversations(client, team, tokens, other_tenant):
    private = service.direct_conversation(team["tenant"], team["wei"], team["li"].id)
    secret = service.post_message(team["tenant"], private, team["wei"], "private words")
    dan = tokens["dan"]
    for method, path in (("get", f"/conversations/{private.id}/messages"),
                         ("post", f"/conversations/{private.id}/messages"),
                         ("patch", f"/conversations/{private.id}/messages/{secret.id}"),
                         ("delete", f"/conversations/{private.id}/messages/{secret.id}"),
                         ("get", f"/conversations/{private.id}/messages/{secret.id}/receipts"),
                         ("post", f"/conversations/{private.id}/read")):
        response = call(client, method, path, dan, json={"text": "x"} if method in ("post", "patch") else None)
        assert response.status_code == 404, path
        assert "private words" not in response.get_data(as_text=True)
    assert call(client, "get", "/search?q=private", dan).json["messages"] == []


def test_token_pages(app, team):
    client = app.test_client()
    login(client, "li")
    page = client.get("/me/tokens").get_data(as_text=True)
    token = csrf_from(page)
    made = client.post("/me/tokens", data={"csrf_token": token, "name": "CI bot", "scopes": ["messages:read"], "days": "30"})
    secret = re.search(r'<code id="new-token">([^<]+)</code>', made.get_data(as_text=True)).group(1)
    assert call(client, "get", "/conversations", secret).status_code == 200
    assert secret not in client.get("/me/tokens").get_data(as_text=True)     # shown once
    assert ApiToken.get(ApiToken.name == "CI bot").token_hash != secret
    for bad in ({"name": "", "scopes": ["messages:read"], "days": "30"}, {"name": "x", "scopes": ["admin:all"], "days": "30"},
                {"name": "x", "scopes": ["messages:read"], "days": "9999"}):
        assert client.post("/me/tokens", data={"csrf_token": token, **bad}).status_code == 400
    mine = ApiToken.get(ApiToken.name == "CI bot")
    assert client.post(f"/me/tokens/{mine.id}/revoke", data={"csrf_token": token}).status_code == 302
    assert call(client, "get", "/conversations", secret).status_code == 401
    other = app.test_client()
    login(other, "dan")
    other_token = csrf_from(other.get("/me/tokens").get_data(as_text=True))
    assert other.post(f"/me/tokens/{mine.id}/revoke", data={"csrf_token": other_token}).status_code == 404


def test_a_group_title_that_is_not_text_is_a_field_error(app, client, tenant):
    from app.security.tokens import create_token

    owner = make_person(tenant, "tia")
    _token, secret = create_token(owner, "t", ["messages:write"], 5)
    for title in (["a", "b"], 7, {"x": 1}, True):
        response = client.post("/api/v1/conversations", json={"kind": "group", "title": title, "members": []},
                               headers={"Authorization": f"Bearer {secret}"})
        assert response.status_code == 400 and response.json["field"] == "title", (title, response.json)
