"""The diff between a directory snapshot and a tenant's org chart: a SyncPlan that can be shown, checked or applied.

Existing rows are loaded once as tuples into dicts keyed by stable id, and each
person is compared as plain values, so a plan over 100,000 people costs a few
queries, not one per person.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from app.db import db
from app.org.ldap.dn import normalize_dn
from app.org.ldap.models import DirectoryEntry
from app.org.ldap.read import DesiredDepartment, DesiredPerson, Problem, Snapshot
from app.org.models import Department, Membership, Person
from app.tenancy.models import Tenant
from app.tenancy.scope import TenantScope

PLAN_LINE_LIMIT = 200

# Person columns the directory owns, in the order DesiredPerson carries them.
OWNED_FIELDS = ("login", "display_name", "email", "mobile", "title", "employee_no")


@dataclass
class Existing:
    """The tenant's org chart as it stands, in the shape the diff needs."""

    # ext -> (id, login, display_name, email, mobile, title, employee_no, manager_id, is_active, deactivated_by)
    people: dict[str, tuple] = field(default_factory=dict)
    ext_by_id: dict[int, str] = field(default_factory=dict)
    login_by_id: dict[int, str] = field(default_factory=dict)
    login_owner: dict[str, tuple[int, str, str | None]] = field(default_factory=dict)
    email_owner: dict[str, int] = field(default_factory=dict)
    active_admins: set[int] = field(default_factory=set)
    entries: dict[int, tuple[int, str, str | None, int | None]] = field(default_factory=dict)
    ext_by_ndn: dict[str, str] = field(default_factory=dict)
    memberships: dict[int, dict[int, tuple[int, bool]]] = field(default_factory=dict)
    # ext -> (id, name, parent_id, sort_order, head_id)
    departments: dict[str, tuple] = field(default_factory=dict)
    dept_ext_by_id: dict[int, str] = field(default_factory=dict)
    dept_parent: dict[int, int | None] = field(default_factory=dict)
    depts_with_local_ties: set[int] = field(default_factory=set)
    active_directory: int = 0


def _rows(query) -> list[tuple]:
    """A query's rows as the driver returns them, without peewee's per-value conversion (seconds at 100,000)."""
    sql, params = query.sql()
    return db.execute_sql(sql, params).fetchall()


def load_existing(tenant: Tenant) -> Existing:
    """The tenant's people, directory facts, departments and memberships, in a handful of queries."""
    scope = TenantScope(tenant)
    found = Existing()
    local_ids = set()
    rows = _rows(scope.select(Person, Person.id, Person.external_id, Person.source, Person.login,
                              Person.display_name, Person.email, Person.mobile, Person.title, Person.employee_no,
                              Person.manager, Person.is_active, Person.deactivated_by, Person.role))
    for (pid, ext, source, login, name, email, mobile, title, employee_no, manager_id, active, deactivated_by,
         role) in rows:
        found.login_owner[login] = (pid, source, ext)
        found.login_by_id[pid] = login
        if email:
            found.email_owner.setdefault(email, pid)
        if role == "admin" and active:
            found.active_admins.add(pid)
        if source == "directory" and ext:
            found.people[ext] = (pid, login, name, email, mobile, title, employee_no, manager_id, bool(active),
                                 deactivated_by)
            found.ext_by_id[pid] = ext
            found.active_directory += bool(active)
        else:
            local_ids.add(pid)
    for entry_id, pid, dn, sha, size in _rows(scope.select(DirectoryEntry, DirectoryEntry.id, DirectoryEntry.person,
                                                           DirectoryEntry.dn, DirectoryEntry.photo_sha256,
                                                           DirectoryEntry.photo_size)):
        found.entries[pid] = (entry_id, dn, sha, size)
        ext = found.ext_by_id.get(pid)
        if ext is not None:
            found.ext_by_ndn[normalize_dn(dn)] = ext
    local_depts = set()
    for did, ext, source, name, parent_id, order, head_id in _rows(scope.select(
            Department, Department.id, Department.external_id, Department.source, Department.name,
            Department.parent, Department.sort_order, Department.head)):
        found.dept_parent[did] = parent_id
        if source == "directory" and ext:
            found.departments[ext] = (did, name, parent_id, order, head_id)
            found.dept_ext_by_id[did] = ext
        else:
            local_depts.add(did)
    for did, parent_id in found.dept_parent.items():
        if did in local_depts and parent_id in found.dept_ext_by_id:
            found.depts_with_local_ties.add(parent_id)
    for mid, pid, did, primary in _rows(scope.select(Membership, Membership.id, Membership.person,
                                                     Membership.department, Membership.is_primary)):
        if did not in found.dept_ext_by_id:
            continue
        if pid in local_ids:
            found.depts_with_local_ties.add(did)
        else:
            found.memberships.setdefault(pid, {})[did] = (mid, bool(primary))
    return found


@dataclass
class PersonUpdate:
    person_id: int
    person: DesiredPerson
    changes: dict[str, tuple]


@dataclass
class SyncPlan:
    """What a sync would do: shown as a preview, checked by the guard, then applied in one transaction."""

    kind: str
    entries_read: int = 0
    creates: list[DesiredPerson] = field(default_factory=list)
    updates: list[PersonUpdate] = field(default_factory=list)
    moves: list[dict] = field(default_factory=list)
    deactivations: list[tuple[int, str, str, str]] = field(default_factory=list)   # id, login, dn, reason
    reactivations: list[tuple[int, str, str]] = field(default_factory=list)        # id, login, dn
    dept_creates: list[DesiredDepartment] = field(default_factory=list)
    dept_updates: list[tuple[int, DesiredDepartment, dict]] = field(default_factory=list)
    dept_removals: list[tuple[int, str]] = field(default_factory=list)             # id, name
    problems: list[Problem] = field(default_factory=list)
    # What apply needs beyond the lists above.
    managers: dict[str, str | None] = field(default_factory=dict)
    memberships: dict[str, tuple[tuple[str, ...], frozenset | None]] = field(default_factory=dict)
    entries: dict[str, DesiredPerson] = field(default_factory=dict)
    heads: dict[str, str | None] = field(default_factory=dict)
    departments: dict[str, DesiredDepartment] = field(default_factory=dict)
    unchanged: int = 0
    disabled_new: int = 0
    mark: str | None = None

    def counts(self) -> dict[str, int]:
        """How many of each kind of change, for the run record and the summary line."""
        return {"read": self.entries_read, "created": len(self.creates), "updated": len(self.updates),
                "moved": len(self.moves), "deactivated": len(self.deactivations),
                "reactivated": len(self.reactivations), "unchanged": self.unchanged,
                "skipped_disabled": self.disabled_new, "departments_created": len(self.dept_creates),
                "departments_updated": len(self.dept_updates), "departments_removed": len(self.dept_removals),
                "problems": len(self.problems)}

    def is_empty(self) -> bool:
        return not (self.creates or self.updates or self.moves or self.deactivations or self.reactivations
                    or self.dept_creates or self.dept_updates or self.dept_removals or self.managers
                    or self.memberships or self.entries or self.heads)

    def summary(self, limit: int = PLAN_LINE_LIMIT) -> dict[str, list[dict]]:
        """The first `limit` lines of each kind of change, as plain values for JSON and templates."""
        return {
            "creates": [{"login": p.login, "name": p.name, "dn": p.dn} for p in self.creates[:limit]],
            "updates": [{"login": u.person.login, "dn": u.person.dn,
                         "changes": {k: [v[0], v[1]] for k, v in u.changes.items()}} for u in self.updates[:limit]],
            "moves": self.moves[:limit],
            "deactivations": [{"login": login, "dn": dn, "reason": reason}
                              for _id, login, dn, reason in self.deactivations[:limit]],
            "reactivations": [{"login": login, "dn": dn} for _id, login, dn in self.reactivations[:limit]],
            "departments": ([{"action": "create", "name": d.name, "dn": d.dn} for d in self.dept_creates[:limit]]
                            + [{"action": "update", "name": d.name, "dn": d.dn, "changes": changes}
                               for _id, d, changes in self.dept_updates[:limit]]
                            + [{"action": "remove", "name": name, "dn": ""} for _id, name in self.dept_removals[:limit]]
                            )[:limit],
        }


class _Planner:
    def __init__(self, snapshot: Snapshot, existing: Existing, full: bool):
        self.snap = snapshot
        self.old = existing
        self.full = full
        self.plan = SyncPlan(kind=snapshot.kind, entries_read=snapshot.entries_read, problems=list(snapshot.problems),
                             mark=snapshot.mark, departments=snapshot.departments)
        self.update_of: dict[int, PersonUpdate] = {}

    def problem(self, dn: str, code: str, **args) -> None:
        self.plan.problems.append(Problem(dn, code, args))

    def valid_people(self) -> dict[str, DesiredPerson]:
        """Entries whose login can be theirs in Atrium; emails another person keeps are left out."""
        old, people = self.old, self.snap.people
        valid = {}
        for ext, person in sorted(people.items(), key=lambda item: item[1].ndn):
            owner = old.login_owner.get(person.login)
            if owner is not None and owner[2] != ext:
                if owner[1] != "directory":
                    self.problem(person.dn, "local_login", value=person.login)
                    continue
                other = people.get(owner[2])
                if other is None or other.login == person.login:
                    self.problem(person.dn, "login_taken", value=person.login)
                    continue
            if person.email:
                holder = old.email_owner.get(person.email)
                mine = old.people.get(ext)
                if holder is not None and (mine is None or holder != mine[0]):
                    holder_ext = old.ext_by_id.get(holder)
                    moving_away = holder_ext in people and people[holder_ext].email != person.email
                    if not moving_away:
                        self.problem(person.dn, "duplicate_email", value=person.email)
                        person.email = None
            valid[ext] = person
        return valid

    def departments(self) -> None:
        depts, old, plan = self.snap.departments, self.old, self.plan
        for key, dept in depts.items():
            if dept.parent is not None and dept.parent not in depts:
                dept.parent = None
        # A loop can only come from nested groups; cut it at its first member by DN.
        for key in sorted(depts):
            path, seen, current = [], set(), key
            while current is not None and current not in seen:
                seen.add(current)
                path.append(current)
                current = depts[current].parent
            if current is not None and current in path:
                cycle = path[path.index(current):]
                cut = min(cycle, key=lambda k: depts[k].dn.lower())
                self.problem(depts[cut].dn, "department_loop")
                depts[cut].parent = None
        for key, dept in depts.items():
            row = old.departments.get(key)
            if row is None:
                plan.dept_creates.append(dept)
                continue
            did, name, parent_id, order, _head = row
            changes = {}
            if name != dept.name:
                changes["name"] = [name, dept.name]
            if old.dept_ext_by_id.get(parent_id) != dept.parent or (parent_id is not None and dept.parent is None):
                changes["parent"] = [self._dept_name(parent_id), self._dept_name_key(dept.parent)]
            if order != dept.order:
                changes["sort_order"] = [order, dept.order]
            if changes:
                plan.dept_updates.append((did, dept, changes))
        if self.full:
            for key, row in old.departments.items():
                if key in depts:
                    continue
                if row[0] in old.depts_with_local_ties:
                    self.problem(row[1], "department_kept")
                else:
                    plan.dept_removals.append((row[0], row[1]))

    def _dept_name(self, dept_id: int | None) -> str | None:
        ext = self.old.dept_ext_by_id.get(dept_id)
        row = self.old.departments.get(ext) if ext else None
        return row[1] if row else (None if dept_id is None else str(dept_id))

    def _dept_name_key(self, key: str | None) -> str | None:
        return self.snap.departments[key].name if key else None

    def people(self, valid: dict[str, DesiredPerson]) -> dict[str, DesiredPerson]:
        """Creates, field updates, moves, (re)activations; returns who will exist after the apply."""
        old, plan = self.old, self.plan
        staying = {}
        for ext, person in valid.items():
            row = old.people.get(ext)
            if row is None:
                if person.disabled:
                    plan.disabled_new += 1
                    continue
                plan.creates.append(person)
                plan.entries[ext] = person
                staying[ext] = person
                continue
            staying[ext] = person
            pid = row[0]
            changes = {}
            for i, (name, new) in enumerate(zip(OWNED_FIELDS, (person.login, person.name, person.email, person.mobile,
                                                                person.title, person.employee_no)), 1):
                if row[i] != new:
                    changes[name] = (row[i], new)
            entry = old.entries.get(pid)
            if entry is None or (entry[2], entry[3]) != (person.photo_sha256, person.photo_size):
                if entry is not None or person.photo_sha256:
                    changes["photo"] = ((entry[2] or "")[:12] if entry else "", (person.photo_sha256 or "")[:12])
                plan.entries[ext] = person
            if entry is None or entry[1] != person.dn:
                plan.entries[ext] = person
                plan.moves.append({"login": person.login, "from": entry[1] if entry else "", "to": person.dn})
            if changes:
                self.update_of[pid] = PersonUpdate(pid, person, changes)
                plan.updates.append(self.update_of[pid])
            active, deactivated_by = row[8], row[9]
            if person.disabled and active:
                plan.deactivations.append((pid, person.login, person.dn, "disabled"))
            elif not person.disabled and not active and deactivated_by == "directory":
                plan.reactivations.append((pid, person.login, person.dn))
        if self.full:
            for ext, row in old.people.items():
                if row[8] and ext not in self.snap.seen:
                    entry = old.entries.get(row[0])
                    plan.deactivations.append((row[0], row[1], entry[1] if entry else "", "missing"))
        return staying

    def managers(self, staying: dict[str, DesiredPerson]) -> None:
        old, plan = self.old, self.plan
        ext_by_ndn = dict(old.ext_by_ndn)
        for ext, person in staying.items():
            ext_by_ndn[person.ndn] = ext
        exists = set(old.people) | set(staying)
        # The whole chain after the sync: stored managers, replaced by what the directory says now.
        chain: dict[str, str | None] = {ext: old.ext_by_id.get(row[7]) for ext, row in old.people.items()}
        for ext, person in staying.items():
            target = None
            if person.manager_ndn:
                target = ext_by_ndn.get(person.manager_ndn)
                if target is None or target not in exists:
                    self.problem(person.dn, "manager_unknown", value=person.manager_ndn)
                    target = None
            chain[ext] = target
        self._cut_manager_loops(chain, staying)
        for ext, person in staying.items():
            row = old.people.get(ext)
            target = chain[ext]
            if row is None:
                if target is not None:
                    plan.managers[ext] = target
                continue
            if old.ext_by_id.get(row[7]) != target or (row[7] is not None and target is None):
                plan.managers[ext] = target
                self._note_change(row[0], person, "manager",
                                  (old.login_by_id.get(row[7]), self._login_of(target, staying)))

    def _login_of(self, ext: str | None, staying: dict[str, DesiredPerson]) -> str | None:
        if ext is None:
            return None
        if ext in staying:
            return staying[ext].login
        row = self.old.people.get(ext)
        return row[1] if row else None

    def _note_change(self, pid: int, person: DesiredPerson, name: str, change: tuple) -> None:
        update = self.update_of.get(pid)
        if update is None:
            update = self.update_of[pid] = PersonUpdate(pid, person, {})
            self.plan.updates.append(update)
        update.changes[name] = change

    def _cut_manager_loops(self, chain: dict[str, str | None], staying: dict[str, DesiredPerson]) -> None:
        state: dict[str, int] = {}   # 1 = on the current walk, 2 = known to end
        for start in chain:
            if start in state:
                continue
            walk, current = [], start
            while current is not None and current not in state:
                state[current] = 1
                walk.append(current)
                current = chain.get(current)
            if current is not None and state.get(current) == 1:
                cycle = walk[walk.index(current):]
                candidates = [e for e in cycle if e in staying] or cycle
                cut = min(candidates, key=lambda e: staying[e].ndn if e in staying else e)
                dn = staying[cut].dn if cut in staying else cut
                self.problem(dn, "manager_loop")
                chain[cut] = None
            for ext in walk:
                state[ext] = 2

    def memberships(self, staying: dict[str, DesiredPerson]) -> None:
        old, plan, snap = self.old, self.plan, self.snap
        names = {key: dept.name for key, dept in snap.departments.items()}
        for ext, row in old.departments.items():
            names.setdefault(ext, row[1])
        for ext, person in staying.items():
            row = old.people.get(ext)
            current = old.memberships.get(row[0], {}) if row else {}
            primary = [old.dept_ext_by_id[d] for d, (_m, p) in current.items() if p]
            others = sorted(old.dept_ext_by_id[d] for d, (_m, p) in current.items() if not p)
            have = tuple(primary + others)
            want = person.departments
            if have != want[:1] + tuple(sorted(want[1:])):
                plan.memberships[ext] = (want, None)
                if row is not None:
                    plan.moves.append({"login": person.login, "from": " + ".join(names.get(k, k) for k in have),
                                       "to": " + ".join(names.get(k, k) for k in want), "departments": True})
        scope = snap.authoritative_departments
        if scope is None or not snap.groups_of_member:
            return
        # Group source, incremental: people not read this time still follow the groups that changed.
        for ext, row in old.people.items():
            if ext in staying:
                continue
            entry = old.entries.get(row[0])
            if entry is None:
                continue
            want = tuple(k for k in snap.groups_of_member.get(normalize_dn(entry[1]), ()) if k in scope)
            have = {old.dept_ext_by_id[d] for d in old.memberships.get(row[0], {})} & scope
            if set(want) != have:
                plan.memberships[ext] = (want, frozenset(scope))

    def heads(self, staying: dict[str, DesiredPerson]) -> None:
        old, plan = self.old, self.plan
        ext_by_ndn = dict(old.ext_by_ndn)
        for ext, person in staying.items():
            ext_by_ndn[person.ndn] = ext
        exists = set(old.people) | set(staying)
        for key, dept in self.snap.departments.items():
            target = None
            if dept.head_ndn:
                target = ext_by_ndn.get(dept.head_ndn)
                if target is None or target not in exists:
                    self.problem(dept.dn, "head_unknown", value=dept.head_ndn)
                    target = None
            row = old.departments.get(key)
            if row is None:
                if target is not None:
                    plan.heads[key] = target
            elif old.ext_by_id.get(row[4]) != target or (row[4] is not None and target is None):
                plan.heads[key] = target

    def run(self) -> SyncPlan:
        valid = self.valid_people()
        self.departments()
        staying = self.people(valid)
        self.managers(staying)
        self.memberships(staying)
        self.heads(staying)
        plan = self.plan
        touched = {self.old.ext_by_id[u.person_id] for u in plan.updates} | set(plan.entries) | set(plan.memberships)
        touched |= {self.old.ext_by_id[row[0]] for row in plan.deactivations + plan.reactivations}
        plan.unchanged = sum(1 for ext in staying if ext in self.old.people and ext not in touched)
        return plan


def compute_plan(snapshot: Snapshot, existing: Existing) -> SyncPlan:
    """The changes that make the org chart match the snapshot (deactivations of the unseen only on a full read)."""
    return _Planner(snapshot, existing, snapshot.kind == "full").run()
