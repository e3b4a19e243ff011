"""/api/v1/approvals: answers fit the OpenAPI document; scopes, validation, stale decisions and isolation."""
import pytest

from app.approvals import service
from app.approvals.models import Approval
from app.security.tokens import create_token
from tests import openapi
from tests.approvals.conftest import LEAVE
from tests.conftest import make_person

BOTH = ["approvals:read", "approvals:write"]


@pytest.fixture
def tokens(org):
    return {name: create_token(org[name], "test", BOTH, 30)[1] for name in ("wei", "li", "hu", "bob", "alice")}


def call(client, method, path, token, host="localhost", **kw):
    return getattr(client, method)("/api/v1" + path, headers={"Authorization": f"Bearer {token}"},
                                   base_url=f"http://{host}", **kw)


def test_templates_submit_decide_and_read(client, org, tokens):
    templates = call(client, "get", "/approvals/templates", tokens["wei"])
    openapi.check(templates, "/approvals/templates")
    kinds = [t["kind"] for t in templates.json["templates"]]
    assert kinds == ["leave", "expense", "general"]          # corrections only where attendance is taken
    leave = templates.json["templates"][0]
    assert [f["key"] for f in leave["fields"]] == ["leave_type", "starts_on", "ends_on", "reason"]
    assert {"value": "sick", "label": "Sick leave"} in leave["fields"][0]["options"]

    made = call(client, "post", "/approvals", tokens["wei"],
                json={"template": "expense", "values": {"amount": 99.5, "currency": "USD", "purpose": "Books"},
                      "copied": [org["bob"].id], "submit_key": "api-key-0001"})
    openapi.check(made, "/approvals", "post")
    assert made.status_code == 201
    body = made.json
    assert (body["amount"], body["currency"], body["status"], body["version"]) == ("99.50", "USD", "pending", 1)
    assert body["route"][0]["approver"] == {"id": org["li"].id, "name": "李娜 Li"} and body["my_turn"] is False
    assert body["copied"] == [{"id": org["bob"].id, "name": "Bob"}]
    again = call(client, "post", "/approvals", tokens["wei"],
                 json={"template": "expense", "values": {"amount": "99.50", "currency": "USD", "purpose": "Books"},
                       "submit_key": "api-key-0001"})
    assert again.json["id"] == body["id"] and Approval.select().count() == 1

    todo = call(client, "get", "/approvals?box=todo", tokens["li"])
    openapi.check(todo, "/approvals")
    assert [a["id"] for a in todo.json["approvals"]] == [body["id"]]
    one = call(client, "get", f"/approvals/{body['id']}", tokens["li"])
    openapi.check(one, "/approvals/{approval_id}")
    assert one.json["my_turn"] is True

    refused = call(client, "post", f"/approvals/{body['id']}/approve", tokens["wei"], json={})
    openapi.check(refused, "/approvals/{approval_id}/approve", "post")
    assert refused.status_code == 403
    approved = call(client, "post", f"/approvals/{body['id']}/approve", tokens["li"],
                    json={"version": 1, "comment": "OK"})
    openapi.check(approved, "/approvals/{approval_id}/approve", "post")
    assert approved.json["status"] == "approved"
    assert [h["action"] for h in approved.json["history"]] == ["submitted", "approved"]
    stale = call(client, "post", f"/approvals/{body['id']}/approve", tokens["li"], json={"version": 1})
    openapi.check(stale, "/approvals/{approval_id}/approve", "post")
    assert stale.status_code == 409
    copied = call(client, "get", "/approvals?box=copied&status=approved", tokens["bob"])
    assert [a["id"] for a in copied.json["approvals"]] == [body["id"]]


def test_return_resubmit_reject_and_withdraw(client, org, tokens):
    made = call(client, "post", "/approvals", tokens["wei"], json={"template": "leave", "values": LEAVE}).json
    path = f"/approvals/{made['id']}"
    bad = call(client, "post", path + "/return", tokens["li"], json={"version": 1})
    openapi.check(bad, "/approvals/{approval_id}/return", "post")
    assert bad.status_code == 400 and bad.json["field"] == "reason"
    returned = call(client, "post", path + "/return", tokens["li"], json={"version": 1, "reason": "Dates?"})
    openapi.check(returned, "/approvals/{approval_id}/return", "post")
    assert returned.json["status"] == "returned"
    wrong = call(client, "post", path + "/resubmit", tokens["wei"], json={"version": 2, "values": "x"})
    openapi.check(wrong, "/approvals/{approval_id}/resubmit", "post")
    assert wrong.status_code == 400 and wrong.json["field"] == "values"
    again = call(client, "post", path + "/resubmit", tokens["wei"],
                 json={"version": 2, "values": {**LEAVE, "ends_on": "2025-03-04"}})
    openapi.check(again, "/approvals/{approval_id}/resubmit", "post")
    assert (again.json["status"], again.json["round"], again.json["ends_on"]) == ("pending", 2, "2025-03-04")
    rejected = call(client, "post", path + "/reject", tokens["li"], json={"version": 3, "reason": "Busy"})
    openapi.check(rejected, "/approvals/{approval_id}/reject", "post")
    assert rejected.json["status"] == "rejected"
    late = call(client, "post", path + "/withdraw", tokens["wei"], json={})
    openapi.check(late, "/approvals/{approval_id}/withdraw", "post")
    assert late.status_code == 409
    other = call(client, "post", "/approvals", tokens["wei"],
                 json={"template": "leave", "values": {**LEAVE, "starts_on": "2025-06-02", "ends_on": "2025-06-02"}})
    gone = call(client, "post", f"/approvals/{other.json['id']}/withdraw", tokens["wei"], json={"version": 1})
    openapi.check(gone, "/approvals/{approval_id}/withdraw", "post")
    assert gone.json["status"] == "withdrawn"


@pytest.mark.parametrize("body, field", [
    ({}, "values"),
    ({"template": "leave", "values": []}, "values"),
    ({"template": "payroll", "values": {}}, "template"),
    ({"template": "leave", "values": {**LEAVE, "reason": 5}}, "reason"),
    ({"template": "leave", "values": {**LEAVE, "starts_on": None}}, "starts_on"),
    ({"template": "leave", "values": LEAVE, "copied": "all"}, "copied"),
    ({"template": "leave", "values": LEAVE, "extra_approvers": [123456]}, "extra_approvers"),
    ({"template": "expense", "values": {"amount": True, "currency": "CNY", "purpose": "x"}}, "amount"),
])
def test_bad_requests_name_the_field_and_save_nothing(client, org, tokens, body, field):
    response = call(client, "post", "/approvals", tokens["wei"], json=body)
    openapi.check(response, "/approvals", "post")
    assert response.status_code == 400 and response.json["field"] == field
    assert Approval.select().count() == 0


def test_scopes_and_isolation(client, org, tokens, other_tenant):
    approval = service.submit(org["tenant"], org["wei"], "leave", LEAVE)
    _token, read_only = create_token(org["li"], "reader", ["approvals:read"], 1)
    denied = call(client, "post", f"/approvals/{approval.id}/approve", read_only, json={})
    openapi.check(denied, "/approvals/{approval_id}/approve", "post")
    assert denied.status_code == 403 and Approval.get_by_id(approval.id).status == "pending"
    _token, chat_only = create_token(org["wei"], "chat", ["messages:read"], 1)
    assert call(client, "get", "/approvals", chat_only).status_code == 403
    assert call(client, "get", "/approvals", "atr_nope").status_code == 401
    for name in ("bob", "hu", "alice"):
        hidden = call(client, "get", f"/approvals/{approval.id}", tokens[name])
        openapi.check(hidden, "/approvals/{approval_id}")
        assert hidden.status_code == 404
        assert call(client, "post", f"/approvals/{approval.id}/reject", tokens[name],
                    json={"reason": "x"}).status_code == 404
    stranger = make_person(other_tenant, "li", password=None)
    _token, theirs = create_token(stranger, "x", ["approvals:read"], 1)
    assert call(client, "get", f"/approvals/{approval.id}", theirs, host="globex.example").status_code == 404
    # A token of one tenant is nothing at another's host.
    assert call(client, "get", "/approvals", tokens["li"], host="globex.example").status_code == 401
    bad_box = call(client, "get", "/approvals?box=everything", tokens["li"])
    openapi.check(bad_box, "/approvals")
    assert bad_box.status_code == 400


def test_files_through_the_api(client, org, tokens):
    from app.chat.attachments import Upload

    approval = service.submit(org["tenant"], org["wei"], "expense",
                              {"amount": "5", "currency": "CNY", "purpose": "Pens"},
                              files=[Upload("pens.txt", b"3 pens", "text/plain; charset=utf-8")])
    detail = call(client, "get", f"/approvals/{approval.id}", tokens["li"]).json
    file_id = detail["files"][0]["id"]
    got = call(client, "get", f"/approvals/{approval.id}/files/{file_id}", tokens["li"])
    openapi.check(got, "/approvals/{approval_id}/files/{attachment_id}")
    assert got.status_code == 200 and got.data == b"3 pens"
    missing = call(client, "get", f"/approvals/{approval.id}/files/{file_id}", tokens["bob"])
    openapi.check(missing, "/approvals/{approval_id}/files/{attachment_id}")
    assert missing.status_code == 404
    # A policy that turns downloads off for members refuses them the file, with the reason.
    from app.security.policy import limits_from, save_policy

    limits = limits_from(client.application.config["ATRIUM"])
    save_policy(org["tenant"], {"files.no_download_roles": ["member"]}, limits, partial=True)
    refused = call(client, "get", f"/approvals/{approval.id}/files/{file_id}", tokens["li"])
    openapi.check(refused, "/approvals/{approval_id}/files/{attachment_id}")
    assert refused.status_code == 403 and "turned off for your role" in refused.json["error"]
