"""What employees see of the org chart: home, the people directory, person and department pages."""
from __future__ import annotations

from flask import Blueprint, Response, abort, g, render_template, request
from flask_babel import lazy_gettext as _l

from app import navigation

from app.org.ldap.photos import photo_blob
from app.org.models import Department, Membership, Person
from app.org.service import OrgIndex, people_in_department, primary_department_ids, search_people
from app.pagination import paginate
from app.residency.blobs import BlobError, read_blob
from app.security.auth import login_required
from app.security.permissions import DEPARTMENT_SEE, allowed, contact_privacy, directory_index
from app.tasks.service import overdue_for

bp = Blueprint("org", __name__)
navigation.register("home", "org.home", _l("Home"))
navigation.register("people", "org.people", _l("People"))


@bp.route("/")
@login_required
def home():
    """The person's own profile, what waits for them, their overdue tasks and the department tree."""
    index = directory_index(g.tenant)
    overdue_tasks, overdue_count = overdue_for(g.tenant, g.person)
    return render_template("home.html", person=g.person, index=index, tree=index.tree(),
                           departments=_departments_of(g.person, index), photo=photo_blob(g.tenant, g.person.id),
                           todos=navigation.todos(g.tenant, g.person),
                           overdue_tasks=overdue_tasks, overdue_count=overdue_count)


@bp.route("/people")
@login_required
def people():
    """The people directory with search."""
    q = (request.args.get("q") or "").strip()[:100]
    page = paginate(search_people(g.tenant, q, privacy=contact_privacy(g.person)), request.args.get("page"),
                    per_page=50)
    index = directory_index(g.tenant)
    primary = primary_department_ids(g.tenant, [p.id for p in page.items])
    return render_template("people.html", page=page, q=q, index=index, primary=primary)


@bp.route("/people/<int:person_id>")
@login_required
def person(person_id: int):
    """A person's card: title, department path, manager, contact."""
    shown = g.scope.get_or_404(Person, person_id)
    index = directory_index(g.tenant)
    reports = g.scope.select(Person).where((Person.manager == shown) & (Person.is_active == True)).order_by(Person.display_name)  # noqa: E712
    manager = g.scope.get_or_none(Person, shown.manager_id) if shown.manager_id else None
    return render_template("person.html", shown=shown, manager=manager, reports=list(reports),
                           departments=_departments_of(shown, index), index=index,
                           hidden=contact_privacy(g.person).hidden_for(shown), photo=photo_blob(g.tenant, shown.id))


@bp.route("/people/<int:person_id>/photo")
@login_required
def person_photo(person_id: int):
    """A person's directory photo, served as the image it was checked to be and as nothing else."""
    shown = g.scope.get_or_404(Person, person_id)
    blob = photo_blob(g.tenant, shown.id)
    if blob is None:
        abort(404)
    try:
        data = read_blob(blob)
    except BlobError:
        abort(503)
    return Response(data, mimetype=blob.content_type, headers={
        "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=3600"})


@bp.route("/departments/<int:dept_id>")
@login_required
def department(dept_id: int):
    """A department: its path, head, sub-departments and members."""
    dept = g.scope.get_or_404(Department, dept_id)
    if not allowed(g.person, DEPARTMENT_SEE, dept):
        abort(404)   # hidden from the directory by the privacy policy: as if it did not exist
    index = directory_index(g.tenant)
    head = g.scope.get_or_none(Person, dept.head_id) if dept.head_id else None
    children = [d for d in index.by_id.values() if d.parent_id == dept.id]
    page = paginate(people_in_department(g.tenant, dept), request.args.get("page"), per_page=50)
    return render_template("department.html", dept=dept, head=head, children=children,
                           path=index.path(dept.id), page=page, index=index)


def _departments_of(person: Person, index: OrgIndex) -> list[list[Department]]:
    """The department paths of a person, primary first (departments the index leaves out are not shown)."""
    rows = (g.scope.select(Membership).where(Membership.person == person)
            .order_by(Membership.is_primary.desc(), Membership.id))
    return [path for path in (index.path(m.department_id) for m in rows) if path]
