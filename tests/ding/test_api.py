"""/api/v1/dings: answers fit the OpenAPI document; scopes, validation and isolation."""
import datetime

import pytest

from app.db import utcnow
from app.ding import service
from app.ding.models import Ding
from app.security.tokens import create_token
from tests import openapi
from tests.conftest import make_person


@pytest.fixture
def tokens(team):
    return {name: create_token(team[name], "test", ["dings:write"], 30)[1] for name in ("wei", "li", "bob", "dan")}


def call(client, method, path, token, host="localhost", **kw):
    return getattr(client, method)("/api/v1" + path, headers={"Authorization": f"Bearer {token}"},
                                   base_url=f"http://{host}", **kw)


def test_send_list_confirm_and_stop(client, team, tokens):
    sent = call(client, "post", "/dings", tokens["wei"],
                json={"text": "Outage in hall B", "recipients": [team["li"].id, team["bob"].id], "remind_minutes": 10})
    openapi.check(sent, "/dings", "post")
    assert sent.status_code == 201
    assert (sent.json["confirmed"], sent.json["total"], sent.json["remind_minutes"]) == (0, 2, 10)
    assert {r["name"] for r in sent.json["recipients"]} == {"李娜", "Bob Smith"}
    ding_id = sent.json["id"]

    listing = call(client, "get", "/dings", tokens["li"])
    openapi.check(listing, "/dings")
    assert [d["id"] for d in listing.json["received"]] == [ding_id] and listing.json["sent"] == []
    assert listing.json["received"][0]["sender"] == {"id": team["wei"].id, "name": "张伟"}

    confirmed = call(client, "post", f"/dings/{ding_id}/confirm", tokens["li"])
    openapi.check(confirmed, "/dings/{ding_id}/confirm", "post")
    assert confirmed.status_code == 200 and confirmed.json["confirmed_at"]
    again = call(client, "post", f"/dings/{ding_id}/confirm", tokens["li"])
    assert again.json["confirmed_at"] == confirmed.json["confirmed_at"]

    mine = call(client, "get", "/dings", tokens["wei"])
    openapi.check(mine, "/dings")
    assert (mine.json["sent"][0]["confirmed"], mine.json["sent"][0]["total"]) == (1, 2)

    refused = call(client, "post", f"/dings/{ding_id}/stop", tokens["li"])
    openapi.check(refused, "/dings/{ding_id}/stop", "post")
    assert refused.status_code == 403
    stopped = call(client, "post", f"/dings/{ding_id}/stop", tokens["wei"])
    openapi.check(stopped, "/dings/{ding_id}/stop", "post")
    assert stopped.status_code == 200 and stopped.json["stopped_at"]
    assert call(client, "get", "/dings", tokens["bob"]).json["received"][0]["stopped"] is True


def test_a_scheduled_ding_through_the_api(client, team, tokens):
    response = call(client, "post", "/dings", tokens["wei"],
                    json={"text": "Stand-up", "recipients": [team["li"].id], "send_at": "2099-01-01T09:00:00+08:00"})
    assert response.status_code == 400 and response.json["field"] == "send_at"     # too far ahead
    openapi.check(response, "/dings", "post")
    later = (utcnow() + datetime.timedelta(hours=3)).replace(microsecond=0)
    response = call(client, "post", "/dings", tokens["wei"],
                    json={"text": "Stand-up", "recipients": [team["li"].id], "send_at": later.isoformat() + "Z"})
    openapi.check(response, "/dings", "post")
    assert response.json["send_at"] == later.isoformat() + "Z" and response.json["sent_at"] is None
    assert call(client, "get", "/dings", tokens["li"]).json["received"] == []
    assert call(client, "post", f"/dings/{response.json['id']}/confirm", tokens["li"]).status_code == 404


@pytest.mark.parametrize("body, field", [
    ({}, "text"),
    ({"text": "x", "recipients": []}, "recipients"),
    ({"text": "x", "recipients": "all"}, "recipients"),
    ({"text": "x", "recipients": [999999]}, "recipients"),
    ({"text": 5, "recipients": [1]}, "text"),
    ({"text": "x", "recipients": ["li"], "remind_minutes": 1}, "remind_minutes"),
    ({"text": "x", "recipients": ["li"], "send_at": "soon"}, "send_at"),
])
def test_bad_requests_name_the_field_and_save_nothing(client, team, tokens, body, field):
    body = {**body, "recipients": [team["li"].id if r == "li" else r for r in body["recipients"]]} \
        if isinstance(body.get("recipients"), list) else body
    response = call(client, "post", "/dings", tokens["wei"], json=body)
    openapi.check(response, "/dings", "post")
    assert response.status_code == 400 and response.json["field"] == field
    assert Ding.select().count() == 0
    not_json = call(client, "post", "/dings", tokens["wei"], data="text=x")
    assert not_json.status_code == 400 and Ding.select().count() == 0


def test_scope_and_isolation(client, team, tokens, other_tenant):
    ding = service.send_ding(team["tenant"], team["wei"], "the secret plan", [team["li"].id])
    _token, reader = create_token(team["li"], "reader", ["announcements:read"], 1)
    denied = call(client, "get", "/dings", reader)
    openapi.check(denied, "/dings")
    assert denied.status_code == 403
    assert call(client, "post", "/dings", reader, json={}).status_code == 403
    outsider = make_person(other_tenant, "li")
    _token, theirs = create_token(outsider, "t", ["dings:write"], 1)
    for token, host in ((tokens["dan"], "localhost"), (theirs, "globex.example")):
        for path in (f"/dings/{ding.id}/confirm", f"/dings/{ding.id}/stop", "/dings/999999/confirm"):
            response = call(client, "post", path, token, host=host)
            openapi.check(response, path.replace(str(ding.id), "{ding_id}").replace("999999", "{ding_id}"), "post")
            assert response.status_code == 404 and "secret" not in response.get_data(as_text=True)
        assert "secret" not in call(client, "get", "/dings", token, host=host).get_data(as_text=True)
    # Another tenant's token does not work on this tenant's host at all.
    assert call(client, "get", "/dings", theirs).status_code == 401
    assert Ding.get_by_id(ding.id).stopped_at is None
