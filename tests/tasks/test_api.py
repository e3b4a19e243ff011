"""/api/v1/tasks: answers fit the OpenAPI document; scopes, validation, the rate limit and isolation."""
import datetime

import pytest

from app.db import utcnow
from app.security.tokens import create_token
from app.tasks.models import Task
from tests import openapi
from tests.conftest import make_person


@pytest.fixture
def tokens(team):
    return {name: create_token(team[name], "test", ["tasks:read", "tasks:write"], 30)[1]
            for name in ("wei", "li", "bob", "dan")}


def call(client, method, path, token, host="localhost", **kw):
    return getattr(client, method)("/api/v1" + path, headers={"Authorization": f"Bearer {token}"},
                                   base_url=f"http://{host}", **kw)


def test_give_list_report_comment_remind_and_delete(client, team, tokens):
    due = (utcnow() + datetime.timedelta(days=2)).replace(microsecond=0).isoformat() + "+00:00"
    made = call(client, "post", "/tasks", tokens["wei"],
                json={"title": "Quote for ACME", "assignees": [team["li"].id, team["bob"].id], "due_at": due,
                      "priority": "urgent", "description": "See https://intranet.example/q"})
    openapi.check(made, "/tasks", "post")
    assert made.status_code == 201 and made.json["priority"] == "urgent" and made.json["overdue"] is False
    assert made.json["due_at"] == due.replace("+00:00", "")[:16] + ":00Z"
    assert {a["name"] for a in made.json["assignees"]} == {"李娜", "Bob Smith"}
    assert 'href="https://intranet.example/q"' in made.json["html"]
    task_id = made.json["id"]

    mine = call(client, "get", "/tasks", tokens["li"])
    openapi.check(mine, "/tasks")
    assert [t["id"] for t in mine.json["tasks"]] == [task_id] and mine.json["total"] == 1
    assert mine.json["tasks"][0]["creator"] == {"id": team["wei"].id, "name": "张伟"}
    given = call(client, "get", "/tasks?role=created&priority=urgent", tokens["wei"])
    openapi.check(given, "/tasks")
    assert [t["id"] for t in given.json["tasks"]] == [task_id]
    assert call(client, "get", "/tasks?role=created", tokens["li"]).json["tasks"] == []

    progress = call(client, "post", f"/tasks/{task_id}/progress", tokens["li"], json={"percent": 30, "note": "Started"})
    openapi.check(progress, "/tasks/{task_id}/progress", "post")
    assert (progress.json["status"], progress.json["percent"]) == ("in_progress", 30)
    assert progress.json["timeline"][0]["text"] == "Started"
    comment = call(client, "post", f"/tasks/{task_id}/comments", tokens["bob"], json={"text": "I can help"})
    openapi.check(comment, "/tasks/{task_id}/comments", "post")
    assert comment.status_code == 201 and comment.json["author"]["name"] == "Bob Smith"
    one = call(client, "get", f"/tasks/{task_id}", tokens["bob"])
    openapi.check(one, "/tasks/{task_id}")
    assert [e["text"] for e in one.json["timeline"]] == ["Started", "I can help"]

    reminded = call(client, "post", f"/tasks/{task_id}/remind", tokens["wei"])
    openapi.check(reminded, "/tasks/{task_id}/remind", "post")
    assert sorted(reminded.json["reminded"]) == sorted([team["li"].id, team["bob"].id])
    too_soon = call(client, "post", f"/tasks/{task_id}/remind", tokens["wei"])
    openapi.check(too_soon, "/tasks/{task_id}/remind", "post")
    assert too_soon.status_code == 429 and int(too_soon.headers["Retry-After"]) > 500
    refused = call(client, "post", f"/tasks/{task_id}/remind", tokens["li"])
    openapi.check(refused, "/tasks/{task_id}/remind", "post")
    assert refused.status_code == 403

    changed = call(client, "patch", f"/tasks/{task_id}", tokens["wei"], json={"assignees": [team["li"].id]})
    openapi.check(changed, "/tasks/{task_id}", "patch")
    assert changed.status_code == 200 and changed.json["title"] == "Quote for ACME"
    assert changed.json["due_at"] == made.json["due_at"] and [a["id"] for a in changed.json["assignees"]] == [
        team["li"].id]
    gone = call(client, "get", f"/tasks/{task_id}", tokens["bob"])
    openapi.check(gone, "/tasks/{task_id}")
    assert gone.status_code == 404
    undated = call(client, "patch", f"/tasks/{task_id}", tokens["wei"], json={"due_at": None})
    assert undated.json["due_at"] is None

    deleted = call(client, "delete", f"/tasks/{task_id}", tokens["wei"])
    openapi.check(deleted, "/tasks/{task_id}", "delete")
    assert deleted.status_code == 204 and Task.select().count() == 0


@pytest.mark.parametrize("body, field", [
    ({"assignees": [1]}, "title"),
    ({"title": 5, "assignees": [1]}, "title"),
    ({"title": "ok"}, "assignees"),
    ({"title": "ok", "assignees": "1"}, "assignees"),
    ({"title": "ok", "assignees": [1], "priority": 3}, "priority"),
    ({"title": "ok", "assignees": [1], "due_at": "2020-01-01"}, "due"),
    ({"title": "ok", "assignees": [1], "due_at": ["2030-01-01"]}, "due"),
    ({"title": "ok", "assignees": [1], "description": {"a": 1}}, "description"),
    ({"title": "ok", "assignees": [1], "message": 424242}, "message"),
])
def test_bad_bodies_are_refused(client, team, tokens, body, field):
    response = call(client, "post", "/tasks", tokens["wei"], json=body)
    openapi.check(response, "/tasks", "post")
    assert response.status_code == 400 and response.json["field"] == field
    assert Task.select().count() == 0


def test_bad_filters_progress_and_comments_are_refused(client, team, tokens):
    for query in ("role=boss", "status=closed", "due=soon", "priority=p1"):
        response = call(client, "get", f"/tasks?{query}", tokens["li"])
        openapi.check(response, "/tasks")
        assert response.status_code == 400, query
    task_id = call(client, "post", "/tasks", tokens["wei"],
                   json={"title": "ok", "assignees": [team["li"].id]}).json["id"]
    for body in ({"percent": 101}, {"status": "finished"}, {}, {"note": 7}):
        response = call(client, "post", f"/tasks/{task_id}/progress", tokens["li"], json=body)
        openapi.check(response, "/tasks/{task_id}/progress", "post")
        assert response.status_code == 400, body
    cancel = call(client, "post", f"/tasks/{task_id}/progress", tokens["li"], json={"status": "cancelled"})
    openapi.check(cancel, "/tasks/{task_id}/progress", "post")
    assert cancel.status_code == 403
    for body in ({}, {"text": ""}, {"text": ["x"]}):
        response = call(client, "post", f"/tasks/{task_id}/comments", tokens["li"], json=body)
        openapi.check(response, "/tasks/{task_id}/comments", "post")
        assert response.status_code == 400
    patched = call(client, "patch", f"/tasks/{task_id}", tokens["li"], json={"title": "Mine"})
    openapi.check(patched, "/tasks/{task_id}", "patch")
    assert patched.status_code == 403


def test_scopes_and_isolation(client, team, tokens, other_tenant):
    task_id = call(client, "post", "/tasks", tokens["wei"],
                   json={"title": "Private", "assignees": [team["li"].id]}).json["id"]
    read_only = create_token(team["li"], "ro", ["tasks:read"], 30)[1]
    denied = call(client, "post", f"/tasks/{task_id}/comments", read_only, json={"text": "hi"})
    openapi.check(denied, "/tasks/{task_id}/comments", "post")
    assert denied.status_code == 403
    other_scope = create_token(team["li"], "dings", ["dings:write"], 30)[1]
    assert call(client, "get", "/tasks", other_scope).status_code == 403
    anonymous = client.get("/api/v1/tasks")
    openapi.check(anonymous, "/tasks")
    assert anonymous.status_code == 401
    for method, path, body in (("get", f"/tasks/{task_id}", None), ("patch", f"/tasks/{task_id}", {"title": "x"}),
                               ("delete", f"/tasks/{task_id}", None),
                               ("post", f"/tasks/{task_id}/progress", {"percent": 5}),
                               ("post", f"/tasks/{task_id}/comments", {"text": "x"}),
                               ("post", f"/tasks/{task_id}/remind", None)):
        response = call(client, method, path, tokens["dan"], json=body)          # an admin, not involved
        assert response.status_code == 404, (method, path)
    theirs = make_person(other_tenant, "li")
    their_token = create_token(theirs, "t", ["tasks:read", "tasks:write"], 30)[1]
    assert call(client, "get", f"/tasks/{task_id}", their_token, host="globex.example").status_code == 404
    stranger = call(client, "post", "/tasks", their_token, host="globex.example",
                    json={"title": "x", "assignees": [team["li"].id]})
    assert stranger.status_code == 400 and stranger.json["field"] == "assignees"
    assert Task.get_by_id(task_id).title == "Private"
