"""The admin area for people and departments: tenant admins see all of it, department admins their subtree."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.org.models import Department, Membership, Person
from app.org.service import (OrgIndex, deactivate_person, delete_department, reactivate_person, save_department,
                             save_person, search_people, set_password)
from app.pagination import paginate
from app.security import throttle
from app.security.passwords import generate_one_time_password
from app.security.permissions import (ADMIN_CONSOLE, DEPARTMENTS_MANAGE, PEOPLE_MANAGE, ROLE_LABELS, ROLES,
                                      ROLES_MANAGE, Refused, allowed, department_scope, manageable_people,
                                      permission_required, require)
from app.validation import ValidationError

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _max_length() -> int:
    return current_app.config["ATRIUM"].max_field_length


@bp.route("/")
@permission_required(ADMIN_CONSOLE)
def index():
    """The admin area starts at the people list (an auditor's at the audit log)."""
    if not allowed(g.person, PEOPLE_MANAGE):
        return redirect(url_for("audit.index"))
    return redirect(url_for("admin.people"))


@bp.route("/people")
@permission_required(PEOPLE_MANAGE)
def people():
    """Every person the admin manages, deactivated ones included."""
    q = (request.args.get("q") or "").strip()[:100]
    rows = search_people(g.tenant, q, include_inactive=True, only=manageable_people(g.person))
    page = paginate(rows, request.args.get("page"), per_page=50)
    return render_template("admin/people.html", page=page, q=q, role_labels=ROLE_LABELS)


def _person_or_refuse(person_id: int) -> Person:
    """Another tenant's id is a 404; a person outside a department admin's subtree is a 403."""
    person = g.scope.get_or_404(Person, person_id)
    require(PEOPLE_MANAGE, person)
    return person


@bp.route("/people/new", methods=["GET", "POST"])
@permission_required(PEOPLE_MANAGE)
def person_new():
    """Create a local account."""
    return _person_form(None)


@bp.route("/people/<int:person_id>", methods=["GET", "POST"])
@permission_required(PEOPLE_MANAGE)
def person_edit(person_id: int):
    """Edit a person."""
    return _person_form(_person_or_refuse(person_id))


def _person_form(person: Person | None):
    error = None
    form = request.form if request.method == "POST" else None
    within = department_scope(g.person, PEOPLE_MANAGE)
    may_set_roles = allowed(g.person, ROLES_MANAGE)
    if request.method == "POST":
        try:
            saved = save_person(g.tenant, person, request.form, max_length=_max_length(),
                                may_set_roles=may_set_roles, within=within)
        except ValidationError as exc:
            error = exc
        else:
            flash(_("Saved %(name)s.", name=saved.display_name), "success")
            return redirect(url_for("admin.person_edit", person_id=saved.id))
    index = OrgIndex(g.tenant)
    chosen = ([int(i) for i in request.form.getlist("department_ids") if i.isdigit()] if form else
              [m.department_id for m in g.scope.select(Membership).where(Membership.person == person)
               .order_by(Membership.is_primary.desc())] if person else [])
    choices = [d for d in index.by_id.values() if within is None or d.id in within]
    managers = g.scope.select(Person).where(Person.in_directory()).order_by(Person.display_name)
    return render_template("admin/person_form.html", person=person, form=form, error=error, roles=ROLES,
                           role_labels=ROLE_LABELS, may_set_roles=may_set_roles, index=index, chosen=chosen,
                           department_choices=choices, managers=managers), (400 if error else 200)


@bp.route("/people/<int:person_id>/deactivate", methods=["POST"])
@permission_required(PEOPLE_MANAGE)
def person_deactivate(person_id: int):
    """Deactivate a person: they cannot log in and their sessions end now."""
    person = _person_or_refuse(person_id)
    try:
        deactivate_person(person, by="admin")
    except ValidationError as exc:
        flash(str(exc.message), "error")
    else:
        flash(_("%(name)s is deactivated.", name=person.display_name), "success")
    return redirect(url_for("admin.person_edit", person_id=person.id))


@bp.route("/people/<int:person_id>/reactivate", methods=["POST"])
@permission_required(PEOPLE_MANAGE)
def person_reactivate(person_id: int):
    """Let a deactivated person log in again."""
    person = _person_or_refuse(person_id)
    reactivate_person(person)
    flash(_("%(name)s is active again.", name=person.display_name), "success")
    return redirect(url_for("admin.person_edit", person_id=person.id))


@bp.route("/people/<int:person_id>/unlock", methods=["POST"])
@permission_required(PEOPLE_MANAGE)
def person_unlock(person_id: int):
    """Unlock an account locked out after failed logins."""
    person = _person_or_refuse(person_id)
    throttle.unlock(person)
    flash(_("%(name)s can log in again.", name=person.display_name), "success")
    return redirect(url_for("admin.person_edit", person_id=person.id))


@bp.route("/people/<int:person_id>/reset-password", methods=["POST"])
@permission_required(PEOPLE_MANAGE)
def person_reset_password(person_id: int):
    """Give a local account a one-time password, shown once on this page."""
    person = _person_or_refuse(person_id)
    if person.source != "local":
        flash(_("This person logs in with the directory password."), "error")
        return redirect(url_for("admin.person_edit", person_id=person.id))
    password = generate_one_time_password()
    set_password(person, password, must_change=True)
    return render_template("admin/one_time_password.html", person=person, password=password)


@bp.route("/departments")
@permission_required(DEPARTMENTS_MANAGE)
def departments():
    """The department tree (a department admin's own subtree)."""
    index = OrgIndex(g.tenant)
    tree = index.tree()
    within = department_scope(g.person, DEPARTMENTS_MANAGE)
    if within is not None:
        tree = [node for node in _nodes(tree) if node.department.id == g.person.admin_department_id]
    return render_template("admin/departments.html", tree=tree)


def _nodes(roots):
    for node in roots:
        yield node
        yield from _nodes(node.children)


def _department_or_refuse(dept_id: int) -> Department:
    dept = g.scope.get_or_404(Department, dept_id)
    require(DEPARTMENTS_MANAGE, dept)
    return dept


@bp.route("/departments/new", methods=["GET", "POST"])
@permission_required(DEPARTMENTS_MANAGE)
def department_new():
    """Create a department."""
    return _department_form(None)


@bp.route("/departments/<int:dept_id>", methods=["GET", "POST"])
@permission_required(DEPARTMENTS_MANAGE)
def department_edit(dept_id: int):
    """Edit or move a department."""
    return _department_form(_department_or_refuse(dept_id))


def _department_form(dept: Department | None):
    error = None
    within = department_scope(g.person, DEPARTMENTS_MANAGE)
    if request.method == "POST":
        try:
            saved = save_department(g.tenant, dept, request.form, max_length=_max_length(), within=within)
        except ValidationError as exc:
            error = exc
        else:
            flash(_("Saved %(name)s.", name=saved.name), "success")
            return redirect(url_for("admin.departments"))
    index = OrgIndex(g.tenant)
    people = g.scope.select(Person).where(Person.in_directory()).order_by(Person.display_name)
    excluded = index.subtree_ids(dept.id) if dept else set()
    parents = [d for d in index.by_id.values() if d.id not in excluded and (within is None or d.id in within)]
    if dept is not None and within is not None and dept.parent_id and dept.parent_id not in within:
        parents.insert(0, index.by_id[dept.parent_id])   # a department admin's top department keeps its place
    return render_template("admin/department_form.html", dept=dept, error=error, index=index, people=people,
                           parents=parents, top_level=within is None,
                           form=request.form if request.method == "POST" else None), (400 if error else 200)


@bp.route("/departments/<int:dept_id>/delete", methods=["POST"])
@permission_required(DEPARTMENTS_MANAGE)
def department_delete(dept_id: int):
    """Delete an empty department (a department admin cannot delete the department they administer)."""
    dept = _department_or_refuse(dept_id)
    if department_scope(g.person, DEPARTMENTS_MANAGE) is not None and dept.id == g.person.admin_department_id:
        raise Refused(_("You cannot delete the department you administer; a tenant admin can."))
    try:
        delete_department(dept)
    except ValidationError as exc:
        flash(str(exc.message), "error")
        return redirect(url_for("admin.department_edit", dept_id=dept.id))
    flash(_("Deleted %(name)s.", name=dept.name), "success")
    return redirect(url_for("admin.departments"))
