"""Approvals as plain functions: routes along the org chart, stand-ins, decisions, stale actions, templates."""
import datetime
import json

import pytest

from app.approvals import service
from app.approvals.models import Approval, ApprovalAction, ApprovalAttachment, ApprovalCopy, ApprovalStep
from app.chat.attachments import Upload
from app.events.models import Event
from app.org.service import deactivate_person, save_department
from app.residency.blobs import read_blob
from app.residency.models import Blob
from app.validation import ValidationError
from tests.approvals.conftest import LEAVE, events
from tests.conftest import make_person

TODAY = datetime.date(2025, 3, 1)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def submit(org, who="wei", kind="leave", values=None, **kw):
    return service.submit(org["tenant"], org[who], kind, values or LEAVE, today=TODAY, **kw)


def route(approval):
    return [(step.approver_id, step.role, step.state) for step, _p, _meant in service.route_of(approval)]


def actions(approval):
    return [(a.action, d) for a, d in service.history(approval)]


def set_route(org, kind="leave", **form):
    template = service.template_for(org["tenant"], kind)
    base = {"enabled": "1", "route_mode": "manager", "route_depth": "1", "field_rows": "0"}
    return service.save_template(org["tenant"], template, {**base, **form})


def test_a_leave_request_goes_to_the_direct_manager_and_is_approved(org):
    approval = submit(org)
    assert approval.status == "pending" and approval.version == 1
    assert (approval.starts_on, approval.ends_on) == (datetime.date(2025, 3, 3), datetime.date(2025, 3, 5))
    assert route(approval) == [(org["li"].id, "manager", "pending")]
    assert [a.id for a in service.listing(org["tenant"], org["li"], "todo")] == [approval.id]
    assert service.listing(org["tenant"], org["hu"], "todo").count() == 0
    todo = events("approval_todo")
    assert todo == [("person", org["li"].id, "approval_todo",
                     {"id": approval.id, "applicant_name": "张伟 Wei", "kind": "leave",
                      "url": f"/approvals/{approval.id}"})]

    done = service.approve(org["tenant"], org["li"], approval.id, 1, "Enjoy")
    assert done.status == "approved" and done.decided_at is not None and done.version == 2
    assert route(done) == [(org["li"].id, "manager", "approved")]
    assert [a for a, _d in actions(done)] == ["submitted", "approved"]
    assert service.history(done)[1][0].note == "Enjoy"
    outcome = events("approval_outcome")
    assert [(e[1], e[3]["status"], e[3]["actor_name"]) for e in outcome] == [(org["wei"].id, "approved", "李娜 Li")]
    assert service.listing(org["tenant"], org["li"], "todo").count() == 0
    assert [a.id for a in service.listing(org["tenant"], org["li"], "done")] == [approval.id]
    # Every open page of the applicant and the approver heard of each change.
    updated = {(e[1], e[3]["version"]) for e in events("approval_updated")}
    assert {(org["wei"].id, 2), (org["li"].id, 2)} <= updated


def test_the_route_climbs_the_managers_up_to_the_templates_depth(org):
    set_route(org, route_depth="3")
    approval = submit(org)
    assert [s[0] for s in route(approval)] == [org["li"].id, org["hu"].id]    # Hu has no manager: the chain ends
    assert route(approval)[1][2] == "waiting"
    with pytest.raises(PermissionError):                  # not Hu's turn yet
        service.approve(org["tenant"], org["hu"], approval.id)
    service.approve(org["tenant"], org["li"], approval.id)
    assert Approval.get_by_id(approval.id).status == "pending"
    assert [a.id for a in service.listing(org["tenant"], org["hu"], "todo")] == [approval.id]
    assert service.approve(org["tenant"], org["hu"], approval.id).status == "approved"


def test_department_heads_route(org):
    set_route(org, route_mode="department_head", route_depth="2")
    assert [s[0] for s in route(submit(org))] == [org["li"].id, org["hu"].id]
    # Li heads North herself: her request skips her and goes to the head of Sales.
    mine = submit(org, "li", values={**LEAVE, "starts_on": "2025-04-01", "ends_on": "2025-04-01"})
    assert [s[0] for s in route(mine)] == [org["hu"].id]


def test_with_nobody_above_the_request_goes_to_a_tenant_admin_and_the_history_says_so(org):
    approval = submit(org, "dan")
    assert route(approval) == [(org["alice"].id, "admin", "pending")]
    assert actions(approval)[1] == ("routed_to_admin", {"to": "Alice Admin", "reason": "no_manager"})
    set_route(org, route_mode="department_head")
    other = submit(org, "dan", values={**LEAVE, "starts_on": "2025-05-01", "ends_on": "2025-05-01"})
    assert actions(other)[1] == ("routed_to_admin", {"to": "Alice Admin", "reason": "no_head"})


def test_a_deactivated_approver_is_replaced_by_their_manager(org):
    deactivate_person(org["li"])
    approval = submit(org)
    step, approver, meant = service.route_of(approval)[0]
    assert (approver.id, meant.id, step.state) == (org["hu"].id, org["li"].id, "pending")
    assert actions(approval)[1] == ("rerouted", {"from": "李娜 Li", "to": "胡总 Hu", "via": "manager",
                                                 "reason": "deactivated"})


def test_a_deactivated_approver_without_an_active_manager_is_replaced_by_an_admin(org):
    deactivate_person(org["li"])
    deactivate_person(org["hu"])
    approval = submit(org)
    assert route(approval) == [(org["alice"].id, "manager", "pending")]
    assert actions(approval)[1] == ("rerouted", {"from": "李娜 Li", "to": "Alice Admin", "via": "admin",
                                                 "reason": "deactivated"})


def test_an_approver_deactivated_while_it_waits_for_them_is_rerouted_by_the_worker(org):
    approval = submit(org)
    assert service.reroute_stalled() == {"rerouted": 0}
    deactivate_person(org["li"])
    assert service.reroute_stalled() == {"rerouted": 1}
    assert route(Approval.get_by_id(approval.id)) == [(org["hu"].id, "manager", "pending")]
    assert actions(approval)[-1][0] == "rerouted"
    assert [e[1] for e in events("approval_todo")] == [org["li"].id, org["hu"].id]
    assert service.reroute_stalled() == {"rerouted": 0}
    assert service.approve(org["tenant"], org["hu"], approval.id).status == "approved"


def test_the_same_person_twice_on_a_route_decides_once(org):
    set_route(org, route_depth="1", extra_approvers=[str(org["hu"].id)])
    deactivate_person(org["li"])          # Hu stands in for Li, and is also the extra approver
    approval = submit(org)
    service.approve(org["tenant"], org["hu"], approval.id)
    done = Approval.get_by_id(approval.id)
    assert done.status == "approved"
    assert [a for a, _d in actions(done)] == ["submitted", "rerouted", "approved", "skipped"]


def test_extra_approvers_and_people_copied(org):
    set_route(org, copied=[str(org["alice"].id)])
    approval = submit(org, extra_approvers=[str(org["dan"].id)], copied=[org["bob"].id, org["wei"].id])
    assert [s[0] for s in route(approval)] == [org["li"].id, org["dan"].id]
    assert {p.id for p in service.copies_of(approval)} == {org["alice"].id, org["bob"].id}   # not the applicant
    assert service.approval_for(org["tenant"], org["bob"], approval.id) is not None
    with pytest.raises(PermissionError):
        service.approve(org["tenant"], org["bob"], approval.id)          # copied people read, they do not decide
    service.approve(org["tenant"], org["li"], approval.id)
    service.approve(org["tenant"], org["dan"], approval.id)
    copied = [(e[1], e[3]["copied"]) for e in events("approval_outcome") if e[3]["copied"]]
    assert sorted(copied) == sorted([(org["alice"].id, True), (org["bob"].id, True)])


def test_reject_needs_a_reason_and_ends_the_request(org):
    set_route(org, route_depth="2")
    approval = submit(org)
    with pytest.raises(ValidationError) as exc:
        service.reject(org["tenant"], org["li"], approval.id, 1, "  ")
    assert exc.value.field == "reason"
    assert Approval.get_by_id(approval.id).version == 1       # nothing happened
    done = service.reject(org["tenant"], org["li"], approval.id, 1, "Busy week")
    assert done.status == "rejected"
    assert route(done) == [(org["li"].id, "manager", "rejected"), (org["hu"].id, "manager", "cancelled")]
    assert events("approval_outcome")[-1][3]["status"] == "rejected"
    with pytest.raises(service.StaleAction):
        service.approve(org["tenant"], org["li"], approval.id, 2)


def test_return_for_changes_then_resubmit_starts_the_route_again(org):
    approval = submit(org)
    returned = service.return_for_changes(org["tenant"], org["li"], approval.id, 1, "Which project covers you?")
    assert returned.status == "returned" and returned.version == 2
    with pytest.raises(ValidationError):
        service.resubmit(org["tenant"], org["wei"], approval.id, {**LEAVE, "ends_on": "2025-03-01"}, version=2,
                         today=TODAY)
    assert Approval.get_by_id(approval.id).status == "returned"       # a refused change changes nothing
    with pytest.raises(PermissionError):
        service.resubmit(org["tenant"], org["li"], approval.id, LEAVE, version=2, today=TODAY)
    again = service.resubmit(org["tenant"], org["wei"], approval.id, {**LEAVE, "reason": "Bob covers me"},
                             version=2, today=TODAY)
    assert (again.status, again.round, again.version) == ("pending", 2, 3)
    assert json.loads(again.answers)["reason"] == "Bob covers me"
    assert route(again) == [(org["li"].id, "manager", "pending")]
    assert [a for a, _d in actions(again)] == ["submitted", "returned", "resubmitted"]
    with pytest.raises(service.StaleAction):
        service.resubmit(org["tenant"], org["wei"], approval.id, LEAVE, version=2, today=TODAY)
    assert service.approve(org["tenant"], org["li"], approval.id, 3).status == "approved"


def test_withdraw(org):
    approval = submit(org)
    with pytest.raises(PermissionError):
        service.withdraw(org["tenant"], org["li"], approval.id)
    with pytest.raises(LookupError):
        service.withdraw(org["tenant"], org["dan"], approval.id)
    done = service.withdraw(org["tenant"], org["wei"], approval.id, 1)
    assert done.status == "withdrawn"
    assert service.listing(org["tenant"], org["li"], "todo").count() == 0
    assert events("approval_outcome")[-1] == ("person", org["li"].id, "approval_outcome", {
        "id": approval.id, "status": "withdrawn", "actor_name": "", "url": f"/approvals/{approval.id}",
        "copied": False})
    with pytest.raises(service.StaleAction):
        service.withdraw(org["tenant"], org["wei"], approval.id, 1)        # a second click
    with pytest.raises(service.StaleAction):
        service.approve(org["tenant"], org["li"], approval.id, 1)          # the approver's stale form


def test_a_second_click_or_a_stale_form_never_acts_twice(org):
    set_route(org, route_depth="2")
    approval = submit(org)
    service.approve(org["tenant"], org["li"], approval.id, 1)
    with pytest.raises(service.StaleAction):
        service.approve(org["tenant"], org["li"], approval.id, 1)
    with pytest.raises(service.StaleAction):
        service.reject(org["tenant"], org["hu"], approval.id, 1, "seen an old page")
    with pytest.raises(service.StaleAction):
        service.approve(org["tenant"], org["hu"], approval.id, "not-a-version")
    assert [a for a, _d in actions(approval)] == ["submitted", "approved"]
    assert service.approve(org["tenant"], org["hu"], approval.id, 2).status == "approved"


def test_the_same_form_sent_twice_makes_one_request(org):
    first = submit(org, submit_key="form-key-123")
    second = submit(org, submit_key="form-key-123")
    assert first.id == second.id and Approval.select().count() == 1
    # A different form (new key) for the same days is refused as overlapping leave, not made twice.
    with pytest.raises(ValidationError) as exc:
        submit(org, submit_key="form-key-456")
    assert exc.value.field == "starts_on"


@pytest.mark.parametrize("values, field", [
    ({**LEAVE, "leave_type": "holiday"}, "leave_type"),
    ({**LEAVE, "starts_on": "03/03/2025"}, "starts_on"),
    ({**LEAVE, "starts_on": "2025-02-30"}, "starts_on"),
    ({**LEAVE, "ends_on": "2025-03-01"}, "ends_on"),
    ({**LEAVE, "ends_on": "2026-12-31"}, "ends_on"),
    ({**LEAVE, "reason": ""}, "reason"),
    ({**LEAVE, "reason": "x" * 2001}, "reason"),
    ({**LEAVE, "reason": "bad\x00byte"}, "reason"),
    ({**LEAVE, "reason": ["a", "list"]}, "reason"),
])
def test_bad_leave_requests_name_the_field_and_save_nothing(org, values, field):
    with pytest.raises(ValidationError) as exc:
        submit(org, values=values)
    assert exc.value.field == field
    assert Approval.select().count() == 0 and ApprovalStep.select().count() == 0
    assert Event.select().count() == 0


EXPENSE = {"amount": "1,234.50", "currency": "CNY", "purpose": "Client dinner"}


@pytest.mark.parametrize("amount, currency, field", [
    ("", "CNY", "amount"), ("0", "CNY", "amount"), ("-5", "CNY", "amount"), ("abc", "CNY", "amount"),
    ("1.234", "CNY", "amount"), ("100.5", "JPY", "amount"), ("1e5", "CNY", "amount"), ("NaN", "CNY", "amount"),
    ("99999999999", "CNY", "amount"), ("10", "XYZ", "currency"), ("10", "", "currency"),
])
def test_bad_amounts(org, amount, currency, field):
    with pytest.raises(ValidationError) as exc:
        submit(org, kind="expense", values={**EXPENSE, "amount": amount, "currency": currency})
    assert exc.value.field == field
    assert Approval.select().count() == 0


def test_an_expense_keeps_its_amount_exactly_and_its_files_in_the_blob_store(org):
    files = [Upload("receipt.png", PNG, "image/png"), Upload("invoice.pdf", b"%PDF-1.4 x", "application/pdf")]
    approval = submit(org, kind="expense", values=EXPENSE, files=files)
    assert (approval.amount_minor, approval.currency) == (123450, "CNY")
    assert json.loads(approval.answers)["amount"] == "1234.50"
    stored = service.attachments_of(approval)
    assert [f.name for f in stored] == ["receipt.png", "invoice.pdf"]
    assert read_blob(stored[0].blob) == PNG
    yen = submit(org, kind="expense", values={**EXPENSE, "amount": "5000", "currency": "JPY"})
    assert (yen.amount_minor, yen.currency) == (5000, "JPY")


def test_too_many_files_or_files_on_a_form_without_them_store_nothing(org):
    files = [Upload(f"r{i}.png", PNG, "image/png") for i in range(6)]
    with pytest.raises(ValidationError) as exc:
        submit(org, kind="expense", values=EXPENSE, files=files)
    assert exc.value.field == "attachments"
    with pytest.raises(ValidationError):
        submit(org, values=LEAVE, files=files[:1])
    assert Blob.select().count() == 0 and ApprovalAttachment.select().count() == 0


def test_extra_people_must_be_active_people_of_the_tenant(org, other_tenant):
    stranger = make_person(other_tenant, "stranger")
    for bad in ([stranger.id], ["x"], "everyone", [True]):
        with pytest.raises(ValidationError) as exc:
            submit(org, copied=bad)
        assert exc.value.field == "copied"
    deactivate_person(org["dan"])
    with pytest.raises(ValidationError) as exc:
        submit(org, extra_approvers=[org["dan"].id])
    assert exc.value.field == "extra_approvers"
    assert Approval.select().count() == 0


def test_only_the_people_involved_see_a_request(org, other_tenant):
    approval = submit(org)
    for name in ("wei", "li"):
        assert service.approval_for(org["tenant"], org[name], approval.id).id == approval.id
    for name in ("hu", "bob", "dan", "alice"):       # not on its route: admins included
        assert service.approval_for(org["tenant"], org[name], approval.id) is None
    outsider = make_person(other_tenant, "wei")
    assert service.approval_for(other_tenant, outsider, approval.id) is None
    assert service.approval_for(org["tenant"], org["wei"], "1 OR 1=1") is None
    with pytest.raises(LookupError):
        service.approve(org["tenant"], org["bob"], approval.id)


def test_admins_change_fields_and_old_requests_keep_theirs(org):
    template = service.template_for(org["tenant"], "general")
    service.save_template(org["tenant"], template, {
        "enabled": "1", "route_mode": "manager", "route_depth": "1", "field_rows": "2",
        "f0_label": "Project", "f0_type": "choice", "f0_options": "Alpha\nBeta", "f0_required": "1",
        "f1_label": "Budget code", "f1_type": "text"})
    fields = service.custom_fields(template)
    assert [(f["key"], f["label"], f["required"]) for f in fields] == [("x1", "Project", True),
                                                                       ("x2", "Budget code", False)]
    with pytest.raises(ValidationError) as exc:
        submit(org, kind="general", values={"title": "New laptop", "details": "Mine is 7 years old"})
    assert exc.value.field == "x1"
    old = submit(org, kind="general", values={"title": "New laptop", "details": "Old one broke", "x1": "Beta"})
    # Rename the first field, drop the second, add a third: keys stay, a new one is numbered on.
    service.save_template(org["tenant"], template, {
        "enabled": "1", "route_mode": "manager", "route_depth": "1", "field_rows": "3",
        "f0_key": "x1", "f0_label": "Project name", "f0_type": "text",
        "f1_key": "x2", "f1_label": "Budget code", "f1_type": "text", "f1_remove": "1",
        "f2_label": "Cost centre", "f2_type": "number"})
    assert [(f["key"], f["label"]) for f in service.custom_fields(template)] == [("x1", "Project name"),
                                                                                 ("x3", "Cost centre")]
    fields, answers = service.answers_of(Approval.get_by_id(old.id))
    assert [f["label"] for f in fields if not f["core"]] == ["Project", "Budget code"] and answers["x1"] == "Beta"


@pytest.mark.parametrize("form, field", [
    ({"route_mode": "ceo"}, "route_mode"),
    ({"route_depth": "0"}, "route_depth"),
    ({"route_depth": "9"}, "route_depth"),
    ({"route_depth": "two"}, "route_depth"),
    ({"name": "x" * 101}, "name"),
    ({"field_rows": "1", "f0_label": "Size", "f0_type": "choice", "f0_options": "Only one"}, "f0_options"),
    ({"field_rows": "1", "f0_label": "Size", "f0_type": "choice", "f0_options": "S\nS"}, "f0_options"),
    ({"field_rows": "1", "f0_label": "Size", "f0_type": "files"}, "f0_type"),
    ({"field_rows": "2", "f0_label": "Size", "f1_label": "size"}, "f1_label"),
    ({"field_rows": "1", "f0_key": "x99", "f0_label": "Forged"}, "f0_label"),
    ({"extra_approvers": ["999999"]}, "extra_approvers"),
])
def test_bad_template_changes_save_nothing(org, form, field):
    template = service.template_for(org["tenant"], "general")
    before = (template.route_mode, template.route_depth, template.fields, template.name)
    with pytest.raises(ValidationError) as exc:
        service.save_template(org["tenant"], template, {"enabled": "1", "route_mode": "manager", "route_depth": "1",
                                                        "field_rows": "0", **form})
    assert exc.value.field == field
    fresh = service.template_for(org["tenant"], "general")
    assert (fresh.route_mode, fresh.route_depth, fresh.fields, fresh.name) == before


def test_a_switched_off_template_takes_no_requests(org):
    template = service.template_for(org["tenant"], "general")
    service.save_template(org["tenant"], template, {"route_mode": "manager", "route_depth": "1", "field_rows": "0"})
    assert "general" not in [t.kind for t in service.available_templates(org["tenant"])]
    with pytest.raises(ValidationError) as exc:
        submit(org, kind="general", values={"title": "x", "details": "y"})
    assert exc.value.field == "template"


def test_templates_are_per_tenant(org, other_tenant):
    set_route(org, route_depth="3")
    assert service.template_for(other_tenant, "leave").route_depth == 1
    assert service.template_for(org["tenant"], "payroll") is None


def test_copies_and_history_rows_belong_to_the_tenant(org):
    approval = submit(org, copied=[org["bob"].id])
    for model in (ApprovalStep, ApprovalCopy, ApprovalAction):
        assert {row.tenant_id for row in model.select()} == {org["tenant"].id}
    assert approval.tenant_id == org["tenant"].id


def test_a_later_department_head_is_used_for_the_department_route(org):
    set_route(org, route_mode="department_head")
    save_department(org["tenant"], org["north"], {"name": "North", "parent_id": str(org["sales"].id)})  # no head
    assert [s[0] for s in route(submit(org))] == [org["hu"].id]


def test_the_approver_is_notified_and_emailed_and_the_applicant_learns_the_outcome(org):
    from flask_babel import force_locale

    from app.notify import kinds
    from app.notify.models import Notification

    approval = submit(org)
    (request,) = Notification.select().where(Notification.person == org["li"].id)
    assert (request.kind, request.link, request.ref, request.email) == (
        "approval_request", f"/approvals/{approval.id}", f"approval:{approval.id}", True)
    with force_locale("en"):
        assert kinds.title(request.kind, json.loads(request.params)) == "张伟 Wei asks for your approval: Leave"
    with force_locale("zh_Hans"):
        assert "张伟 Wei" in kinds.title(request.kind, json.loads(request.params))

    service.reject(org["tenant"], org["li"], approval.id, 1, "Busy week")
    assert Notification.get_by_id(request.id).read_at is not None       # deciding dealt with the request
    (outcome,) = Notification.select().where(Notification.person == org["wei"].id)
    assert outcome.kind == "approval_decided" and outcome.email is False
    with force_locale("en"):
        assert kinds.title(outcome.kind, json.loads(outcome.params)) == "Leave rejected by 李娜 Li"
