"""/api/v1/approvals: the templates, a token owner's boxes, making requests, deciding and withdrawing them."""
from __future__ import annotations

from flask import Response, g, jsonify, request
from flask_babel import gettext as _

from app.api.views import api, bp, error
from app.approvals import forms
from app.approvals import service as svc
from app.approvals.models import Approval, ApprovalTemplate
from app.approvals.views import today_for
from app.chat import attachments
from app.org.models import Person
from app.pagination import paginate
from app.residency.blobs import BlobError, read_blob
from app.security.permissions import FILE_DOWNLOAD, require
from app.validation import ValidationError


def _iso(moment) -> str | None:
    return moment.isoformat() + "Z" if moment else None


def _ref(person: Person | None) -> dict | None:
    return {"id": person.id, "name": person.display_name} if person is not None else None


def _body() -> dict:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def field_json(field: dict) -> dict:
    """A form field as the API shows it (ApprovalField)."""
    return {"key": field["key"], "type": field["type"], "label": forms.field_label(field),
            "required": bool(field["required"]),
            "options": [{"value": o, "label": forms.option_label(field, o)} for o in field.get("options") or []]}


def template_json(template: ApprovalTemplate) -> dict:
    """A kind of request people can make (ApprovalTemplate)."""
    return {"kind": template.kind, "name": svc.template_name(template), "description": template.description,
            "route_mode": template.route_mode, "route_depth": template.route_depth,
            "fields": [field_json(f) for f in svc.fields_of(template)]}


def summary_json(approval: Approval, applicant: Person) -> dict:
    """A request in a list (ApprovalSummary)."""
    amount = (str(forms.format_amount(approval.amount_minor, approval.currency))
              if approval.amount_minor is not None else None)
    return {"id": approval.id, "kind": approval.kind, "status": approval.status, "version": approval.version,
            "applicant": _ref(applicant), "title": approval.title, "amount": amount, "currency": approval.currency,
            "starts_on": approval.starts_on.isoformat() if approval.starts_on else None,
            "ends_on": approval.ends_on.isoformat() if approval.ends_on else None,
            "created_at": _iso(approval.created_at), "updated_at": _iso(approval.updated_at),
            "decided_at": _iso(approval.decided_at)}


def detail_json(approval: Approval) -> dict:
    """A request with its answers, route, history, copies and files (Approval)."""
    applicant = g.scope.get_or_none(Person, approval.applicant_id)
    fields, answers = svc.answers_of(approval)
    step = svc.pending_step(approval)
    return {
        **summary_json(approval, applicant), "round": approval.round,
        "fields": [field_json(f) for f in fields], "values": answers,
        "route": [{"position": s.position, "approver": _ref(p), "instead_of": _ref(meant), "role": s.role,
                   "level": s.level, "state": s.state, "acted_at": _iso(s.acted_at), "comment": s.comment}
                  for s, p, meant in svc.route_of(approval)],
        "history": [{"action": a.action, "actor": _ref(a.actor) if a.actor_id else None, "note": a.note,
                     "detail": detail, "created_at": _iso(a.created_at)} for a, detail in svc.history(approval)],
        "copied": [_ref(p) for p in svc.copies_of(approval)],
        "files": [{"id": f.id, "name": f.name, "available": f.blob_id is not None}
                  for f in svc.attachments_of(approval)],
        "my_turn": step is not None and step.approver_id == g.person.id,
    }


def _people_list(body: dict, key: str):
    value = body.get(key)
    return value if isinstance(value, list) else ([] if value is None else "refused")


@bp.route("/approvals/templates")
@api("approvals:read")
def list_approval_templates():
    """The kinds of request the owner can make, with their fields."""
    return jsonify(templates=[template_json(t) for t in svc.available_templates(g.tenant)])


@bp.route("/approvals")
@api("approvals:read")
def list_approvals():
    """One of the owner's boxes: todo (waiting for them), mine, done (decided by them) or copied."""
    box = request.args.get("box") or "todo"
    if box not in svc.BOXES:
        return error(400, _("box must be one of: %(boxes)s.", boxes=", ".join(svc.BOXES)), field="box")
    status = request.args.get("status") or None
    if status is not None and status not in ("pending", "approved", "rejected", "returned", "withdrawn"):
        return error(400, _("Unknown status."), field="status")
    page = paginate(svc.listing(g.tenant, g.person, box, status), request.args.get("page"), 50)
    return jsonify(approvals=[summary_json(a, a.applicant) for a in page.items], page=page.number, pages=page.pages,
                   total=page.total)


@bp.route("/approvals", methods=["POST"])
@api("approvals:write")
def create_approval():
    """Make a request from a template's fields (files are added on the web page)."""
    body = _body()
    values = body.get("values")
    if not isinstance(values, dict):
        return error(400, _("values must be an object of the template's fields."), field="values")
    try:
        approval = svc.submit(g.tenant, g.person, body.get("template"), values,
                              copied=_people_list(body, "copied"), extra_approvers=_people_list(body, "extra_approvers"),
                              submit_key=body.get("submit_key"), today=today_for(g.person))
    except ValidationError as exc:
        return error(400, exc.message, field=exc.field)
    return jsonify(detail_json(approval)), 201


@bp.route("/approvals/<int:approval_id>")
@api("approvals:read")
def get_approval(approval_id: int):
    """One request the owner may see."""
    approval = svc.approval_for(g.tenant, g.person, approval_id)
    if approval is None:
        return error(404, _("No such request."))
    return jsonify(detail_json(approval))


def _act(action):
    try:
        approval = action()
    except LookupError:
        return error(404, _("No such request."))
    except PermissionError:
        return error(403, _("This request is not yours to decide or withdraw."))
    except svc.StaleAction:
        return error(409, _("This request changed since you read it, so nothing was done. Read it again."))
    except ValidationError as exc:
        return error(400, exc.message, field=exc.field)
    return jsonify(detail_json(approval))


@bp.route("/approvals/<int:approval_id>/approve", methods=["POST"])
@api("approvals:write")
def approve_approval(approval_id: int):
    """Approve a request whose turn is the owner's."""
    body = _body()
    return _act(lambda: svc.approve(g.tenant, g.person, approval_id, body.get("version"), body.get("comment")))


@bp.route("/approvals/<int:approval_id>/reject", methods=["POST"])
@api("approvals:write")
def reject_approval(approval_id: int):
    """Reject a request whose turn is the owner's, with a reason."""
    body = _body()
    return _act(lambda: svc.reject(g.tenant, g.person, approval_id, body.get("version"), body.get("reason")))


@bp.route("/approvals/<int:approval_id>/return", methods=["POST"])
@api("approvals:write")
def return_approval(approval_id: int):
    """Return a request to its applicant for changes, with a reason."""
    body = _body()
    return _act(lambda: svc.return_for_changes(g.tenant, g.person, approval_id, body.get("version"),
                                               body.get("reason")))


@bp.route("/approvals/<int:approval_id>/withdraw", methods=["POST"])
@api("approvals:write")
def withdraw_approval(approval_id: int):
    """Withdraw the owner's own open request."""
    return _act(lambda: svc.withdraw(g.tenant, g.person, approval_id, _body().get("version")))


@bp.route("/approvals/<int:approval_id>/resubmit", methods=["POST"])
@api("approvals:write")
def resubmit_approval(approval_id: int):
    """Change a request returned for changes and send it again."""
    body = _body()
    values = body.get("values")
    if not isinstance(values, dict):
        return error(400, _("values must be an object of the template's fields."), field="values")
    return _act(lambda: svc.resubmit(g.tenant, g.person, approval_id, values, version=body.get("version"),
                                     extra_approvers=_people_list(body, "extra_approvers"), today=today_for(g.person)))


@bp.route("/approvals/<int:approval_id>/files/<int:attachment_id>")
@api("approvals:read")
def approval_file(approval_id: int, attachment_id: int):
    """Download a file given with a request the owner may see."""
    found = svc.attachment_of(g.tenant, g.person, approval_id, attachment_id)
    if found is None or found.blob_id is None:
        return error(404, _("No such file."))
    require(FILE_DOWNLOAD)   # the tenant's file policy may turn downloads off for the owner's role (403)
    try:
        data = read_blob(found.blob)
    except BlobError:
        return error(503, _("The file cannot be read now; try again later."))
    return Response(data, content_type=found.blob.content_type, headers={
        "Content-Disposition": attachments.content_disposition(found.name), "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store"})
