"""/api/v1/announcements: answers fit the OpenAPI document; scope and isolation."""
from app.announce import service
from app.announce.models import AnnouncementRead
from app.security.tokens import create_token
from tests import openapi
from tests.conftest import make_person


def call(client, method, path, token, host="localhost"):
    return getattr(client, method)("/api/v1" + path, headers={"Authorization": f"Bearer {token}"},
                                   base_url=f"http://{host}")


def test_list_read_and_confirm(client, org):
    t = org["tenant"]
    everyone = service.publish_announcement(t, org["ada"], "Holiday", "Closed on Monday.\nSee you Tuesday.",
                                            to_all=True, important=True)
    sales = service.publish_announcement(t, org["sam"], "Sales targets", "Up 5%.", department_ids=[org["sales"].id])
    _token, ed = create_token(org["ed"], "t", ["announcements:read"], 1)

    listing = call(client, "get", "/announcements", ed)
    openapi.check(listing, "/announcements")
    assert [a["id"] for a in listing.json["announcements"]] == [sales.id, everyone.id]
    assert listing.json["announcements"][1]["author"] == {"id": org["ada"].id, "name": "Ada Admin"}
    assert listing.json["total"] == 2 and all(a["read_at"] is None for a in listing.json["announcements"])

    one = call(client, "get", f"/announcements/{sales.id}", ed)
    openapi.check(one, "/announcements/{announcement_id}")
    assert one.json["body"] == "Up 5%." and one.json["departments"] == [org["sales"].id] and not one.json["to_all"]

    confirmed = call(client, "post", f"/announcements/{everyone.id}/confirm", ed)
    openapi.check(confirmed, "/announcements/{announcement_id}/confirm", "post")
    assert confirmed.json["read_at"] and confirmed.json["html"] == "Closed on Monday.<br>See you Tuesday."
    again = call(client, "post", f"/announcements/{everyone.id}/confirm", ed)
    assert again.json["read_at"] == confirmed.json["read_at"] and AnnouncementRead.select().count() == 1
    assert [a["id"] for a in call(client, "get", "/announcements", ed).json["announcements"]] == [sales.id, everyone.id]


def test_scope_and_isolation(client, org, other_tenant):
    secret = service.publish_announcement(org["tenant"], org["sam"], "the secret plan", "x",
                                          department_ids=[org["west"].id])
    _token, no_scope = create_token(org["wu"], "t", ["dings:write"], 1)
    denied = call(client, "get", "/announcements", no_scope)
    openapi.check(denied, "/announcements")
    assert denied.status_code == 403
    _token, eve = create_token(org["eve"], "t", ["announcements:read"], 1)
    _token, theirs = create_token(make_person(other_tenant, "zed", role="admin"), "t", ["announcements:read"], 1)
    for token, host in ((eve, "localhost"), (theirs, "globex.example")):
        for method, path, spec in (("get", f"/announcements/{secret.id}", "/announcements/{announcement_id}"),
                                   ("post", f"/announcements/{secret.id}/confirm",
                                    "/announcements/{announcement_id}/confirm"),
                                   ("get", "/announcements/999999", "/announcements/{announcement_id}")):
            response = call(client, method, path, token, host=host)
            openapi.check(response, spec, method)
            assert response.status_code == 404 and "secret" not in response.get_data(as_text=True)
        assert "secret" not in call(client, "get", "/announcements", token, host=host).get_data(as_text=True)
    assert AnnouncementRead.select().count() == 0


def test_publish_with_the_important_flag(client, org):
    from app.announce.models import Announcement
    from app.notify.models import Notification

    _token, ada = create_token(org["ada"], "t", ["announcements:write"], 1)
    created = client.post("/api/v1/announcements", headers={"Authorization": f"Bearer {ada}"},
                          json={"title": "Fire drill", "body": "At 11:00.", "to_all": True, "important": True})
    openapi.check(created, "/announcements", "post")
    assert created.status_code == 201 and created.json["important"] is True and created.json["to_all"] is True
    assert created.json["author"] == {"id": org["ada"].id, "name": "Ada Admin"} and created.json["read_at"] is None
    assert {n.kind for n in Notification.select()} == {"important_announcement"}
    assert Notification.select().count() == 6                     # everyone but its author

    _token, sam = create_token(org["sam"], "t", ["announcements:write"], 1)
    sales = client.post("/api/v1/announcements", headers={"Authorization": f"Bearer {sam}"},
                        json={"title": "Targets", "body": "Up 5%.", "departments": [org["east"].id]})
    openapi.check(sales, "/announcements", "post")
    assert sales.status_code == 201 and sales.json["important"] is False and sales.json["departments"] == [
        org["east"].id]
    assert Announcement.get_by_id(sales.json["id"]).important is False


def test_publishing_refuses_bad_input_and_people_who_may_not(client, org):
    from app.announce.models import Announcement

    _token, sam = create_token(org["sam"], "t", ["announcements:write"], 1)
    _token, ed = create_token(org["ed"], "t", ["announcements:write"], 1)
    _token, reader = create_token(org["ada"], "t", ["announcements:read"], 1)
    good = {"title": "Targets", "body": "Up 5%.", "departments": [org["east"].id]}
    for token, body, status, field in [
        (sam, {**good, "important": "yes"}, 400, "important"),
        (sam, {**good, "to_all": 1}, 400, "to_all"),
        (sam, {**good, "title": 7}, 400, "title"),
        (sam, {key: v for key, v in good.items() if key != "body"}, 400, "body"),
        (sam, {**good, "departments": ["x"]}, 400, "departments"),
        (sam, {**good, "departments": [org["eng"].id]}, 400, "departments"),   # not a department Sam heads
        (sam, {**good, "to_all": True}, 400, "departments"),                   # only admins address everyone
        (sam, {**good, "title": ""}, 400, "title"),
        (ed, good, 403, None),                                                 # heads no department
        (reader, good, 403, None),                                             # the token lacks the scope
    ]:
        response = client.post("/api/v1/announcements", headers={"Authorization": f"Bearer {token}"}, json=body)
        openapi.check(response, "/announcements", "post")
        assert response.status_code == status, body
        assert response.json.get("field") == field, body
    assert client.post("/api/v1/announcements", headers={"Authorization": f"Bearer {sam}"},
                       data="not json").status_code == 400
    assert Announcement.select().count() == 0
