"""Approval pages: my boxes (to do, mine, decided, copied), making a request, one request and deciding it, templates."""
from __future__ import annotations

import datetime

from flask import (Blueprint, Response, abort, current_app, flash, g, jsonify, redirect, render_template, request,
                   url_for)
from flask_babel import format_currency, format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from app import navigation
from app.approvals import forms
from app.approvals import service as svc
from app.approvals.models import Approval
from app.chat import attachments
from app.events import latest_id
from app.org.models import Person
from app.org.status import person_zone
from app.pagination import paginate
from app.residency.blobs import BlobError, read_blob
from app.security.auth import admin_required, login_required
from app.security.permissions import FILE_DOWNLOAD, require
from app.validation import ValidationError

bp = Blueprint("approvals", __name__, url_prefix="/approvals")
navigation.register("approvals", "approvals.index", _l("Approvals"))

STATUS_LABELS = {"pending": _l("In progress"), "approved": _l("Approved"), "rejected": _l("Rejected"),
                 "returned": _l("Returned for changes"), "withdrawn": _l("Withdrawn")}
STEP_LABELS = {"waiting": _l("Not yet"), "pending": _l("Deciding now"), "approved": _l("Approved"),
               "rejected": _l("Rejected"), "returned": _l("Returned for changes"), "cancelled": _l("Not needed")}
BOX_LABELS = {"todo": _l("To do"), "mine": _l("My requests"), "done": _l("Decided by me"),
              "copied": _l("Copied to me")}
ROUTE_MODE_LABELS = {"manager": _l("The applicant's managers, up the chart"),
                     "department_head": _l("The heads of the applicant's departments, upwards")}


def today_for(person: Person) -> datetime.date:
    """Today on the person's clock: the day a correction or leave is measured from."""
    zone = person_zone(person, current_app.config["ATRIUM"].default_timezone)
    return datetime.datetime.now(zone).date()


@bp.app_template_global("approval_summary")
def summary(approval: Approval) -> str:
    """One line saying what a request is about, in the reader's language."""
    fields, answers = svc.answers_of(approval)
    by_key = {f["key"]: f for f in fields}
    if approval.kind == "leave" and approval.starts_on:
        days = (approval.ends_on - approval.starts_on).days + 1
        kind = forms.option_label(by_key.get("leave_type", {"core": True}), answers.get("leave_type", ""))
        return "{} · {} – {} · {}".format(kind, format_date(approval.starts_on), format_date(approval.ends_on),
                                          ngettext("%(num)d day", "%(num)d days", days))
    if approval.kind == "expense" and approval.amount_minor is not None:
        amount = format_currency(forms.format_amount(approval.amount_minor, approval.currency), approval.currency)
        return "{} · {}".format(amount, (answers.get("purpose") or "")[:80])
    if approval.kind == "attendance_correction" and answers.get("day"):
        punch = forms.option_label({"core": True}, answers.get("punch", ""))
        return "{} · {} {}".format(punch, format_date(datetime.date.fromisoformat(answers["day"])),
                                   answers.get("time", ""))
    return approval.title or ""


@bp.app_template_global("approval_kind_name")
def kind_name(kind: str) -> str:
    return str(forms.KIND_NAMES.get(kind, kind))


@bp.app_template_global("approval_field_label")
def field_label(field: dict) -> str:
    return forms.field_label(field)


@bp.app_template_global("approval_option_label")
def option_label(field: dict, value: str) -> str:
    return forms.option_label(field, value)


@bp.app_template_global("approval_role_label")
def role_label(role: str, level: int = 1) -> str:
    """Why someone is on a route: which manager, a department head, an extra approver, or an admin standing in."""
    if role == "manager":
        return _("direct manager") if level == 1 else _("manager, level %(n)d", n=level)
    if role == "department_head":
        return _("department head") if level == 1 else _("department head, level %(n)d", n=level)
    if role == "extra":
        return _("extra approver")
    return _("tenant admin")


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _people():
    return (g.scope.select(Person).where(Person.in_directory() & (Person.id != g.person.id))
            .order_by(Person.display_name, Person.id))


@bp.route("/")
@login_required
def index():
    """My approvals: what waits for my decision, my own requests, what I decided, what I am copied on."""
    box = request.args.get("box") or "todo"
    if box not in svc.BOXES:
        box = "todo"
    status = request.args.get("status") or None
    if status not in STATUS_LABELS:
        status = None
    since = latest_id()
    page = paginate(svc.listing(g.tenant, g.person, box, status), request.args.get("page"), per_page=30)
    return render_template("approvals/index.html", page=page, box=box, status=status, boxes=BOX_LABELS,
                           statuses=STATUS_LABELS, todo=svc.todo_count(g.tenant, g.person),
                           templates=svc.available_templates(g.tenant), template_name=svc.template_name,
                           last_event_id=since)


def _uploads(field: str = "attachments") -> list[attachments.Upload]:
    limit = current_app.config["ATRIUM_CHAT_RULES"].max_attachment_bytes
    found = []
    for upload in request.files.getlist(field):
        checked = attachments.check_upload(upload, limit, field)
        if checked is not None:
            found.append(checked)
    return found


@bp.route("/new/<kind>", methods=["GET", "POST"])
@login_required
def new(kind: str):
    """Fill in a request of one kind; the route it will take is shown before it is sent."""
    template = svc.template_for(g.tenant, kind)
    if template is None or not svc.offered(g.tenant, template):
        abort(404)
    error, form = None, request.form if request.method == "POST" else request.args
    if request.method == "POST":
        try:
            approval = svc.submit(g.tenant, g.person, kind, form, files=_uploads(),
                                  copied=form.getlist("copied"), extra_approvers=form.getlist("extra_approvers"),
                                  submit_key=form.get("submit_key"), today=today_for(g.person))
        except ValidationError as exc:
            error = exc
        except BlobError:
            error = ValidationError("attachments", _("The files could not be stored. Nothing was sent; try again "
                                                     "later."))
        else:
            flash(_("Your request is sent."), "success")
            return redirect(url_for("approvals.show", approval_id=approval.id), 303)
    try:
        route = svc.plan_route(g.tenant, template, g.person)
    except ValidationError:
        route = []
    return render_template("approvals/new.html", template=template, name=svc.template_name(template),
                           fields=svc.fields_of(template), form=form, error=error, route=route,
                           people=_people(), submit_key=form.get("submit_key") or svc.new_submit_key(),
                           chosen_copied=set(form.getlist("copied")), chosen_extra=set(form.getlist("extra_approvers")),
                           currencies=forms.CURRENCIES, default_currency=forms.DEFAULT_CURRENCY,
                           max_files=forms.MAX_ATTACHMENTS), (400 if error else 200)


def _approval_or_404(approval_id: int) -> Approval:
    found = svc.approval_for(g.tenant, g.person, approval_id)
    if found is None:
        abort(404)   # another person's, another tenant's, or no such request: all look the same
    return found


def _show(approval: Approval, error: ValidationError | None = None, status: int = 200):
    since = latest_id()
    fields, answers = svc.answers_of(approval)
    step = svc.pending_step(approval)
    applicant = g.scope.get_or_404(Person, approval.applicant_id)
    return render_template(
        "approvals/show.html", approval=approval, applicant=applicant, fields=fields, answers=answers,
        route=svc.route_of(approval), history=svc.history(approval), copies=svc.copies_of(approval),
        files=svc.attachments_of(approval), my_turn=step is not None and step.approver_id == g.person.id,
        mine=approval.applicant_id == g.person.id, error=error, statuses=STATUS_LABELS, steps=STEP_LABELS,
        reason=request.form.get("reason", "") if error else "", last_event_id=since), status


@bp.route("/<int:approval_id>")
@login_required
def show(approval_id: int):
    """One request: where it stands, who decides and who decided, its history, and the actions open to me."""
    return _show(_approval_or_404(approval_id))


def _act(approval_id: int, action):
    """Run a decision or withdrawal; a stale form or a second click changes nothing and says so."""
    try:
        approval = action()
    except LookupError:
        abort(404)
    except PermissionError:
        abort(403)
    except svc.StaleAction:
        message = _("This request changed since you opened it, so nothing was done. Here is where it stands now.")
        if _wants_json():
            return jsonify(error=message), 409
        flash(message, "error")
        return redirect(url_for("approvals.show", approval_id=approval_id), 303)
    except ValidationError as exc:
        if _wants_json():
            return jsonify(error=str(exc.message), field=exc.field), 400
        return _show(_approval_or_404(approval_id), exc, 400)
    if _wants_json():
        return jsonify(svc.update_payload(approval))
    flash(_("Done: the request is now: %(status)s.", status=STATUS_LABELS[approval.status]), "success")
    return redirect(url_for("approvals.show", approval_id=approval_id), 303)


@bp.route("/<int:approval_id>/approve", methods=["POST"])
@login_required
def approve(approval_id: int):
    """Approve a request whose turn is mine, with an optional comment."""
    form = request.form
    return _act(approval_id, lambda: svc.approve(g.tenant, g.person, approval_id, form.get("version"),
                                                 form.get("reason")))


@bp.route("/<int:approval_id>/reject", methods=["POST"])
@login_required
def reject(approval_id: int):
    """Reject a request whose turn is mine; the reason is required."""
    form = request.form
    return _act(approval_id, lambda: svc.reject(g.tenant, g.person, approval_id, form.get("version"),
                                                form.get("reason")))


@bp.route("/<int:approval_id>/return", methods=["POST"])
@login_required
def send_back(approval_id: int):
    """Return a request to its applicant for changes; the reason is required."""
    form = request.form
    return _act(approval_id, lambda: svc.return_for_changes(g.tenant, g.person, approval_id, form.get("version"),
                                                            form.get("reason")))


@bp.route("/<int:approval_id>/withdraw", methods=["POST"])
@login_required
def withdraw(approval_id: int):
    """Withdraw my own request while it is still open."""
    return _act(approval_id, lambda: svc.withdraw(g.tenant, g.person, approval_id, request.form.get("version")))


@bp.route("/<int:approval_id>/edit", methods=["GET", "POST"])
@login_required
def edit(approval_id: int):
    """Change my request that was returned for changes, and send it again."""
    approval = _approval_or_404(approval_id)
    if approval.applicant_id != g.person.id:
        abort(403)
    if approval.status != "returned":
        flash(_("Only a request returned for changes can be changed."), "error")
        return redirect(url_for("approvals.show", approval_id=approval.id), 303)
    template = svc.template_for(g.tenant, approval.kind)
    error = None
    if request.method == "POST":
        form = request.form
        try:
            svc.resubmit(g.tenant, g.person, approval.id, form, version=form.get("version"), files=_uploads(),
                         remove_attachments=form.getlist("remove_attachments"),
                         extra_approvers=form.getlist("extra_approvers"), today=today_for(g.person))
        except svc.StaleAction:
            flash(_("This request changed since you opened it, so nothing was done. Here is where it stands now."),
                  "error")
            return redirect(url_for("approvals.show", approval_id=approval.id), 303)
        except ValidationError as exc:
            error = exc
        except BlobError:
            error = ValidationError("attachments", _("The files could not be stored. Nothing was sent; try again "
                                                     "later."))
        else:
            flash(_("Your request is sent again."), "success")
            return redirect(url_for("approvals.show", approval_id=approval.id), 303)
    else:
        _fields, form = svc.answers_of(approval)
    return render_template("approvals/new.html", template=template, name=svc.template_name(template),
                           fields=svc.fields_of(template), form=form, error=error,
                           route=svc.plan_route(g.tenant, template, g.person), people=_people(), approval=approval,
                           files=svc.attachments_of(approval), submit_key="", chosen_copied=set(),
                           chosen_extra=set(request.form.getlist("extra_approvers")), currencies=forms.CURRENCIES,
                           default_currency=forms.DEFAULT_CURRENCY, max_files=forms.MAX_ATTACHMENTS
                           ), (400 if error else 200)


@bp.route("/<int:approval_id>/files/<int:attachment_id>")
@login_required
def attachment(approval_id: int, attachment_id: int):
    """Download a file of a request I may see."""
    found = svc.attachment_of(g.tenant, g.person, approval_id, attachment_id)
    if found is None or found.blob_id is None:
        abort(404)
    require(FILE_DOWNLOAD)   # the tenant's file policy may turn downloads off for the person's role
    try:
        blob = found.blob
        data = read_blob(blob)
    except BlobError:
        abort(503)
    return Response(data, content_type=blob.content_type, headers={
        "Content-Disposition": attachments.content_disposition(found.name),
        "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store"})


# --- the admins' templates ------------------------------------------------------------------

@bp.route("/templates")
@admin_required
def templates():
    """Every kind of request the tenant offers, with its route (admins)."""
    return render_template("approvals/templates.html", templates=svc.templates_of(g.tenant),
                           template_name=svc.template_name, modes=ROUTE_MODE_LABELS)


@bp.route("/templates/<kind>", methods=["GET", "POST"])
@admin_required
def template_edit(kind: str):
    """Change a template's name, extra fields and route (admins); requests already made keep their fields."""
    template = svc.template_for(g.tenant, kind)
    if template is None:
        abort(404)
    error = None
    if request.method == "POST":
        try:
            svc.save_template(g.tenant, template, request.form)
        except ValidationError as exc:
            error = exc
            template = svc.template_for(g.tenant, kind)
        else:
            flash(_("The template is saved."), "success")
            return redirect(url_for("approvals.template_edit", kind=kind), 303)
    people = g.scope.select(Person).where(Person.in_directory()).order_by(Person.display_name, Person.id)
    form = request.form if error else None
    rows = _editor_rows(form, svc.custom_fields(template))
    return render_template("approvals/template_edit.html", template=template, name=svc.template_name(template),
                           core=forms.CORE_FIELDS[kind], rows=rows, form=form, error=error, people=people,
                           modes=ROUTE_MODE_LABELS, types=forms.TYPE_NAMES, max_depth=svc.MAX_DEPTH,
                           extra=set(map(str, svc.extra_approvers_of(template))),
                           copied=set(map(str, svc.copied_of(template)))), (400 if error else 200)


def _editor_rows(form, custom: list[dict]) -> list[dict]:
    """The extra-field editor's rows: what was posted (after an error), else the saved fields; two empty rows to add."""
    if form is not None:
        try:
            count = min(int(form.get("field_rows") or 0), forms.MAX_CUSTOM_FIELDS + 5)
        except ValueError:
            count = 0
        return [{"key": form.get(f"f{i}_key", ""), "label": form.get(f"f{i}_label", ""),
                 "type": form.get(f"f{i}_type", "text"), "required": bool(form.get(f"f{i}_required")),
                 "options": form.get(f"f{i}_options", ""), "remove": bool(form.get(f"f{i}_remove"))}
                for i in range(max(count, 0))]
    rows = [{"key": f["key"], "label": f["label"], "type": f["type"], "required": f["required"],
             "options": "\n".join(f.get("options") or []), "remove": False} for f in custom]
    blanks = max(0, min(2, forms.MAX_CUSTOM_FIELDS - len(rows)))
    return rows + [{"key": "", "label": "", "type": "text", "required": False, "options": "", "remove": False}
                   for _i in range(blanks)]
