"""Switchboard pages for admins: duty people per department, the country code, trying a number, the routing log."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from app.contacts.models import Contact
from app.contacts.service import country_code, people_by_id, set_country_code
from app.org.models import Person
from app.org.service import OrgIndex
from app.pagination import paginate
from app.security.auth import admin_required
from app.switchboard import service
from app.validation import ValidationError

bp = Blueprint("switchboard", __name__, url_prefix="/switchboard")


def _page(error: ValidationError | None = None, decision: service.Decision | None = None):
    index = OrgIndex(g.tenant)
    duties = service.duty_people(g.tenant)
    people = g.scope.select(Person).where(Person.in_directory()).order_by(Person.display_name)
    departments = sorted(index.by_id.values(), key=lambda d: [p.name for p in index.path(d.id)])
    return render_template("switchboard/index.html", index=index, departments=departments, duties=duties,
                           people=list(people), on_duty=people_by_id(g.tenant, [d.person_id for d in duties.values()]),
                           country_code=country_code(g.tenant), error=error, decision=decision,
                           form=request.form if error or decision else {},
                           steps=[(s, service.step_text(s)) for s in decision.steps] if decision else [],
                           rule_names=service.RULE_NAMES), (400 if error else 200)


@bp.route("/")
@admin_required
def index():
    """Who is on duty for each department and for the whole company, and the country code of numbers."""
    return _page()


@bp.route("/duty", methods=["POST"])
@admin_required
def duty():
    """Set or clear the duty person of a department (or of the whole company)."""
    try:
        service.set_duty_person(g.tenant, g.person, request.form.get("department"), request.form.get("person"))
    except ValidationError as exc:
        return _page(exc)
    flash(_("The duty person is saved."), "success")
    return redirect(url_for("switchboard.index"))


@bp.route("/country-code", methods=["POST"])
@admin_required
def set_code():
    """Change the country code of numbers written without one; stored numbers are read again with it."""
    try:
        changed = set_country_code(g.tenant, request.form.get("country_code"))
    except ValidationError as exc:
        return _page(exc)
    flash(ngettext("The country code is saved; %(num)d stored number changed.",
                   "The country code is saved; %(num)d stored numbers changed.", changed), "success")
    return redirect(url_for("switchboard.index"))


@bp.route("/try", methods=["POST"])
@admin_required
def try_number():
    """Route a number as the telephone system would, to see who would take the call and why (it is logged)."""
    try:
        decision = service.route_call(g.tenant, request.form.get("number"), requested_by=g.person, origin="try")
    except ValidationError as exc:
        return _page(exc)
    return _page(decision=decision)


@bp.route("/log")
@admin_required
def log():
    """Every routing decision, newest first, with each rule's reason."""
    page = paginate(service.decisions(g.tenant), request.args.get("page"), per_page=50)
    people = people_by_id(g.tenant, [d.person_id for d in page.items])
    contacts = {c.id: c for c in g.scope.select(Contact).where(
        Contact.id.in_([d.contact_id for d in page.items if d.contact_id] or [0]))}
    rows = [(d, people.get(d.person_id), contacts.get(d.contact_id),
             [(s, service.step_text(s)) for s in service.decision_steps(d)]) for d in page.items]
    return render_template("switchboard/log.html", page=page, rows=rows, rule_names=service.RULE_NAMES)
