"""Approval pages: making a request, deciding it, stale forms, files, isolation, the admins' templates."""
import io
import re

from app.approvals import service
from app.approvals.models import Approval, ApprovalAction, ApprovalAttachment
from app.residency.models import Blob
from tests.approvals.conftest import LEAVE, client_for
from tests.conftest import csrf_from, make_person

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def post(client, path, data, page, **kw):
    """POST a form with the CSRF token of `page`."""
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token}, **kw)


def version_of(html: str) -> str:
    return re.search(r'name="version" value="(\d+)"', html).group(1)


def test_request_leave_and_decide_it_through_the_pages(app, org):
    wei = client_for(app, "wei")
    form = wei.get("/approvals/new/leave").get_data(as_text=True)
    assert "李娜 Li" in form and "direct manager" in form                # the route is shown before sending
    key = re.search(r'name="submit_key" value="([^"]+)"', form).group(1)
    sent = post(wei, "/approvals/new/leave", {**LEAVE, "submit_key": key}, "/approvals/new/leave")
    assert sent.status_code == 303
    approval = Approval.get()
    assert sent.headers["Location"].endswith(f"/approvals/{approval.id}")
    # The same form sent again (a second click, a reload) makes nothing new and leads to the same request.
    again = post(wei, "/approvals/new/leave", {**LEAVE, "submit_key": key}, "/approvals/new/leave")
    assert again.headers["Location"] == sent.headers["Location"] and Approval.select().count() == 1

    mine = wei.get(f"/approvals/{approval.id}").get_data(as_text=True)
    assert "In progress" in mine and "Deciding now" in mine and 'id="withdraw"' in mine
    assert 'data-label="approve"' not in mine                            # the applicant cannot approve

    li = client_for(app, "li")
    todo = li.get("/approvals/").get_data(as_text=True)
    assert f'data-approval="{approval.id}"' in todo and 'id="todo-count">1<' in todo
    page = li.get(f"/approvals/{approval.id}").get_data(as_text=True)
    assert 'data-label="approve"' in page and version_of(page) == "1"
    done = post(li, f"/approvals/{approval.id}/approve", {"version": "1", "reason": "Have a good rest"},
                f"/approvals/{approval.id}")
    assert done.status_code == 303
    shown = wei.get(f"/approvals/{approval.id}").get_data(as_text=True)
    assert 'id="approval-status">Approved<' in shown and "Have a good rest" in shown
    assert "李娜 Li approved." in shown
    assert 'id="todo-count">0<' in li.get("/approvals/").get_data(as_text=True)
    assert f'data-approval="{approval.id}"' in li.get("/approvals/?box=done").get_data(as_text=True)


def test_a_second_click_on_approve_does_nothing_and_says_so(app, org):
    service.save_template(org["tenant"], service.template_for(org["tenant"], "leave"),
                          {"enabled": "1", "route_mode": "manager", "route_depth": "2", "field_rows": "0"})
    approval = service.submit(org["tenant"], org["wei"], "leave", LEAVE)
    li = client_for(app, "li")
    first = post(li, f"/approvals/{approval.id}/approve", {"version": "1"}, f"/approvals/{approval.id}")
    second = post(li, f"/approvals/{approval.id}/approve", {"version": "1"}, f"/approvals/{approval.id}")
    assert first.status_code == second.status_code == 303
    page = li.get(second.headers["Location"]).get_data(as_text=True)
    assert "changed since you opened it, so nothing was done" in page
    assert ApprovalAction.select().where(ApprovalAction.action == "approved").count() == 1
    # Hu's page opened before Li approved? It was not his turn then; now it is, with the new version.
    hu = client_for(app, "hu")
    assert version_of(hu.get(f"/approvals/{approval.id}").get_data(as_text=True)) == "2"
    stale = post(hu, f"/approvals/{approval.id}/reject", {"version": "1", "reason": "no"}, f"/approvals/{approval.id}",
                 headers={"Accept": "application/json"})
    assert stale.status_code == 409 and Approval.get_by_id(approval.id).status == "pending"


def test_reject_without_a_reason_keeps_the_page_and_what_was_typed(app, org):
    approval = service.submit(org["tenant"], org["wei"], "leave", LEAVE)
    li = client_for(app, "li")
    refused = post(li, f"/approvals/{approval.id}/return", {"version": "1", "reason": " "},
                   f"/approvals/{approval.id}")
    assert refused.status_code == 400
    assert "Say why, so the applicant knows what to do." in refused.get_data(as_text=True)
    assert Approval.get_by_id(approval.id).status == "pending"
    returned = post(li, f"/approvals/{approval.id}/return", {"version": "1", "reason": "Which dates exactly?"},
                    f"/approvals/{approval.id}")
    assert returned.status_code == 303
    wei = client_for(app, "wei")
    page = wei.get(f"/approvals/{approval.id}").get_data(as_text=True)
    assert "Returned for changes" in page and "Which dates exactly?" in page and 'id="edit-request"' in page
    edit = wei.get(f"/approvals/{approval.id}/edit").get_data(as_text=True)
    assert 'value="2025-03-03"' in edit and "Family visit" in edit
    bad = post(wei, f"/approvals/{approval.id}/edit", {**LEAVE, "ends_on": "2025-03-01", "version": "2"},
               f"/approvals/{approval.id}/edit")
    assert bad.status_code == 400 and "The last day cannot be before the first day." in bad.get_data(as_text=True)
    assert 'value="2025-03-01"' in bad.get_data(as_text=True)              # what was typed stays
    sent = post(wei, f"/approvals/{approval.id}/edit", {**LEAVE, "ends_on": "2025-03-04", "version": "2"},
                f"/approvals/{approval.id}/edit")
    assert sent.status_code == 303
    fresh = Approval.get_by_id(approval.id)
    assert (fresh.status, fresh.round, str(fresh.ends_on)) == ("pending", 2, "2025-03-04")
    assert client_for(app, "li").get(f"/approvals/{approval.id}/edit").status_code == 403


def test_a_bad_form_names_the_field_keeps_the_values_and_saves_nothing(app, org):
    wei = client_for(app, "wei")
    response = post(wei, "/approvals/new/leave", {**LEAVE, "starts_on": "next monday", "reason": "Rest 休息"},
                    "/approvals/new/leave")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="starts_on-error"' in html and 'aria-invalid="true" aria-describedby="starts_on-error"' in html
    assert "Rest 休息" in html and 'value="next monday"' in html
    assert Approval.select().count() == 0


def test_withdraw_through_the_page(app, org):
    approval = service.submit(org["tenant"], org["wei"], "leave", LEAVE)
    wei = client_for(app, "wei")
    done = post(wei, f"/approvals/{approval.id}/withdraw", {"version": "1"}, f"/approvals/{approval.id}")
    assert done.status_code == 303 and Approval.get_by_id(approval.id).status == "withdrawn"
    assert post(client_for(app, "li"), f"/approvals/{approval.id}/withdraw", {"version": "2"},
                f"/approvals/{approval.id}").status_code == 403


def test_an_expense_with_receipts(app, org):
    wei = client_for(app, "wei")
    files = [(io.BytesIO(PNG), "发票 receipt.png"), (io.BytesIO(b"%PDF-1.4 hotel"), "hotel.pdf")]
    sent = post(wei, "/approvals/new/expense", {"amount": "880.00", "currency": "CNY", "purpose": "Taxi and hotel",
                                                 "attachments": files}, "/approvals/new/expense",
                content_type="multipart/form-data")
    assert sent.status_code == 303, sent.get_data(as_text=True)
    approval = Approval.get()
    files = service.attachments_of(approval)
    assert [f.name for f in files] == ["发票 receipt.png", "hotel.pdf"]
    page = client_for(app, "li").get(f"/approvals/{approval.id}").get_data(as_text=True)
    assert "¥880.00" in page and "Taxi and hotel" in page
    download = client_for(app, "li").get(f"/approvals/{approval.id}/files/{files[0].id}")
    assert download.status_code == 200 and download.data == PNG
    assert download.mimetype == "image/png" and "filename*=UTF-8''" in download.headers["Content-Disposition"]
    assert "sandbox" in download.headers["Content-Security-Policy"]
    for outsider in ("bob", "hu", "alice"):
        assert client_for(app, outsider).get(f"/approvals/{approval.id}/files/{files[0].id}").status_code == 404
    assert wei.get(f"/approvals/{approval.id}/files/999999").status_code == 404


def test_receipts_obey_a_policy_that_turns_downloads_off_for_a_role(app, org):
    from app.chat.attachments import Upload
    from app.security.policy import limits_from, save_policy

    approval = service.submit(org["tenant"], org["wei"], "expense", {"amount": "5", "currency": "CNY",
                                                                    "purpose": "Pens"},
                              files=[Upload("pens.png", PNG, "image/png")])
    path = f"/approvals/{approval.id}/files/{service.attachments_of(approval)[0].id}"
    wei = client_for(app, "wei")
    assert wei.get(path).status_code == 200
    save_policy(org["tenant"], {"files.no_download_roles": ["member"]}, limits_from(app.config["ATRIUM"]),
                partial=True)
    refused = wei.get(path)
    assert refused.status_code == 403 and "turned off for your role" in refused.get_data(as_text=True)


def test_a_refused_file_stores_nothing(app, org):
    wei = client_for(app, "wei")
    response = post(wei, "/approvals/new/expense",
                    {"amount": "12", "currency": "CNY", "purpose": "Lunch",
                     "attachments": [(io.BytesIO(b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 32), "tool.exe")]},
                    "/approvals/new/expense", content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "This kind of file cannot be sent." in html
    assert "Lunch" in html and "Choose the files again." in html
    assert Approval.select().count() == 0 and Blob.select().count() == 0 and ApprovalAttachment.select().count() == 0


def test_nobody_else_reaches_a_request(app, org):
    approval = service.submit(org["tenant"], org["wei"], "leave", LEAVE)
    for name in ("bob", "dan", "hu", "alice"):
        client = client_for(app, name)
        assert client.get(f"/approvals/{approval.id}").status_code == 404
        for action in ("approve", "reject", "return", "withdraw"):
            assert post(client, f"/approvals/{approval.id}/{action}", {"version": "1", "reason": "x"},
                        "/approvals/").status_code == 404
    assert Approval.get_by_id(approval.id).status == "pending"


def test_another_tenants_person_with_the_same_id_range_sees_nothing(app, org, other_tenant):
    from tests.conftest import login

    approval = service.submit(org["tenant"], org["wei"], "leave", LEAVE)
    make_person(other_tenant, "gina", role="admin")
    client = app.test_client()
    assert login(client, "gina", host="globex.example").status_code == 302
    response = client.get(f"/approvals/{approval.id}", base_url="http://globex.example")
    assert response.status_code == 404
    listing = client.get("/approvals/?box=mine", base_url="http://globex.example").get_data(as_text=True)
    assert "Family visit" not in listing and f'data-approval="{approval.id}"' not in listing


def test_pages_need_a_login(client, org):
    for path in ("/approvals/", "/approvals/new/leave", "/approvals/1", "/approvals/templates"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_unknown_or_switched_off_kinds_are_404(app, org):
    wei = client_for(app, "wei")
    assert wei.get("/approvals/new/payroll").status_code == 404
    service.save_template(org["tenant"], service.template_for(org["tenant"], "general"),
                          {"route_mode": "manager", "route_depth": "1", "field_rows": "0"})
    assert wei.get("/approvals/new/general").status_code == 404
    assert 'data-template="general"' not in wei.get("/approvals/").get_data(as_text=True)


def test_templates_are_for_admins(app, org):
    wei = client_for(app, "wei")
    assert wei.get("/approvals/templates").status_code == 403
    assert wei.get("/approvals/templates/leave").status_code == 403
    alice = client_for(app, "alice")
    listing = alice.get("/approvals/templates").get_data(as_text=True)
    assert 'data-template="attendance_correction"' in listing
    bad = post(alice, "/approvals/templates/general",
               {"enabled": "1", "route_mode": "manager", "route_depth": "7", "field_rows": "1",
                "f0_label": "Project", "f0_type": "text"}, "/approvals/templates/general")
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "Between 1 and 5." in html and 'value="Project"' in html
    saved = post(alice, "/approvals/templates/general",
                 {"enabled": "1", "route_mode": "department_head", "route_depth": "2", "field_rows": "1",
                  "f0_label": "Project", "f0_type": "text", "f0_required": "1",
                  "copied": [str(org["hu"].id)]}, "/approvals/templates/general")
    assert saved.status_code == 303
    template = service.template_for(org["tenant"], "general")
    assert (template.route_mode, template.route_depth, service.copied_of(template)) == ("department_head", 2,
                                                                                       [org["hu"].id])
    form = client_for(app, "wei").get("/approvals/new/general").get_data(as_text=True)
    assert 'name="x1"' in form and ">Project" in form
    assert alice.get("/approvals/templates/payroll").status_code == 404


def test_forms_are_sent_once_by_the_static_script_and_carry_no_inline_script(app, org):
    page = client_for(app, "wei").get("/approvals/new/expense").get_data(as_text=True)
    assert 'name="viewport"' in page and 'enctype="multipart/form-data"' in page and "data-once" in page
    assert "<script>" not in page and "approvals.js" in page
