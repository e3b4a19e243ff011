"""The org-chart sync against a real slapd: what is synced, what changes, what is kept, what is refused."""
from __future__ import annotations

import json

import pytest

from app.org.ldap.models import DirectoryEntry, SyncRun
from app.org.ldap.sync import run_sync
from app.org.models import Department, Membership, Person
from app.org.service import deactivate_person
from app.tenancy.scope import TenantScope
from tests.conftest import login, make_person
from tests.ldap.conftest import configure


def people(tenant) -> dict[str, Person]:
    return {p.login: p for p in TenantScope(tenant).select(Person)}


def departments(tenant) -> dict[str, Department]:
    return {d.name: d for d in TenantScope(tenant).select(Department)}


def memberships(tenant, person) -> list[tuple[str, bool]]:
    rows = (TenantScope(tenant).select(Membership).where(Membership.person == person)
            .order_by(Membership.is_primary.desc()))
    return [(Department.get_by_id(m.department_id).name, m.is_primary) for m in rows]


def sync(tenant, **kwargs):
    result = run_sync(tenant, **kwargs)
    assert result.run.status in ("ok", "aborted", "failed")
    return result


def problem_codes(result) -> dict[str, str]:
    return {p.code: p.dn for p in result.plan.problems}


def small_org(d):
    """Acme: a CEO, two departments with a sub-department, heads, managers."""
    ceo = d.person("ceo", "Chen Jing", d.org, email="ceo@acme.example", title="CEO", employee_no="E1")
    eng = d.ou("Engineering", head=None, order=1)
    sales = d.ou("Sales", order=2)
    platform = d.ou("Platform", eng, order=1)
    cto = d.person("cto", "Li Wei", eng, email="cto@acme.example", title="CTO", manager=ceo, mobile="+86 138 0000 0001")
    dev = d.person("dev", "Wang Fang", platform, email="dev@acme.example", manager=cto, photo=b"\xff\xd8photo")
    rep = d.person("rep", "Zhao Lei", sales, email="rep@acme.example", manager=ceo)
    d.load()
    d.modify(eng, managedBy=cto)
    d.modify(sales, managedBy=rep)
    return {"ceo": ceo, "cto": cto, "dev": dev, "rep": rep, "eng": eng, "sales": sales, "platform": platform}


def test_first_full_sync_builds_people_tree_heads_memberships_and_managers(tenant, directory, local_admin):
    dns = small_org(directory)
    configure(tenant, directory)
    result = sync(tenant)
    assert result.run.status == "ok", result.run.reason
    counts = json.loads(result.run.counts)
    assert counts["created"] == 4 and counts["departments_created"] == 3 and counts["problems"] == 0

    found = people(tenant)
    assert set(found) == {"root", "ceo", "cto", "dev", "rep"}
    cto = found["cto"]
    assert (cto.display_name, cto.email, cto.title, cto.mobile, cto.source) == (
        "Li Wei", "cto@acme.example", "CTO", "+86 138 0000 0001", "directory")
    assert cto.manager_id == found["ceo"].id and found["dev"].manager_id == cto.id
    assert found["ceo"].employee_no == "E1" and found["ceo"].manager_id is None
    assert found["ceo"].password_hash is None

    depts = departments(tenant)
    assert depts["Platform"].parent_id == depts["Engineering"].id
    assert depts["Engineering"].parent_id is None and depts["Sales"].parent_id is None
    assert (depts["Engineering"].sort_order, depts["Sales"].sort_order) == (1, 2)
    assert depts["Engineering"].head_id == cto.id and depts["Sales"].head_id == found["rep"].id
    assert memberships(tenant, found["dev"]) == [("Platform", True)]
    assert memberships(tenant, found["ceo"]) == []

    entry = TenantScope(tenant).select(DirectoryEntry).where(DirectoryEntry.person == found["dev"]).get()
    assert entry.dn == dns["dev"] and entry.photo_size == len(b"\xff\xd8photo") and len(entry.photo_sha256) == 64
