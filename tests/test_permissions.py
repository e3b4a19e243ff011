"""Roles and the one permission check: the matrix per role, department admins confined to their subtree."""
import pytest

from app.announce.models import Announcement
from app.org.models import Department, Membership, Person
from app.org.service import deactivate_person, delete_department, save_department, save_person
from app.security import permissions as perm
from app.validation import ValidationError
from tests.conftest import login, make_person, post_form


@pytest.fixture
def org(tenant):
    """HQ > Engineering > Platform; HQ > Sales (head Hank). Dana administers Engineering."""
    hq = save_department(tenant, None, {"name": "HQ"})
    eng = save_department(tenant, None, {"name": "Engineering", "parent_id": str(hq.id)})
    platform = save_department(tenant, None, {"name": "Platform", "parent_id": str(eng.id)})
    sales = save_department(tenant, None, {"name": "Sales", "parent_id": str(hq.id)})
    people = {
        "alice": make_person(tenant, "alice", role="admin", display_name="Alice Admin", department_ids=[str(hq.id)]),
        "dana": make_person(tenant, "dana", role="dept_admin", display_name="Dana Deptadmin",
                            admin_department_id=str(eng.id), department_ids=[str(eng.id)]),
        "pete": make_person(tenant, "pete", role="dept_admin", display_name="Pete Platformadmin",
                            admin_department_id=str(platform.id), department_ids=[str(platform.id)]),
        "aud": make_person(tenant, "aud", role="auditor", display_name="Audrey Auditor", department_ids=[str(eng.id)]),
        "bob": make_person(tenant, "bob", display_name="Bob Builder", department_ids=[str(platform.id), str(sales.id)]),
        "sam": make_person(tenant, "sam", display_name="Sam Seller", department_ids=[str(sales.id)]),
        "hank": make_person(tenant, "hank", display_name="Hank Head", department_ids=[str(sales.id)]),
        "mia": make_person(tenant, "mia", display_name="Mia Member"),
    }
    save_department(tenant, sales, {"name": "Sales", "parent_id": str(hq.id), "head_id": str(people["hank"].id)})
    return {"tenant": tenant, "hq": hq, "eng": eng, "platform": platform, "sales": sales, **people}


def fresh(person):
    return Person.get_by_id(person.id)


# --- the matrix -------------------------------------------------------------------------------

MATRIX = [
    # action,              admin, dana (dept admin), aud (auditor), mia (member)
    (perm.TENANT_MANAGE,      True, False, False, False),
    (perm.ROLES_MANAGE,       True, False, False, False),
    (perm.AUDIT_READ,         True, False, True, False),
    (perm.PEOPLE_MANAGE,      True, True, False, False),
    (perm.DEPARTMENTS_MANAGE, True, True, False, False),
    (perm.ADMIN_CONSOLE,      True, True, True, False),
    (perm.ANNOUNCE_PUBLISH,   True, False, False, False),
    (perm.FILE_DOWNLOAD,      True, True, True, True),
]


@pytest.mark.parametrize("action, admin, dept_admin, auditor, member", MATRIX)
def test_permission_matrix_per_role(org, action, admin, dept_admin, auditor, member):
    got = [perm.allowed(fresh(org[name]), action) for name in ("alice", "dana", "aud", "mia")]
    assert got == [admin, dept_admin, auditor, member]


def test_nobody_deactivated_or_anonymous_is_allowed_anything(org):
    alice = fresh(org["alice"])
    alice.is_active = False
    for action, *_roles in MATRIX:
        assert not perm.allowed(alice, action)
        assert not perm.allowed(None, action)


def test_an_unknown_action_is_an_error_not_a_no(org):
    with pytest.raises(ValueError):
        perm.allowed(fresh(org["alice"]), "tenant.manag")


def test_department_admin_reaches_only_their_subtree(org):
    dana = fresh(org["dana"])
    assert perm.department_scope(dana, perm.PEOPLE_MANAGE) == {org["eng"].id, org["platform"].id}
    assert perm.allowed(dana, perm.DEPARTMENTS_MANAGE, org["eng"])
    assert perm.allowed(dana, perm.DEPARTMENTS_MANAGE, org["platform"])
    assert not perm.allowed(dana, perm.DEPARTMENTS_MANAGE, org["sales"])
    assert not perm.allowed(dana, perm.DEPARTMENTS_MANAGE, org["hq"])
    assert perm.allowed(dana, perm.PEOPLE_MANAGE, fresh(org["bob"]))       # Platform is inside Engineering
    assert perm.allowed(dana, perm.PEOPLE_MANAGE, fresh(org["pete"]))      # a sub-department's own admin
    assert perm.allowed(dana, perm.PEOPLE_MANAGE, dana)
    for outside in ("sam", "mia", "alice", "aud"):                         # elsewhere, nowhere, or above her
        assert not perm.allowed(dana, perm.PEOPLE_MANAGE, fresh(org[outside])), outside
    pete = fresh(org["pete"])
    assert not perm.allowed(pete, perm.PEOPLE_MANAGE, dana)                # not upwards
    assert not perm.allowed(pete, perm.DEPARTMENTS_MANAGE, org["eng"])


def test_a_department_admin_without_a_department_manages_nothing(org):
    dana = fresh(org["dana"])
    dana.admin_department = None
    assert perm.department_scope(dana, perm.PEOPLE_MANAGE) == set()
    assert not perm.allowed(dana, perm.PEOPLE_MANAGE) and not perm.allowed(dana, perm.ADMIN_CONSOLE)


def test_announcements_keep_their_rule_admins_and_department_heads(org):
    hank, dana = fresh(org["hank"]), fresh(org["dana"])
    assert perm.allowed(hank, perm.ANNOUNCE_PUBLISH)
    assert perm.allowed(hank, perm.ANNOUNCE_PUBLISH, org["sales"])
    assert not perm.allowed(hank, perm.ANNOUNCE_PUBLISH, org["eng"])
    assert not perm.allowed(dana, perm.ANNOUNCE_PUBLISH, org["eng"])     # administering is not heading
    assert perm.allowed(fresh(org["alice"]), perm.ANNOUNCE_PUBLISH, org["eng"])
    note = Announcement(tenant=org["tenant"], author=hank, title="t", body="b")
    assert perm.allowed(hank, perm.ANNOUNCE_STATS, note) and perm.allowed(fresh(org["alice"]), perm.ANNOUNCE_STATS, note)
    assert not perm.allowed(dana, perm.ANNOUNCE_STATS, note)


# --- pages ------------------------------------------------------------------------------------

TENANT_PAGES = ["/admin/tenant", "/admin/brand/", "/admin/directory/", "/admin/residency/", "/admin/policies/",
                "/admin/tenants"]


def test_member_and_auditor_reach_no_admin_page_and_change_nothing(client, org):
    for name in ("mia", "aud"):
        login(client, name)
        for path in ["/admin/people", "/admin/departments", f"/admin/people/{org['bob'].id}"] + TENANT_PAGES:
            assert client.get(path).status_code == 403, (name, path)
        assert post_form(client, f"/admin/people/{org['bob'].id}/deactivate").status_code == 403
        home = client.get("/").get_data(as_text=True)
        if name == "aud":   # the auditor's console is the audit log, read-only
            assert "Admin console" in home and client.get("/admin/").headers["Location"].endswith("/admin/audit/")
            assert client.get("/admin/audit/").status_code == 200
        else:
            assert "Admin console" not in home and client.get("/admin/").status_code == 403
            assert client.get("/admin/audit/").status_code == 403
        post_form(client, "/logout")
    assert fresh(org["bob"]).is_active


def test_department_admin_pages_show_only_their_subtree(client, org):
    login(client, "dana")
    home = client.get("/").get_data(as_text=True)
    assert "Admin console" in home
    people = client.get("/admin/people").get_data(as_text=True)
    for shown in ("Bob Builder", "Pete Platformadmin", "Dana Deptadmin"):
        assert shown in people
    for hidden in ("Sam Seller", "Alice Admin", "Audrey Auditor", "Mia Member", "Hank Head"):
        assert hidden not in people
    assert "Sam Seller" not in client.get("/admin/people?q=sam").get_data(as_text=True)
    layout = client.get("/admin/people").get_data(as_text=True)
    assert "/admin/departments" in layout and "/admin/policies" not in layout and "/admin/brand" not in layout
    departments = client.get("/admin/departments").get_data(as_text=True)
    assert "Engineering" in departments and "Platform" in departments
    assert "Sales" not in departments and ">HQ<" not in departments
    for path in TENANT_PAGES:
        assert client.get(path).status_code == 403, path


def test_department_admin_gets_403_for_people_and_departments_outside(client, org, other_tenant):
    theirs = make_person(other_tenant, "gina")
    login(client, "dana")
    sam, alice = org["sam"], org["alice"]
    for path in (f"/admin/people/{sam.id}", f"/admin/people/{alice.id}", f"/admin/departments/{org['sales'].id}"):
        assert client.get(path).status_code == 403, path
    for path in (f"/admin/people/{sam.id}/deactivate", f"/admin/people/{sam.id}/reset-password",
                 f"/admin/people/{sam.id}/unlock", f"/admin/people/{alice.id}",
                 f"/admin/departments/{org['sales'].id}/delete"):
        assert post_form(client, path, {"display_name": "Hacked"}).status_code == 403, path
    assert client.get(f"/admin/people/{theirs.id}").status_code == 404      # another tenant's id does not exist here
    assert fresh(sam).is_active and fresh(alice).display_name == "Alice Admin" and not fresh(sam).must_change_password
    assert Department.get_or_none(Department.id == org["sales"].id) is not None
    assert client.get(f"/people/{org['bob'].id}").get_data(as_text=True).count(f"/admin/people/{org['bob'].id}") == 1
    assert f"/admin/people/{sam.id}" not in client.get(f"/people/{sam.id}").get_data(as_text=True)


def test_department_admin_creates_people_inside_only_and_cannot_give_roles(client, org):
    login(client, "dana")
    form = {"login": "newbie", "display_name": "New Bie", "role": "admin", "department_ids": str(org["platform"].id),
            "password": "a-long-enough-password"}
    assert "Role" in client.get("/admin/people/new").get_data(as_text=True)
    assert 'name="role"' not in client.get("/admin/people/new").get_data(as_text=True)
    assert post_form(client, "/admin/people/new", form).status_code == 302
    newbie = Person.get(Person.login == "newbie")
    assert newbie.role == "member"                                        # the posted role was ignored
    for departments in (str(org["sales"].id), ""):
        response = post_form(client, "/admin/people/new", {**form, "login": "other", "department_ids": departments})
        assert response.status_code == 400
    assert not Person.select().where(Person.login == "other").exists()


def test_department_admin_editing_keeps_memberships_outside_their_subtree(client, org):
    login(client, "dana")
    bob = org["bob"]
    response = post_form(client, f"/admin/people/{bob.id}", {"display_name": "Bob B.", "role": "admin",
                                                              "department_ids": str(org["eng"].id)})
    assert response.status_code == 302
    bob = fresh(bob)
    assert bob.display_name == "Bob B." and bob.role == "member"
    memberships = {m.department_id: m.is_primary for m in Membership.select().where(Membership.person == bob)}
    assert memberships == {org["eng"].id: True, org["sales"].id: False}    # Sales kept, out of her reach


def test_department_admin_manages_departments_inside_only(client, org):
    login(client, "dana")
    eng, sales = org["eng"], org["sales"]
    assert post_form(client, "/admin/departments/new", {"name": "Infra", "parent_id": str(eng.id)}).status_code == 302
    infra = Department.get(Department.name == "Infra")
    for data in ({"name": "Rogue", "parent_id": str(sales.id)}, {"name": "Rogue"}):
        assert post_form(client, "/admin/departments/new", data).status_code == 400
    assert not Department.select().where(Department.name == "Rogue").exists()
    # Her own department can be renamed where it stands, not moved away
    assert post_form(client, f"/admin/departments/{eng.id}", {"name": "Eng", "parent_id": str(org["hq"].id)}).status_code == 302
    assert post_form(client, f"/admin/departments/{eng.id}", {"name": "Eng", "parent_id": str(sales.id)}).status_code == 400
    assert Department.get_by_id(eng.id).parent_id == org["hq"].id and Department.get_by_id(eng.id).name == "Eng"
    assert post_form(client, f"/admin/departments/{eng.id}/delete").status_code == 403
    assert post_form(client, f"/admin/departments/{infra.id}/delete").status_code == 302
    assert Department.get_or_none(Department.id == infra.id) is None


def test_admin_gives_roles_with_the_department_of_a_department_admin(client, org):
    login(client, "alice")
    bob, sales = org["bob"], org["sales"]
    page = client.get(f"/admin/people/{bob.id}").get_data(as_text=True)
    assert 'name="role"' in page and 'value="dept_admin"' in page and 'value="auditor"' in page
    base = {"display_name": bob.display_name, "department_ids": str(org["platform"].id)}
    response = post_form(client, f"/admin/people/{bob.id}", {**base, "role": "dept_admin"})
    assert response.status_code == 400 and "Choose the department this person administers" in response.get_data(as_text=True)
    assert fresh(bob).role == "member"
    response = post_form(client, f"/admin/people/{bob.id}", {**base, "role": "dept_admin",
                                                              "admin_department_id": str(sales.id)})
    assert response.status_code == 302
    assert (fresh(bob).role, fresh(bob).admin_department_id) == ("dept_admin", sales.id)
    assert post_form(client, f"/admin/people/{bob.id}", {**base, "role": "auditor",
                                                          "admin_department_id": str(sales.id)}).status_code == 302
    assert (fresh(bob).role, fresh(bob).admin_department_id) == ("auditor", None)
    assert post_form(client, f"/admin/people/{bob.id}", {**base, "role": "superuser"}).status_code == 400
    assert "Department admin" in client.get("/admin/people").get_data(as_text=True)


def test_the_tenant_always_keeps_an_active_admin(org, tenant):
    alice = fresh(org["alice"])
    for role in ("dept_admin", "auditor", "member"):
        with pytest.raises(ValidationError):
            save_person(tenant, alice, {"display_name": "Alice", "role": role,
                                        "admin_department_id": str(org["eng"].id)})
    with pytest.raises(ValidationError):
        deactivate_person(alice)
    assert fresh(alice).role == "admin" and fresh(alice).is_active


def test_a_department_with_its_admin_cannot_be_deleted_and_a_sync_removal_leaves_no_powers(org, tenant):
    infra = save_department(tenant, None, {"name": "Infra", "parent_id": str(org["hq"].id)})
    ivan = make_person(tenant, "ivan", role="dept_admin", admin_department_id=str(infra.id))
    with pytest.raises(ValidationError, match="department admin administers"):
        delete_department(infra)
    Department.delete().where(Department.id == infra.id).execute()   # as a directory sync removes departments
    ivan = fresh(ivan)
    assert ivan.admin_department_id is None and not perm.allowed(ivan, perm.PEOPLE_MANAGE)
