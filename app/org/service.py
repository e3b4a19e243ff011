"""Org chart operations: plain functions over a tenant and plain values."""
from __future__ import annotations

import functools
import operator
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Callable, Mapping

import peewee
from flask_babel import lazy_gettext as _l

from app.audit import acting_as, difference, record
from app.db import db, utcnow
from app.events import publish
from app.org.models import INTEGRATION, Department, Membership, Person, subtree
from app.search import person_search_key
from app.security.passwords import hash_password
from app.security.permissions import ADMIN, DEPT_ADMIN, MEMBER, ROLES
from app.tenancy.models import Tenant
from app.tenancy.scope import TenantScope, as_row_id
from app.validation import (ValidationError, check_new_password, clean_email, clean_login,
                            clean_mobile, clean_text)


@dataclass
class DeptNode:
    department: Department
    children: list["DeptNode"] = field(default_factory=list)
    member_count: int = 0


class OrgIndex:
    """One tenant's departments in memory: tree, paths and member counts from two queries.

    hidden: departments to leave out (the directory's view under a privacy policy); their sub-departments must be
    among them, so no path or tree shows a hidden department.
    """

    def __init__(self, tenant: Tenant, hidden: set[int] | frozenset[int] = frozenset()):
        self.by_id: dict[int, Department] = {
            d.id: d for d in TenantScope(tenant).select(Department).order_by(Department.sort_order, Department.name)
            if d.id not in hidden}
        counts = (TenantScope(tenant).select(Membership, Membership.department, peewee.fn.COUNT(Membership.id))
                  .join(Person).where(Person.is_active == True)  # noqa: E712
                  .group_by(Membership.department).tuples())
        self.member_counts = {dept_id: n for dept_id, n in counts}

    def path(self, dept_id: int | None) -> list[Department]:
        """Root-first chain of departments down to dept_id; stops on a broken or looping chain."""
        chain, seen = [], set()
        while dept_id is not None and dept_id in self.by_id and dept_id not in seen:
            seen.add(dept_id)
            dept = self.by_id[dept_id]
            chain.append(dept)
            dept_id = dept.parent_id
        return list(reversed(chain))

    def tree(self) -> list[DeptNode]:
        nodes = {i: DeptNode(d, member_count=self.member_counts.get(i, 0)) for i, d in self.by_id.items()}
        roots = []
        for i, dept in self.by_id.items():
            parent = nodes.get(dept.parent_id)
            (parent.children if parent else roots).append(nodes[i])
        return roots

    @functools.cached_property
    def children(self) -> dict[int | None, list[int]]:
        """parent id -> the ids of its sub-departments (None: the top ones), built once per index."""
        found: dict[int | None, list[int]] = {}
        for i, d in self.by_id.items():
            found.setdefault(d.parent_id, []).append(i)
        return found

    def subtree_ids(self, dept_id: int) -> set[int]:
        return subtree(self.children, [dept_id])


# --- audiences: what announcements and circle posts address -------------------

_AUDIENCE_ID = re.compile(r"[0-9]{1,12}")


def chosen_departments(tenant: Tenant, department_ids, allowed: set[int] | None = None) -> list[int]:
    """The departments someone picked as an audience (ids from a form or a JSON body), without repeats.

    ValidationError on the `departments` field for an empty choice, an id that is not one of the tenant's
    departments (a made-up, too large or foreign id), or one outside `allowed` when that is given.
    """
    if not isinstance(department_ids, (list, tuple)) or not department_ids:
        raise ValidationError("departments", _l("Choose at least one department, or everyone."))
    ids = []
    for raw in department_ids:
        is_id = isinstance(raw, int) or (isinstance(raw, str) and _AUDIENCE_ID.fullmatch(raw))
        number = as_row_id(raw) if is_id else None
        if number is None:   # not a number, or one no row can have (a JSON body's 10**30)
            raise ValidationError("departments", _l("Choose departments from the list."))
        ids.append(number)
    ids = list(dict.fromkeys(ids))
    found = {i for (i,) in TenantScope(tenant).select(Department, Department.id).where(Department.id.in_(ids)).tuples()}
    if len(found) != len(ids):
        raise ValidationError("departments", _l("Choose departments from the list."))
    if allowed is not None and not set(ids) <= allowed:
        raise ValidationError("departments",
                              _l("You can address only the departments you head and their sub-departments."))
    return ids


def departments_reaching(tenant: Tenant, person: Person, index: OrgIndex | None = None) -> set[int]:
    """The departments whose audience includes the person: those they sit in and every department above."""
    index = index or OrgIndex(tenant)
    mine = [d for (d,) in TenantScope(tenant).select(Membership, Membership.department)
            .where(Membership.person == person).tuples()]
    return {d.id for dept_id in mine for d in index.path(dept_id)}


def members_under(tenant: Tenant, department_ids, index: OrgIndex | None = None) -> peewee.ModelSelect:
    """The people sitting in the departments or below them, as a subquery of person ids."""
    reached = subtree((index or OrgIndex(tenant)).children, department_ids)
    return Membership.select(Membership.person).where(Membership.department.in_(list(reached) or [0]))


# --- departments --------------------------------------------------------------

def save_department(tenant: Tenant, dept: Department | None, form: Mapping[str, str], max_length: int = 200, *,
                    within: set[int] | None = None) -> Department:
    """Create (dept=None) or update a department from form values; ValidationError on the first problem.

    within: the departments a department admin manages; the department stays inside them (their top department
    keeps its place).
    """
    scope = TenantScope(tenant)
    name = clean_text(form.get("name"), "name", required=True, max_length=max_length)
    parent = None
    if form.get("parent_id"):
        parent = scope.get_or_none(Department, form["parent_id"])
        if parent is None:
            raise ValidationError("parent_id", _l("Choose a department from the list."))
        if dept is not None and parent.id in OrgIndex(tenant).subtree_ids(dept.id):
            raise ValidationError("parent_id", _l("A department cannot sit inside itself or its own sub-departments."))
    if within is not None:
        keeps_place = dept is not None and dept.id in within and (parent.id if parent else None) == dept.parent_id
        if not keeps_place and (parent is None or parent.id not in within):
            raise ValidationError("parent_id", _l("Choose a department you administer."))
    head = None
    if form.get("head_id"):
        head = scope.get_or_none(Person, form["head_id"])
        if head is None or not head.is_active:
            raise ValidationError("head_id", _l("Choose an active person from the list."))
    try:
        sort_order = int(form.get("sort_order") or 0)
    except ValueError:
        raise ValidationError("sort_order", _l("Enter a whole number.")) from None
    with db.atomic():
        creating = dept is None
        before = {} if creating else _department_facts(dept)
        if creating:
            dept = Department(tenant=tenant)
        dept.name, dept.parent, dept.head, dept.sort_order = name, parent, head, sort_order
        dept.save()
        _record_change("department", creating, dept, tenant, before, _department_facts(dept))
    return dept


def _department_facts(dept: Department) -> dict:
    return {"name": dept.name, "parent": dept.parent_id, "head": dept.head_id, "sort_order": dept.sort_order}


def _record_change(kind: str, creating: bool, row, tenant: Tenant, before: dict, after: dict) -> None:
    """Audit a create (every value) or an update (only what changed; nothing when nothing did)."""
    if creating:
        record(f"{kind}.create", target=row, tenant=tenant, changes={"after": after})
    elif before != after:
        record(f"{kind}.update", target=row, tenant=tenant, changes=difference(before, after))


def delete_department(dept: Department) -> None:
    """Remove an empty department; one with sub-departments or members is refused."""
    if Department.select().where(Department.parent == dept).exists():
        raise ValidationError("department", _l("Move or delete its sub-departments first."))
    if Membership.select().where(Membership.department == dept).exists():
        raise ValidationError("department", _l("Move its members to another department first."))
    if Person.select().where((Person.admin_department == dept) & (Person.role == DEPT_ADMIN)).exists():
        raise ValidationError("department", _l("A department admin administers it. Give them another department "
                                               "or role first."))
    with db.atomic():
        record("department.delete", target=dept, tenant=dept.tenant, changes={"before": _department_facts(dept)})
        dept.delete_instance()


# --- people -------------------------------------------------------------------

def save_person(tenant: Tenant, person: Person | None, form: Mapping, max_length: int = 200, *,
                may_set_roles: bool = True, within: set[int] | None = None) -> Person:
    """Create (person=None) or update a local person from form values; ValidationError on the first problem.

    may_set_roles=False keeps the role as it is (a new person is a member). within: the departments a department
    admin manages; the person's departments are chosen among them and their others are kept.
    """
    scope = TenantScope(tenant)
    creating = person is None
    login = clean_login(form.get("login")) if creating else person.login
    if creating and scope.select(Person).where(Person.login == login).exists():
        raise ValidationError("login", _l("This login name is already taken."))
    display_name = clean_text(form.get("display_name"), "display_name", required=True, max_length=max_length)
    email = clean_email(form.get("email"))
    if email and scope.select(Person).where((Person.email == email) & (Person.id != (person.id if person else 0))).exists():
        raise ValidationError("email", _l("Another person already uses this email address."))
    mobile = clean_mobile(form.get("mobile"))
    title = clean_text(form.get("title"), "title", max_length=max_length)
    employee_no = clean_text(form.get("employee_no"), "employee_no", max_length=64)
    role, admin_department = _clean_role(scope, person, form, may_set_roles)
    manager = None
    if form.get("manager_id"):
        manager = scope.get_or_none(Person, form["manager_id"])
        if manager is None or not manager.is_active:
            raise ValidationError("manager_id", _l("Choose an active person from the list."))
        if not creating and _manages_through(manager, person):
            raise ValidationError("manager_id", _l("That would make a loop in the manager chain."))
    dept_ids = form.getlist("department_ids") if hasattr(form, "getlist") else form.get("department_ids", [])
    departments = []
    for dept_id in dept_ids:
        dept = scope.get_or_none(Department, dept_id)
        if dept is None or (within is not None and dept.id not in within):
            raise ValidationError("department_ids", _l("Choose departments from the list."))
        if dept not in departments:
            departments.append(dept)
    if within is not None:
        if not departments:
            raise ValidationError("department_ids", _l("Choose at least one department you administer."))
        departments = _keep_outside(person, departments, within)
    password = form.get("password") or ""
    if creating and password:
        check_new_password(password)
    with db.atomic():
        before = {} if creating else _person_facts(person)
        if creating:
            person = Person(tenant=tenant, login=login, source="local")
        if password:
            person.password_hash = hash_password(password)
            person.must_change_password = bool(form.get("must_change_password"))
        person.display_name, person.email, person.mobile = display_name, email, mobile
        person.title, person.employee_no, person.role, person.manager = title, employee_no, role, manager
        person.admin_department = admin_department
        person.search_key = person_search_key(display_name, login, email, mobile, title)
        person.updated_at = utcnow()
        try:
            person.save()
        except peewee.IntegrityError:
            raise ValidationError("login", _l("This login name is already taken.")) from None
        set_departments(person, departments)
        after = _person_facts(person)
        if password:
            after["password"] = "set"   # recorded as redacted: the log says a password was set, never which
        _record_change("person", creating, person, tenant, before, after)
    return person


def _person_facts(person: Person) -> dict:
    """What the audit log compares before and after a change of a person (never the password)."""
    departments = [m.department_id for m in Membership.select(Membership.department_id)
                   .where(Membership.person == person).order_by(Membership.is_primary.desc(), Membership.id)]
    return {"login": person.login, "display_name": person.display_name, "email": person.email,
            "mobile": person.mobile, "title": person.title, "employee_no": person.employee_no, "role": person.role,
            "manager": person.manager_id, "departments": departments,
            "change_at_next_login": person.must_change_password}
def _clean_role(scope: TenantScope, person: Person | None, form: Mapping, may_set_roles: bool):
    """(role, administered department) from the form; the tenant keeps an active admin."""
    if not may_set_roles:
        if person is None:
            return MEMBER, None
        return person.role, (scope.get_or_none(Department, person.admin_department_id)
                             if person.admin_department_id else None)
    role = form.get("role") or MEMBER
    if role not in ROLES:
        raise ValidationError("role", _l("Choose a role from the list."))
    admin_department = None
    if role == DEPT_ADMIN:
        admin_department = scope.get_or_none(Department, form.get("admin_department_id"))
        if admin_department is None:
            raise ValidationError("admin_department_id", _l("Choose the department this person administers."))
    if person is not None and person.role == ADMIN and role != ADMIN:
        _check_not_last_admin(person)
    return role, admin_department


def _keep_outside(person: Person | None, chosen: list[Department], within: set[int]) -> list[Department]:
    """The chosen departments plus the person's departments a department admin cannot see, which stay as they are."""
    if person is None:
        return chosen
    memberships = list(Membership.select(Membership, Department).join(Department)
                       .where(Membership.person == person).order_by(Membership.is_primary.desc(), Membership.id))
    outside = [m.department for m in memberships if m.department_id not in within]
    if memberships and memberships[0].department_id not in within:
        return outside[:1] + chosen + outside[1:]   # their main department stays the main one
    return chosen + outside


def set_departments(person: Person, departments: list[Department]) -> None:
    """Make these the person's departments, the first one primary."""
    wanted = {d.id: i == 0 for i, d in enumerate(departments)}
    for m in Membership.select().where(Membership.person == person):
        if m.department_id not in wanted:
            m.delete_instance()
        elif m.is_primary != wanted.pop(m.department_id):
            m.is_primary = not m.is_primary
            m.save()
        else:
            wanted.pop(m.department_id, None)
    for dept_id, primary in wanted.items():
        Membership.create(tenant=person.tenant_id, person=person, department=dept_id, is_primary=primary)


def _manages_through(manager: Person, person: Person) -> bool:
    """True when person appears in manager's chain upwards (including manager itself)."""
    seen = set()
    current = manager
    while current is not None and current.id not in seen:
        if current.id == person.id:
            return True
        seen.add(current.id)
        current = Person.get_or_none(Person.id == current.manager_id) if current.manager_id else None
    return False


def _check_not_last_admin(person: Person) -> None:
    others = (Person.active(person.tenant).where((Person.role == ADMIN) & (Person.id != person.id)).exists())
    if not others:
        raise ValidationError("role", _l("The tenant must keep at least one active admin."))


_deactivation_listeners: list[Callable[[Tenant, list[int]], None]] = []


def on_deactivation(listener: Callable[[Tenant, list[int]], None]):
    """Register a function called with (tenant, person ids) inside the transaction that deactivates people,
    whether an admin or the directory sync does it (features hand over what the people leave behind)."""
    _deactivation_listeners.append(listener)
    return listener


def announce_deactivations(tenant: Tenant, person_ids: list[int]) -> None:
    """Tell the registered features that these people were deactivated; the caller holds the transaction."""
    for listener in _deactivation_listeners:
        listener(tenant, person_ids)


def deactivate_person(person: Person, by: str = "admin") -> None:
    """Stop a person from logging in, ending their open sessions at once; their data stays."""
    if person.role == ADMIN:
        _check_not_last_admin(person)
    before = {"is_active": person.is_active, "deactivated_by": person.deactivated_by}
    person.is_active = False
    person.deactivated_by = by
    person.session_epoch += 1
    person.updated_at = utcnow()
    with db.atomic():
        person.save()
        publish(person.tenant_id, "session_revoked", {}, person=person)  # live streams close at once
        record("person.deactivate", target=person, tenant=person.tenant,
               changes=difference(before, {"is_active": False, "deactivated_by": by}))
        announce_deactivations(person.tenant, [person.id])


def reactivate_person(person: Person) -> None:
    """Let a deactivated person log in again."""
    before = {"is_active": person.is_active, "deactivated_by": person.deactivated_by}
    person.is_active = True
    person.deactivated_by = None
    person.updated_at = utcnow()
    with db.atomic():
        person.save()
        record("person.reactivate", target=person, tenant=person.tenant,
               changes=difference(before, {"is_active": True, "deactivated_by": None}))


def set_password(person: Person, password: str, *, must_change: bool = False) -> None:
    """Set a new password (checked), ending other sessions of the person."""
    check_new_password(password)
    person.password_hash = hash_password(password)
    person.must_change_password = must_change
    person.session_epoch += 1
    person.updated_at = utcnow()
    with db.atomic():
        person.save()
        # One's own change, or someone else's reset (an admin's page, or `atrium user reset-password`).
        record("password.change" if acting_as(person) else "person.password_reset", target=person,
               tenant=person.tenant, changes={"password": "set", "change_at_next_login": must_change})


def search_people(tenant: Tenant, query: str | None, *, include_inactive: bool = False, only=None, privacy=None):
    """People of the tenant whose name, login, email, mobile or title contains the query (no integrations).

    only: a further condition on the people (a department admin's reach). privacy: the viewer's ContactPrivacy;
    a contact field it hides finds only the people whose field the viewer may see, so a search cannot probe for a
    hidden number or address.
    """
    scope = TenantScope(tenant)
    rows = scope.select(Person).where(Person.source != INTEGRATION)
    if not include_inactive:
        rows = rows.where(Person.is_active == True)  # noqa: E712
    if only is not None:
        rows = rows.where(only)
    # No name or title holds a control or format character (clean_text refuses them), and PostgreSQL
    # refuses a NUL in a query outright: such characters are dropped from the query.
    q = "".join(ch for ch in (query or "") if unicodedata.category(ch) not in ("Cc", "Cf")).strip()
    if q:
        # contains() is case-insensitive on both databases (LIKE on SQLite, ILIKE on PostgreSQL). The search
        # key holds the name's pinyin and initials, so "zhangwei", "zhang wei" and "zw" find 张伟.
        private = [f for f in ("email", "mobile") if privacy is not None and f in privacy.fields]
        key = Person.search_key
        for name in private:   # the key holds the contact fields too: match it without the hidden ones
            key = peewee.fn.REPLACE(key, peewee.fn.COALESCE(peewee.fn.LOWER(getattr(Person, name)), ""), "")
        condition = (key.contains(q) | Person.display_name.contains(q) | Person.login.contains(q)
                     | Person.title.contains(q))
        for name in ("email", "mobile"):
            if name not in private:
                condition |= getattr(Person, name).contains(q)
        if private:
            hidden_match = functools.reduce(operator.or_, [getattr(Person, n).contains(q) for n in private])
            condition |= hidden_match & privacy.visible_people()
        rows = rows.where(condition)
    return rows.order_by(Person.display_name, Person.id)


def people_in_department(tenant: Tenant, dept: Department):
    return (TenantScope(tenant).select(Person).join(Membership, on=(Membership.person == Person.id))
            .where((Membership.department == dept) & (Person.is_active == True))  # noqa: E712
            .order_by(Person.display_name))


def primary_department_ids(tenant: Tenant, person_ids: list[int]) -> dict[int, int]:
    """person id -> primary department id, for a page of people in one query."""
    if not person_ids:
        return {}
    rows = (TenantScope(tenant).select(Membership, Membership.person, Membership.department)
            .where(Membership.person.in_(person_ids)).order_by(Membership.is_primary.desc()).tuples())
    found: dict[int, int] = {}
    for pid, did in rows:
        found.setdefault(pid, did)
    return found
