"""Applying a SyncPlan with set-based statements: inserts in batches, updates from VALUES lists.

The caller holds the transaction; nothing here commits.
"""
from __future__ import annotations

from typing import Iterable, Sequence

from app.db import db, utcnow
from app.events import publish
from app.org.ldap.models import DirectoryEntry
from app.org.ldap.plan import Existing, SyncPlan
from app.org.models import Department, Membership, Person
from app.org.service import announce_deactivations
from app.search import person_search_key
from app.tenancy.models import Tenant
from app.tenancy.scope import TenantScope

BATCH = 400


def _chunks(rows: Sequence, size: int = BATCH) -> Iterable[Sequence]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def bulk_set(table: str, columns: Sequence[tuple[str, str]], rows: Sequence[tuple], **constants) -> None:
    """UPDATE table SET column = value for many rows by id, a few hundred rows per statement.

    rows are (id, value, ...) in the order of `columns` ((name, SQL type) pairs); the CASTs
    keep PostgreSQL from guessing a column's type from NULLs. Works on SQLite 3.33+ too.
    """
    if not rows:
        return
    param = db.param
    names = ", ".join(name for name, _type in columns)
    sets = [f"{name} = CAST(v.{name} AS {sql_type})" for name, sql_type in columns]
    sets += [f"{name} = {param}" for name in constants]
    row_sql = "(" + ", ".join([param] * (len(columns) + 1)) + ")"
    for chunk in _chunks(rows):
        sql = (f"WITH v (id, {names}) AS (VALUES {', '.join([row_sql] * len(chunk))}) "
               f"UPDATE {table} SET {', '.join(sets)} FROM v WHERE {table}.id = v.id")
        params = [value for row in chunk for value in row] + list(constants.values())
        db.execute_sql(sql, params)


def _insert(model, fields, rows: list[tuple]) -> None:
    """INSERT many rows with plain parameters: peewee's per-value conversion costs seconds at 100,000 rows."""
    if not rows:
        return
    param = db.param
    columns = ", ".join(f.column_name for f in fields)
    row_sql = "(" + ", ".join([param] * len(fields)) + ")"
    for chunk in _chunks(rows):
        db.execute_sql(f"INSERT INTO {model._meta.table_name} ({columns}) VALUES {', '.join([row_sql] * len(chunk))}",
                       [value for row in chunk for value in row])


def apply_plan(tenant: Tenant, plan: SyncPlan, existing: Existing) -> None:
    """Make the plan's changes; the caller wraps this in one transaction."""
    now = utcnow()
    stamp = Person.created_at.db_value(now)  # the stored form of a timestamp on this database
    scope = TenantScope(tenant)

    # Departments first (without heads, which may be people created below).
    _insert(Department, [Department.tenant, Department.name, Department.sort_order, Department.source,
                         Department.external_id, Department.created_at],
            [(tenant.id, d.name, d.order, "directory", d.key, stamp) for d in plan.dept_creates])
    dept_id = {ext: did for ext, did in scope.select(Department, Department.external_id, Department.id)
               .where(Department.source == "directory").tuples()}
    placed = [(dept_id[d.key], d.name, dept_id.get(d.parent) if d.parent else None, d.order)
              for d in plan.dept_creates if d.parent]
    placed += [(did, d.name, dept_id.get(d.parent) if d.parent else None, d.order) for did, d, _c in plan.dept_updates]
    bulk_set("department", [("name", "VARCHAR(200)"), ("parent_id", "INTEGER"), ("sort_order", "INTEGER")], placed)

    # People: a login that moves between two people is parked first so the unique index never sees a clash.
    renamed = [(u.person_id, f"~sync-{u.person_id}") for u in plan.updates if "login" in u.changes]
    bulk_set("person", [("login", "VARCHAR(128)")], renamed)
    _insert(Person, [Person.tenant, Person.login, Person.display_name, Person.email, Person.mobile, Person.title,
                     Person.employee_no, Person.source, Person.external_id, Person.is_active, Person.role,
                     Person.created_at, Person.updated_at, Person.search_key],
            [(tenant.id, p.login, p.name, p.email, p.mobile, p.title, p.employee_no, "directory", p.ext, True,
              "member", stamp, stamp, person_search_key(p.name, p.login, p.email, p.mobile, p.title))
             for p in plan.creates])
    person_id = {ext: pid for pid, ext in existing.ext_by_id.items()}
    if plan.creates:
        person_id.update(scope.select(Person, Person.external_id, Person.id)
                         .where(Person.source == "directory").tuples())
    changed = [u for u in plan.updates if set(u.changes) & {"login", "display_name", "email", "mobile", "title",
                                                             "employee_no"}]
    bulk_set("person", [("login", "VARCHAR(128)"), ("display_name", "VARCHAR(200)"), ("email", "VARCHAR(254)"),
                        ("mobile", "VARCHAR(40)"), ("title", "VARCHAR(200)"), ("employee_no", "VARCHAR(64)"),
                        ("search_key", "VARCHAR(400)")],
             [(u.person_id, u.person.login, u.person.name, u.person.email, u.person.mobile, u.person.title,
               u.person.employee_no, person_search_key(u.person.name, u.person.login, u.person.email,
                                                       u.person.mobile, u.person.title))
              for u in changed], updated_at=now)
    bulk_set("person", [("manager_id", "INTEGER")],
             [(person_id[ext], person_id.get(target) if target else None) for ext, target in plan.managers.items()])
    for chunk in _chunks([pid for pid, *_rest in plan.deactivations]):
        # As deactivate_person does: sessions end at once through the epoch, live streams through the event.
        Person.update(is_active=False, deactivated_by="directory", session_epoch=Person.session_epoch + 1,
                      updated_at=now).where((Person.tenant == tenant) & Person.id.in_(list(chunk))).execute()
        for pid in chunk:
            publish(tenant, "session_revoked", {}, person=pid)
    if plan.deactivations:
        announce_deactivations(tenant, [pid for pid, *_rest in plan.deactivations])
    for chunk in _chunks([pid for pid, *_rest in plan.reactivations]):
        Person.update(is_active=True, deactivated_by=None, updated_at=now).where(
            (Person.tenant == tenant) & Person.id.in_(list(chunk))).execute()

    # Directory facts of each person.
    new_entries, entry_updates = [], []
    for ext, person in plan.entries.items():
        pid = person_id[ext]
        entry = existing.entries.get(pid)
        if entry is None:
            new_entries.append((tenant.id, pid, person.dn, person.photo_sha256, person.photo_size))
        else:
            entry_updates.append((entry[0], person.dn, person.photo_sha256, person.photo_size))
    _insert(DirectoryEntry, [DirectoryEntry.tenant, DirectoryEntry.person, DirectoryEntry.dn,
                             DirectoryEntry.photo_sha256, DirectoryEntry.photo_size], new_entries)
    bulk_set("directory_entry", [("dn", "VARCHAR(1024)"), ("photo_sha256", "VARCHAR(64)"), ("photo_size", "INTEGER")],
             entry_updates)

    _apply_memberships(tenant, plan, existing, person_id, dept_id)

    bulk_set("department", [("head_id", "INTEGER")],
             [(dept_id[key], person_id.get(target) if target else None) for key, target in plan.heads.items()])
    depth = {}
    for did, _name in plan.dept_removals:
        level, current = 0, did
        while current is not None and level < 1000:
            current = existing.dept_parent.get(current)
            level += 1
        depth[did] = level
    for did, _name in sorted(plan.dept_removals, key=lambda item: -depth[item[0]]):
        Department.delete().where((Department.tenant == tenant) & (Department.id == did)).execute()


def _apply_memberships(tenant: Tenant, plan: SyncPlan, existing: Existing, person_id: dict, dept_id: dict) -> None:
    removed, added, make_primary, make_secondary = [], [], [], []
    gone = {did for did, _name in plan.dept_removals}
    for ext, (want, limit) in plan.memberships.items():
        pid = person_id[ext]
        current = existing.memberships.get(pid, {})
        wanted = {dept_id[key]: i == 0 and limit is None for i, key in enumerate(want)}
        for did, (mid, primary) in current.items():
            in_scope = limit is None or existing.dept_ext_by_id[did] in limit
            if not in_scope:
                continue
            if did not in wanted:
                if did not in gone:
                    removed.append(mid)
            elif limit is None and primary != wanted[did]:
                (make_primary if wanted[did] else make_secondary).append(mid)
        for did, primary in wanted.items():
            if did not in current:
                added.append((tenant.id, pid, did, primary))
    for chunk in _chunks(removed):
        Membership.delete().where((Membership.tenant == tenant) & Membership.id.in_(list(chunk))).execute()
    for ids, value in ((make_primary, True), (make_secondary, False)):
        for chunk in _chunks(ids):
            Membership.update(is_primary=value).where((Membership.tenant == tenant) & Membership.id.in_(list(chunk))).execute()
    _insert(Membership, [Membership.tenant, Membership.person, Membership.department, Membership.is_primary], added)
