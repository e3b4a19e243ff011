"""The admin area for people and departments."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.org.models import ROLES, Department, Membership, Person
from app.org.service import (OrgIndex, deactivate_person, delete_department, reactivate_person, save_department,
                             save_person, search_people, set_password)
from app.pagination import paginate
from app.security.auth import admin_required
from app.security.passwords import generate_one_time_password
from app.validation import ValidationError

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _max_length() -> int:
    return current_app.config["ATRIUM"].max_field_length


@bp.route("/")
@admin_required
def index():
    """The admin area starts at the people list."""
    return redirect(url_for("admin.people"))


@bp.route("/people")
@admin_required
def people():
    """Every person of the tenant, deactivated ones included."""
    q = (request.args.get("q") or "").strip()[:100]
    page = paginate(search_people(g.tenant, q, include_inactive=True), request.args.get("page"), per_page=50)
    return render_template("admin/people.html", page=page, q=q)


@bp.route("/people/new", methods=["GET", "POST"])
@admin_required
def person_new():
    """Create a local account."""
    return _person_form(None)


@bp.route("/people/<int:person_id>", methods=["GET", "POST"])
@admin_required
def person_edit(person_id: int):
    """Edit a person."""
    return _person_form(g.scope.get_or_404(Person, person_id))


def _person_form(person: Person | None):
    error = None
    form = request.form if request.method == "POST" else None
    if request.method == "POST":
        try:
            saved = save_person(g.tenant, person, request.form, max_length=_max_length())
        except ValidationError as exc:
            error = exc
        else:
            flash(_("Saved %(name)s.", name=saved.display_name), "success")
            return redirect(url_for("admin.person_edit", person_id=saved.id))
    index = OrgIndex(g.tenant)
    chosen = ([int(i) for i in request.form.getlist("department_ids") if i.isdigit()] if form else
              [m.department_id for m in g.scope.select(Membership).where(Membership.person == person)
               .order_by(Membership.is_primary.desc())] if person else [])
    managers = g.scope.select(Person).where(Person.in_directory()).order_by(Person.display_name)
    return render_template("admin/person_form.html", person=person, form=form, error=error, roles=ROLES,
                           index=index, chosen=chosen, managers=managers), (400 if error else 200)


@bp.route("/people/<int:person_id>/deactivate", methods=["POST"])
@admin_required
def person_deactivate(person_id: int):
    """Deactivate a person: they cannot log in and their sessions end now."""
    person = g.scope.get_or_404(Person, person_id)
    try:
        deactivate_person(person, by="admin")
    except ValidationError as exc:
        flash(str(exc.message), "error")
    else:
        flash(_("%(name)s is deactivated.", name=person.display_name), "success")
    return redirect(url_for("admin.person_edit", person_id=person.id))


@bp.route("/people/<int:person_id>/reactivate", methods=["POST"])
@admin_required
def person_reactivate(person_id: int):
    """Let a deactivated person log in again."""
    person = g.scope.get_or_404(Person, person_id)
    reactivate_person(person)
    flash(_("%(name)s is active again.", name=person.display_name), "success")
    return redirect(url_for("admin.person_edit", person_id=person.id))


@bp.route("/people/<int:person_id>/reset-password", methods=["POST"])
@admin_required
def person_reset_password(person_id: int):
    """Give a local account a one-time password, shown once on this page."""
    person = g.scope.get_or_404(Person, person_id)
    if person.source != "local":
        flash(_("This person logs in with the directory password."), "error")
        return redirect(url_for("admin.person_edit", person_id=person.id))
    password = generate_one_time_password()
    set_password(person, password, must_change=True)
    return render_template("admin/one_time_password.html", person=person, password=password)


@bp.route("/departments")
@admin_required
def departments():
    """The department tree."""
    index = OrgIndex(g.tenant)
    return render_template("admin/departments.html", tree=index.tree())


@bp.route("/departments/new", methods=["GET", "POST"])
@admin_required
def department_new():
    """Create a department."""
    return _department_form(None)


@bp.route("/departments/<int:dept_id>", methods=["GET", "POST"])
@admin_required
def department_edit(dept_id: int):
    """Edit or move a department."""
    return _department_form(g.scope.get_or_404(Department, dept_id))


def _department_form(dept: Department | None):
    error = None
    if request.method == "POST":
        try:
            saved = save_department(g.tenant, dept, request.form, max_length=_max_length())
        except ValidationError as exc:
            error = exc
        else:
            flash(_("Saved %(name)s.", name=saved.name), "success")
            return redirect(url_for("admin.departments"))
    index = OrgIndex(g.tenant)
    people = g.scope.select(Person).where(Person.in_directory()).order_by(Person.display_name)
    excluded = index.subtree_ids(dept.id) if dept else set()
    return render_template("admin/department_form.html", dept=dept, error=error, index=index, people=people,
                           excluded=excluded, form=request.form if request.method == "POST" else None), (400 if error else 200)


@bp.route("/departments/<int:dept_id>/delete", methods=["POST"])
@admin_required
def department_delete(dept_id: int):
    """Delete an empty department."""
    dept = g.scope.get_or_404(Department, dept_id)
    try:
        delete_department(dept)
    except ValidationError as exc:
        flash(str(exc.message), "error")
        return redirect(url_for("admin.department_edit", dept_id=dept.id))
    flash(_("Deleted %(name)s.", name=dept.name), "success")
    return redirect(url_for("admin.departments"))
