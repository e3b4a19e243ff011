"""The org-chart sync against a real slapd: what is synced, what changes, what is kept, what is refused."""
from __future__ import annotations

import json

import pytest

from app.org.ldap.models import DirectoryEntry
from app.org.ldap.sync import run_sync
from app.org.models import Department, Membership, Person
from app.org.service import deactivate_person
from app.tenancy.scope import TenantScope
from tests.conftest import login, make_person
from tests.ldap.builder import image
from tests.ldap.conftest import configure

DEV_PHOTO = image()


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
    dev = d.person("dev", "Wang Fang", platform, email="dev@acme.example", manager=cto, photo=DEV_PHOTO)
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
    assert counts["photos_stored"] == 1

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
    assert entry.dn == dns["dev"] and entry.photo_size == len(DEV_PHOTO) and len(entry.photo_sha256) == 64


@pytest.fixture
def org(tenant, directory, local_admin):
    """The small org loaded, configured and synced once."""
    dns = small_org(directory)
    configure(tenant, directory, max_deactivation_share=0.5)   # one of four people may go in these tests
    first = sync(tenant)
    assert first.run.status == "ok"
    return dns


def test_resync_without_changes_is_a_no_op(tenant, org):
    before = {p.login: (p.updated_at, p.session_epoch) for p in people(tenant).values()}
    result = sync(tenant)
    assert result.run.status == "ok" and result.plan.is_empty()
    counts = json.loads(result.run.counts)
    assert counts["unchanged"] == 4 and counts["created"] == counts["updated"] == counts["moved"] == 0
    assert {p.login: (p.updated_at, p.session_epoch) for p in people(tenant).values()} == before


def test_attribute_change_is_synced_and_listed_old_to_new(tenant, directory, org):
    directory.modify(org["cto"], title="Chief Technology Officer", mobile=None, email="li.wei@acme.example")
    result = sync(tenant)
    [update] = result.plan.summary()["updates"]
    assert update["changes"]["title"] == ["CTO", "Chief Technology Officer"]
    assert update["changes"]["mobile"] == ["+86 138 0000 0001", None]
    cto = people(tenant)["cto"]
    assert (cto.title, cto.mobile, cto.email) == ("Chief Technology Officer", None, "li.wei@acme.example")


def test_rename_and_move_keep_the_same_person(tenant, directory, org):
    before = people(tenant)["dev"]
    new_dn = directory.move(org["dev"], "uid=fang.wang", org["sales"])
    directory.modify(new_dn, uid="fang.wang")
    result = sync(tenant)
    assert result.run.status == "ok"
    after = people(tenant)
    assert "dev" not in after and after["fang.wang"].id == before.id
    assert memberships(tenant, after["fang.wang"]) == [("Sales", True)]
    entry = TenantScope(tenant).select(DirectoryEntry).where(DirectoryEntry.person == before.id).get()
    assert entry.dn == new_dn
    assert any(m["to"] == new_dn for m in result.plan.moves)


def test_disable_deactivates_at_once_and_reenable_reactivates(tenant, directory, org, client):
    from tests.ldap.builder import USER_PASSWORD

    assert login(client, "dev", USER_PASSWORD).status_code == 302
    assert client.get("/").status_code == 200
    directory.disable(org["dev"])
    result = sync(tenant)
    assert [d[3] for d in result.plan.deactivations] == ["disabled"]
    dev = people(tenant)["dev"]
    assert not dev.is_active and dev.deactivated_by == "directory" and dev.session_epoch == 1
    assert client.get("/").status_code == 302          # the open session ended with the sync

    directory.enable(org["dev"])
    result = sync(tenant)
    assert len(result.plan.reactivations) == 1
    dev = people(tenant)["dev"]
    assert dev.is_active and dev.deactivated_by is None


def test_an_admins_manual_deactivation_survives_the_sync(tenant, org):
    deactivate_person(people(tenant)["rep"], by="admin")
    result = sync(tenant)
    assert not result.plan.reactivations
    rep = people(tenant)["rep"]
    assert not rep.is_active and rep.deactivated_by == "admin"


def test_delete_is_found_by_the_full_sync_only(tenant, directory, org):
    directory.delete(org["rep"])
    assert sync(tenant, kind="incremental").plan.deactivations == []
    assert people(tenant)["rep"].is_active
    result = sync(tenant, kind="full")
    assert [(d[1], d[3]) for d in result.plan.deactivations] == [("rep", "missing")]
    assert not people(tenant)["rep"].is_active


def test_dry_run_changes_nothing_and_shows_the_plan(tenant, directory, org):
    directory.modify(org["ceo"], title="Chair")
    directory.person("new", "New Person", org["eng"])
    result = sync(tenant, dry_run=True)
    assert result.run.dry_run and result.run.status == "ok"
    plan = json.loads(result.run.plan)
    assert [c["login"] for c in plan["creates"]] == ["new"]
    assert plan["updates"][0]["changes"]["title"] == ["CEO", "Chair"]
    assert "new" not in people(tenant) and people(tenant)["ceo"].title == "CEO"


def test_guard_stops_a_run_that_would_deactivate_too_many_and_force_passes(tenant, directory, org):
    configure(tenant, directory)                        # the default: at most 10%
    directory.disable(org["dev"])                       # 1 of 4 directory people = 25%
    result = sync(tenant)
    assert result.run.status == "aborted" and result.guard[0]["code"] == "share"
    assert people(tenant)["dev"].is_active
    assert json.loads(result.run.plan)["deactivations"][0]["login"] == "dev"
    forced = sync(tenant, force=True)
    assert forced.run.status == "ok" and forced.run.forced
    assert not people(tenant)["dev"].is_active


def test_guard_protects_the_last_directory_admin(tenant, directory):
    boss = directory.person("boss", "Boss")
    for n in range(20):
        directory.person(f"p{n}", f"Person {n}")
    directory.load()
    configure(tenant, directory)
    sync(tenant)
    found = people(tenant)["boss"]
    found.role = "admin"
    found.save()
    directory.disable(boss)                             # 1 of 21: under the share, but the only admin
    result = sync(tenant)
    assert result.run.status == "aborted" and [v["code"] for v in result.guard] == ["admins"]
    assert people(tenant)["boss"].is_active


def test_a_tenant_whose_admin_is_local_is_not_blocked(tenant, directory, local_admin):
    boss = directory.person("boss", "Boss")
    for n in range(20):
        directory.person(f"p{n}", f"Person {n}")
    directory.load()
    configure(tenant, directory)
    sync(tenant)
    directory.disable(boss)
    result = sync(tenant)
    assert result.run.status == "ok" and not people(tenant)["boss"].is_active
    assert people(tenant)["root"].is_active


def test_local_people_are_never_touched(tenant, directory, local_admin):
    make_person(tenant, "shared", display_name="Local Shared", email="local@acme.example")
    directory.person("shared", "Directory Shared", email="dir@acme.example")
    directory.person("ok", "Fine Person")
    directory.load()
    configure(tenant, directory)
    result = sync(tenant)
    assert problem_codes(result) == {"local_login": f"uid=shared,{directory.people}"}
    shared = people(tenant)["shared"]
    assert (shared.source, shared.display_name, shared.email) == ("local", "Local Shared", "local@acme.example")
    assert people(tenant)["ok"].source == "directory"


def test_each_kind_of_bad_data_is_a_problem_line_and_the_rest_syncs(tenant, directory, local_admin):
    d = directory
    odd = d.ou("Odd", order="first")                          # not a number: order dropped
    d.person("good", "Good Person", odd, email="good@acme.example")
    d.person("Bad Login!", "Bad Login")                       # not usable as a login
    d.person("twin", "Twin One", email="one@acme.example")
    d.person("twin", "Twin Two", d.org)                        # same login, another entry
    noname = d.person("noname", "", email="noname@acme.example")
    d.person("mail1", "Mail One", email="same@acme.example")
    d.person("mail2", "Mail Two", email="same@acme.example")
    d.person("badmail", "Bad Mail", email="not-an-email", mobile="call me")
    d.person("bigphoto", "Big Photo", photo=b"\xff" * (512 * 1024 + 1))
    loop_a = f"uid=loopa,{d.people}"
    loop_b = f"uid=loopb,{d.people}"
    d.person("loopa", "Loop A", manager=loop_b)
    d.person("loopb", "Loop B", manager=loop_a)
    d.person("orphan", "Orphan", manager=f"uid=nobody,{d.people}")
    d.load()
    d.modify(noname, cn=" ")
    configure(tenant, directory)
    result = sync(tenant)
    assert result.run.status == "ok"
    codes = [(p.code, p.dn.split(",")[0]) for p in result.plan.problems]
    for expected in [("invalid_value", "ou=Odd"), ("invalid_login", "uid=Bad Login!"), ("missing", "uid=noname"),
                     ("duplicate_login", "uid=twin"),
                     ("duplicate_email", "uid=mail1"), ("duplicate_email", "uid=mail2"),
                     ("invalid_value", "uid=badmail"), ("photo_too_large", "uid=bigphoto"),
                     ("manager_loop", "uid=loopa"), ("manager_unknown", "uid=orphan")]:
        assert expected in codes, expected
    found = people(tenant)
    assert {"good", "mail1", "mail2", "badmail", "bigphoto", "loopa", "loopb", "orphan"} <= set(found)
    assert "twin" not in found and "noname" not in found
    assert found["mail1"].email is None and found["badmail"].email is None and found["badmail"].mobile is None
    assert found["loopb"].manager_id == found["loopa"].id and found["loopa"].manager_id is None
    assert departments(tenant)["Odd"].sort_order == 0
    entry = TenantScope(tenant).select(DirectoryEntry).where(DirectoryEntry.person == found["bigphoto"]).get()
    assert entry.photo_sha256 is None
    assert codes.count(("duplicate_login", "uid=twin")) == 2
    stored = json.loads(result.run.problems)
    assert len(stored) == len(result.plan.problems) and all(p["dn"] for p in stored)


def test_groups_as_departments_with_nesting_heads_and_a_loop(tenant, directory, local_admin):
    d = directory
    a = d.person("ann", "Ann")
    b = d.person("ben", "Ben")
    loop_x, loop_y = f"cn=LoopX,{d.groups}", f"cn=LoopY,{d.groups}"
    d.group("LoopX", [loop_y, b])
    d.group("LoopY", [loop_x])
    research = d.group("Research", [a, b], owner=a)
    d.group("Lab", [b, research])
    d.load()
    configure(tenant, directory, department_source="group", department_base_dn=d.groups, mapping={})
    result = sync(tenant)
    assert ("department_loop", "cn=LoopX") in [(p.code, p.dn.split(",")[0]) for p in result.plan.problems]
    depts = departments(tenant)
    assert depts["Research"].parent_id == depts["Lab"].id and depts["Research"].head_id == people(tenant)["ann"].id
    assert sorted(name for name, _p in memberships(tenant, people(tenant)["ben"])) == ["Lab", "LoopX", "Research"]


def test_departments_from_a_person_attribute(tenant, directory, local_admin):
    d = directory
    d.person("ann", "Ann", departments=["Sales/North", "Marketing"])
    d.person("ben", "Ben", departments=["Sales"])
    d.load()
    configure(tenant, directory, department_source="attribute", department_base_dn="")
    sync(tenant)
    depts = departments(tenant)
    assert depts["North"].parent_id == depts["Sales"].id
    assert memberships(tenant, people(tenant)["ann"]) == [("North", True), ("Marketing", False)]


def test_active_directory_shape_with_incremental_sync(tenant, ad_directory, local_admin):
    d = ad_directory
    it = d.ou("IT")
    boss = d.person("boss", "Bo Ss", it, email="boss@corp.example", photo=image("PNG"))
    staff = [d.person(f"s{n}", f"Staff {n}", it, manager=boss) for n in range(12)]
    d.person("off", "Off Person", it, disabled=True)
    d.load()
    d.modify(it, managedBy=boss)
    configure(tenant, ad_directory)
    first = sync(tenant)
    assert first.run.status == "ok", first.run.reason
    found = people(tenant)
    assert found["s3"].manager_id == found["boss"].id and "off" not in found
    assert json.loads(first.run.counts)["skipped_disabled"] == 1
    assert json.loads(first.run.counts)["photos_stored"] == 1                  # thumbnailPhoto, a PNG
    assert departments(tenant)["IT"].head_id == found["boss"].id

    d.modify(staff[0], title="Lead")
    d.disable(staff[1])
    result = sync(tenant, kind="incremental")
    assert result.run.kind == "incremental"
    assert json.loads(result.run.counts)["read"] == 2 + 2   # the two changed people; ou=org and ou=IT
    assert people(tenant)["s0"].title == "Lead" and not people(tenant)["s1"].is_active
    again = sync(tenant, kind="incremental")
    assert json.loads(again.run.counts)["read"] == 2 and again.plan.is_empty()


@pytest.mark.slow
def test_openldap_incremental_sync_reads_what_changed_since_the_mark(tenant, directory, org):
    import time

    time.sleep(1.1)                                   # modifyTimestamp counts whole seconds
    directory.modify(org["rep"], title="Sales Lead")
    first = sync(tenant, kind="incremental")
    assert people(tenant)["rep"].title == "Sales Lead"
    time.sleep(1.1)
    directory.modify(org["ceo"], title="Chair")
    result = sync(tenant, kind="incremental")
    counts = json.loads(result.run.counts)
    assert counts["updated"] == 1
    assert people(tenant)["ceo"].title == "Chair"
    # The department tree is read whole each time; of the people, an incremental sync reads only those changed
    # at or after the mark (inclusive, as modifyTimestamp counts whole seconds): rep, changed at the mark, and ceo.
    # How many the first incremental read depends on the second the fixture's entries fell in, so it is not compared.
    full = json.loads(sync(tenant, kind="full").run.counts)
    in_directory = TenantScope(tenant).select(DirectoryEntry).count()
    tree = full["read"] - in_directory
    assert counts["read"] - tree == 2
    assert 1 <= json.loads(first.run.counts)["read"] - tree <= in_directory
