"""/api/v1/notifications: answers fit the OpenAPI document; scope, isolation, unread counts."""
from __future__ import annotations

from app.notify.models import Notification
from app.notify.service import notify
from app.security.tokens import create_token
from tests import openapi
from tests.conftest import make_person


def call(client, method, path, token, host="localhost", **kw):
    return getattr(client, method)("/api/v1" + path, headers={"Authorization": f"Bearer {token}"},
                                   base_url=f"http://{host}", **kw)


def test_list_read_one_and_read_all(client, team):
    t, bob = team["tenant"], team["bob"]
    notify(t, bob, "mention", {"sender": "张伟", "text": "看一下"}, link="/chat/3#m9")
    notify(t, bob, "approval_request", {"sender": "张伟", "what": "leave"}, link="/approvals/4")
    _token, token = create_token(bob, "phone", ["notifications:read"], 1)

    listing = call(client, "get", "/notifications", token)
    openapi.check(listing, "/notifications")
    assert listing.json["unread"] == 2 and listing.json["total"] == 2
    newest, older = listing.json["notifications"]
    assert newest["title"] == "张伟 asks for your approval: Leave" and newest["link"] == "/approvals/4"
    assert older["kind"] == "mention" and older["text"] == "看一下" and older["read_at"] is None
    assert older["url"] == f"/notifications/{older['id']}/open" and older["urgent"] is False

    read = call(client, "post", f"/notifications/{older['id']}/read", token)
    openapi.check(read, "/notifications/{notification_id}/read", "post")
    assert read.json["read_at"] and read.json["id"] == older["id"]
    again = call(client, "post", f"/notifications/{older['id']}/read", token)
    assert again.json["read_at"] == read.json["read_at"]
    unread = call(client, "get", "/notifications?unread=1", token)
    assert [n["id"] for n in unread.json["notifications"]] == [newest["id"]] and unread.json["unread"] == 1

    everything = call(client, "post", "/notifications/read-all", token)
    openapi.check(everything, "/notifications/read-all", "post")
    assert everything.json == {"changed": 1, "unread": 0}
    assert call(client, "get", "/notifications", token).json["unread"] == 0


def test_the_title_follows_the_owners_language(client, team):
    notify(team["tenant"], team["li"], "task_reminder", {"title": "周报"})
    _token, token = create_token(team["li"], "t", ["notifications:read"], 1)
    from flask_babel import force_locale
    from flask_babel import gettext as _

    with client.application.app_context(), force_locale("zh_Hans"):
        expected = _("Task reminder: %(title)s", title="周报")
    assert call(client, "get", "/notifications", token).json["notifications"][0]["title"] == expected


def test_scope_and_isolation(client, team, other_tenant):
    t = team["tenant"]
    notify(t, team["li"], "task_reminder", {"title": "Li's secret"})
    theirs = Notification.get()
    _token, no_scope = create_token(team["bob"], "t", ["messages:read"], 1)
    denied = call(client, "get", "/notifications", no_scope)
    openapi.check(denied, "/notifications")
    assert denied.status_code == 403
    assert call(client, "get", "/notifications", "atr_nonsense").status_code == 401
    _token, bob = create_token(team["bob"], "t", ["notifications:read"], 1)
    _token, zed = create_token(make_person(other_tenant, "zed"), "t", ["notifications:read"], 1)
    for token, host in ((bob, "localhost"), (zed, "globex.example")):
        for path in (f"/notifications/{theirs.id}/read", "/notifications/999999/read"):
            response = call(client, "post", path, token, host=host)
            openapi.check(response, "/notifications/{notification_id}/read", "post")
            assert response.status_code == 404 and "secret" not in response.get_data(as_text=True)
        listing = call(client, "get", "/notifications", token, host=host)
        assert listing.json["total"] == 0 and "secret" not in listing.get_data(as_text=True)
        assert call(client, "post", "/notifications/read-all", token, host=host).json["changed"] == 0
    assert Notification.get_by_id(theirs.id).read_at is None
