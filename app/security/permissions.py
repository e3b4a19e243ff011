"""Who may do what: the roles, the named actions, and the one check that views and API routes call.

Every permission question in the product is `allowed(person, action, target)`;
a view asks `require(...)` (403 when refused) or wears `permission_required(...)`.
Tenant policies that decide what a role may see or do (contact privacy, hidden
departments, downloads) are judged here too, so no view carries its own rule:
contact_privacy() says which contact fields a viewer sees of whom, and
directory_index() is the department tree the directory may show.

The org models take the role names from this module, so it imports them only
inside the functions that need them.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from flask import g
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import Forbidden

ADMIN = "admin"              # the tenant's admins: everything in the tenant
DEPT_ADMIN = "dept_admin"    # people and departments inside one department's subtree
AUDITOR = "auditor"          # reads the audit log, changes nothing
MEMBER = "member"
ROLES = (MEMBER, DEPT_ADMIN, AUDITOR, ADMIN)
ROLE_LABELS = {MEMBER: _l("Member"), DEPT_ADMIN: _l("Department admin"), AUDITOR: _l("Auditor"),
               ADMIN: _l("Tenant admin")}
# "At or above a role" for privacy rules.
ROLE_RANK = {MEMBER: 0, AUDITOR: 1, DEPT_ADMIN: 2, ADMIN: 3}

TENANT_MANAGE = "tenant.manage"            # settings, branding, directory, residency, policies, integrations
PEOPLE_MANAGE = "people.manage"            # target: a Person (None: the people pages at all)
DEPARTMENTS_MANAGE = "departments.manage"  # target: a Department (None: the department pages at all)
ROLES_MANAGE = "roles.manage"              # give and take roles
ADMIN_CONSOLE = "admin.console"            # the admin area's entry in the navigation
ANNOUNCE_PUBLISH = "announce.publish"      # target: a Department (None: to anyone at all)
ANNOUNCE_STATS = "announce.stats"          # target: an Announcement
AUDIT_READ = "audit.read"
DEPARTMENT_SEE = "department.see"          # target: a Department; in the directory under the privacy policy
FILE_DOWNLOAD = "files.download"           # attachments, under the file policy

# The pages behind these actions are admin pages: an IP allow-list "for admins" guards them.
ADMIN_ACTIONS = frozenset({TENANT_MANAGE, PEOPLE_MANAGE, DEPARTMENTS_MANAGE, ROLES_MANAGE, ADMIN_CONSOLE,
                           AUDIT_READ})


class Refused(Forbidden):
    """403 with a message for the person (the error page shows it)."""

    def __init__(self, message=None):
        super().__init__()
        self.public_message = message


def role_label(role: str):
    return ROLE_LABELS.get(role, role)


def is_staff(person) -> bool:
    """Anyone with a role above member (their logins and pages fall under an allow-list for admins)."""
    return person is not None and person.role != MEMBER


# --- scopes -----------------------------------------------------------------------------

def _cached(person, key, compute):
    """A value computed once per loaded person (a request's g.person lives for one request)."""
    cache = person.__dict__.setdefault("_permission_cache", {})
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def department_scope(person, action: str) -> set[int] | None:
    """The departments where the person may do action: None for everywhere, else a set of ids (maybe empty)."""
    if person is None:
        return set()
    if person.role == ADMIN:
        return None
    if action in (PEOPLE_MANAGE, DEPARTMENTS_MANAGE, ADMIN_CONSOLE):
        if person.role != DEPT_ADMIN or not person.admin_department_id:
            return set()
        return _cached(person, "admin_subtree", lambda: _subtree_union(person.tenant_id, [person.admin_department_id]))
    if action == ANNOUNCE_PUBLISH:
        return _cached(person, "headed_subtrees", lambda: _headed_subtrees(person))
    raise ValueError(f"{action!r} has no department scope")


def _subtree_union(tenant_id: int, roots) -> set[int]:
    from app.org.models import Department, subtree

    children: dict[int | None, list[int]] = {}
    for dept_id, parent_id in (Department.select(Department.id, Department.parent)
                               .where(Department.tenant == tenant_id).tuples()):
        children.setdefault(parent_id, []).append(dept_id)
    known = {d for ids in children.values() for d in ids}
    return subtree(children, [r for r in roots if r in known])


def _headed_subtrees(person) -> set[int]:
    from app.org.models import Department

    headed = [d for (d,) in Department.select(Department.id).where(
        (Department.tenant == person.tenant_id) & (Department.head == person.id)).tuples()]
    return _subtree_union(person.tenant_id, headed) if headed else set()


def manageable_people(person):
    """A condition on Person rows the person may manage in the admin pages; None when there is no limit."""
    from app.org.models import Membership, Person

    scope = department_scope(person, PEOPLE_MANAGE)
    if scope is None:
        return None
    ids = sorted(scope)
    administers = (Person.role == DEPT_ADMIN) & Person.admin_department.in_(ids)
    placed = Person.id.in_(Membership.select(Membership.person).where(Membership.department.in_(ids)))
    return ((Person.role == MEMBER) & placed) | administers


def _may_manage_person(person, target) -> bool:
    scope = department_scope(person, PEOPLE_MANAGE)
    if scope is None:
        return True
    if not scope:
        return False
    if target is None:
        return True
    if target.tenant_id != person.tenant_id:
        return False
    if target.role == DEPT_ADMIN:
        return target.admin_department_id in scope   # a sub-department's own admin, or oneself
    if target.role != MEMBER:
        return False                                 # tenant admins and auditors are above a department admin
    from app.org.models import Membership

    return Membership.select().where((Membership.person == target.id)
                                     & Membership.department.in_(sorted(scope))).exists()


def _in_scope(person, action, target) -> bool:
    scope = department_scope(person, action)
    if scope is None:
        return True
    if target is None:
        return bool(scope)
    return target.tenant_id == person.tenant_id and target.id in scope


# --- policies ---------------------------------------------------------------------------

def _policy(person):
    from app.security.policy import policy_for

    return policy_for(person.tenant)


@dataclass(frozen=True)
class ContactPrivacy:
    """Which contact fields one viewer sees of other people, under the tenant's privacy policy."""

    viewer_id: int
    fields: frozenset[str]                  # hidden from this viewer unless an exception below applies
    colleague_departments: frozenset[int] | None   # the viewer's departments whose members stay visible; None: no such exception

    def hidden_for(self, person, department_ids=None) -> frozenset[str]:
        """The contact fields of person this viewer may not see (department_ids: the person's, when known)."""
        if not self.fields or person.id == self.viewer_id:
            return frozenset()
        if self.colleague_departments:
            if department_ids is None:
                from app.org.models import Membership

                department_ids = {d for (d,) in Membership.select(Membership.department)
                                  .where(Membership.person == person.id).tuples()}
            if self.colleague_departments & set(department_ids):
                return frozenset()
        return self.fields

    def hidden_map(self, people) -> dict[int, frozenset[str]]:
        """person id -> hidden fields, for a page of people in one query."""
        people = list(people)
        if not self.fields:
            return {p.id: frozenset() for p in people}
        departments: dict[int, set[int]] = {p.id: set() for p in people}
        if self.colleague_departments and people:
            from app.org.models import Membership

            for pid, did in (Membership.select(Membership.person, Membership.department)
                             .where(Membership.person.in_(list(departments))).tuples()):
                departments[pid].add(did)
        return {p.id: self.hidden_for(p, departments[p.id]) for p in people}

    def visible_people(self):
        """A condition on Person rows whose hidden fields this viewer may still see (search matches them)."""
        from app.org.models import Membership, Person

        condition = Person.id == self.viewer_id
        if self.colleague_departments:
            condition |= Person.id.in_(Membership.select(Membership.person)
                                       .where(Membership.department.in_(sorted(self.colleague_departments))))
        return condition


def contact_privacy(viewer) -> ContactPrivacy:
    """The viewer's view of contact fields: what the policy hides, and the exceptions the viewer falls under."""
    def build():
        rules = _policy(viewer).privacy
        fields = frozenset(rules.hide_contacts)
        if ROLE_RANK.get(viewer.role, 0) >= ROLE_RANK.get(rules.contacts_role, len(ROLE_RANK)):
            fields = frozenset()
        colleagues = None
        if fields and rules.contacts_department:
            from app.org.models import Membership

            colleagues = frozenset(d for (d,) in Membership.select(Membership.department)
                                   .where(Membership.person == viewer.id).tuples())
        return ContactPrivacy(viewer.id, fields, colleagues)

    return _cached(viewer, "contact_privacy", build)


def hidden_department_ids(tenant) -> set[int]:
    """Departments the directory does not show: those the privacy policy hides, with their sub-departments."""
    from app.security.policy import policy_for

    chosen = policy_for(tenant).privacy.hidden_departments
    return _subtree_union(tenant.id, chosen) if chosen else set()


def directory_index(tenant):
    """The department tree as the directory shows it (hidden departments left out)."""
    from app.org.service import OrgIndex

    return OrgIndex(tenant, hidden=hidden_department_ids(tenant))


# --- the check --------------------------------------------------------------------------

def _role_is(*roles):
    return lambda person, target: person.role in roles


def _announce_stats(person, announcement) -> bool:
    return person.role == ADMIN or (announcement is not None and announcement.author_id == person.id)


def _department_see(person, target) -> bool:
    return target is not None and target.id not in hidden_department_ids(person.tenant)


def _download(person, target) -> bool:
    return person.role not in _policy(person).files.no_download_roles


_CHECKS = {
    TENANT_MANAGE: _role_is(ADMIN),
    ROLES_MANAGE: _role_is(ADMIN),
    AUDIT_READ: _role_is(ADMIN, AUDITOR),
    PEOPLE_MANAGE: _may_manage_person,
    DEPARTMENTS_MANAGE: lambda person, target: _in_scope(person, DEPARTMENTS_MANAGE, target),
    ADMIN_CONSOLE: lambda person, target: person.role == AUDITOR or _in_scope(person, ADMIN_CONSOLE, None),
    ANNOUNCE_PUBLISH: lambda person, target: _in_scope(person, ANNOUNCE_PUBLISH, target),
    ANNOUNCE_STATS: _announce_stats,
    DEPARTMENT_SEE: _department_see,
    FILE_DOWNLOAD: _download,
}
_REFUSALS = {
    FILE_DOWNLOAD: _l("Downloading files is turned off for your role in this organisation."),
}


def allowed(person, action: str, target=None) -> bool:
    """May this person do action (to target)? An unknown action is a programming error, not a no."""
    check = _CHECKS.get(action)
    if check is None:
        raise ValueError(f"unknown action {action!r}")
    if person is None or not person.is_active:
        return False
    return bool(check(person, target))


def require(action: str, target=None) -> None:
    """Refuse the request (403) unless the logged-in person may do action; admin pages also obey the allow-list."""
    person = g.get("person")
    if not allowed(person, action, target):
        raise Refused(_REFUSALS.get(action))
    if action in ADMIN_ACTIONS:
        from app.security.auth import check_admin_address

        check_admin_address()


def permission_required(action: str):
    """A view decorator: log in first, then require(action)."""
    from app.security.auth import login_required

    def decorate(view):
        @functools.wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            require(action)
            return view(*args, **kwargs)

        return wrapped

    return decorate


def can(action: str, target=None) -> bool:
    """allowed() for the logged-in person; templates call it to show only what may be used."""
    return allowed(g.get("person"), action, target)
