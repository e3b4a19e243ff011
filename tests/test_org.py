"""The org chart pages and the admin area for people and departments."""
import pytest

from app.org.models import Department, Membership, Person
from app.org.service import OrgIndex, save_department, search_people
from app.validation import ValidationError
from tests.conftest import csrf_from, login, make_person


@pytest.fixture
def org(tenant):
    """HQ > Engineering > Platform, and Sales; Alice admin heads HQ."""
    hq = save_department(tenant, None, {"name": "HQ"})
    eng = save_department(tenant, None, {"name": "Engineering", "parent_id": str(hq.id)})
    platform = save_department(tenant, None, {"name": "Platform", "parent_id": str(eng.id), "sort_order": "2"})
    sales = save_department(tenant, None, {"name": "Sales", "parent_id": str(hq.id), "sort_order": "1"})
    alice = make_person(tenant, "alice", role="admin", display_name="Alice Admin", department_ids=[str(hq.id)])
    bob = make_person(tenant, "bob", display_name="张伟 Bob", title="Engineer", email="bob@acme.example",
                      mobile="+86 138 0000 0000", manager_id=str(alice.id),
                      department_ids=[str(platform.id), str(sales.id)])
    return {"hq": hq, "eng": eng, "platform": platform, "sales": sales, "alice": alice, "bob": bob}


def test_tree_paths_and_counts(tenant, org):
    index = OrgIndex(tenant)
    assert [d.name for d in index.path(org["platform"].id)] == ["HQ", "Engineering", "Platform"]
    roots = index.tree()
    assert [n.department.name for n in roots] == ["HQ"]
    assert [n.department.name for n in roots[0].children] == ["Engineering", "Sales"]
    assert index.member_counts[org["platform"].id] == 1
    assert index.subtree_ids(org["eng"].id) == {org["eng"].id, org["platform"].id}


def test_home_shows_profile_and_tree(client, org):
    login(client, "bob")
    body = client.get("/").get_data(as_text=True)
    assert "张伟 Bob" in body and "Engineer" in body and "Alice Admin" in body
    assert body.index("HQ") < body.index("Engineering") < body.index("Platform")
    assert 'name="viewport"' in body


def test_directory_search(client, org, tenant):
    login(client, "bob")
    for query, expected in (("张伟", "张伟 Bob"), ("ALICE", "Alice Admin"), ("138 0000", "张伟 Bob"),
                            ("bob@acme", "张伟 Bob"), ("engineer", "张伟 Bob")):
        body = client.get("/people", query_string={"q": query}).get_data(as_text=True)
        assert expected in body, query
    assert "Nobody matches" in client.get("/people?q=zzzz").get_data(as_text=True)
    assert client.get("/people?page=999").status_code == 200
    assert client.get("/people?page=abc").status_code == 200
    assert [p.login for p in search_people(tenant, "%")] == []


def test_person_card_and_department_page(client, org):
    login(client, "alice")
    card = client.get(f"/people/{org['bob'].id}").get_data(as_text=True)
    assert "HQ" in card and "Platform" in card and "Sales" in card and "Alice Admin" in card
    assert "+86 138 0000 0000" in card
    dept = client.get(f"/departments/{org['eng'].id}").get_data(as_text=True)
    assert "Platform" in dept and "HQ" in dept
    assert client.get("/people/99999").status_code == 404
    assert client.get("/departments/99999").status_code == 404


def test_directory_needs_login(client, org):
    for path in ("/", "/people", f"/people/{org['bob'].id}", f"/departments/{org['hq'].id}"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_admin_area_is_for_admins(client, org):
    login(client, "bob")
    for path in ("/admin/people", "/admin/departments", "/admin/tenant", f"/admin/people/{org['alice'].id}"):
        assert client.get(path).status_code == 403, path


def _admin_post(client, path, data):
    token = csrf_from(client.get("/admin/people").get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token})


def test_admin_creates_and_edits_a_person(client, org, tenant):
    login(client, "alice")
    response = _admin_post(client, "/admin/people/new", {
        "login": "Carol", "display_name": "Carol 陈", "email": "carol@acme.example", "role": "member",
        "manager_id": str(org["alice"].id), "department_ids": [str(org["sales"].id)], "password": "carol-password-1"})
    assert response.status_code == 302
    carol = Person.get(Person.login == "carol")
    assert carol.must_change_password is False and carol.manager_id == org["alice"].id
    assert [m.department_id for m in Membership.select().where(Membership.person == carol)] == [org["sales"].id]
    response = _admin_post(client, f"/admin/people/{carol.id}", {
        "display_name": "Carol Chen", "title": "Sales Lead", "role": "member",
        "department_ids": [str(org["hq"].id), str(org["sales"].id)]})
    assert response.status_code == 302
    carol = Person.get_by_id(carol.id)
    assert carol.display_name == "Carol Chen" and carol.title == "Sales Lead" and carol.manager_id is None
    primary = Membership.get((Membership.person == carol) & (Membership.is_primary == True))  # noqa: E712
    assert primary.department_id == org["hq"].id


@pytest.mark.parametrize("data, field", [
    ({"login": "bob", "display_name": "Dup"}, "login"),
    ({"login": "BOB", "display_name": "Dup"}, "login"),
    ({"login": "new1", "display_name": ""}, "display_name"),
    ({"login": "new1", "display_name": "   "}, "display_name"),
    ({"login": "", "display_name": "X"}, "login"),
    ({"login": "has space", "display_name": "X"}, "login"),
    ({"login": "new1", "display_name": "x" * 201}, "display_name"),
    ({"login": "x" * 129, "display_name": "X"}, "login"),
    ({"login": "new1", "display_name": "X", "email": "not-an-email"}, "email"),
    ({"login": "new1", "display_name": "X", "email": "bob@acme.example"}, "email"),
    ({"login": "new1", "display_name": "X", "mobile": "call me"}, "mobile"),
    ({"login": "new1", "display_name": "X", "password": "short"}, "password"),
    ({"login": "new1", "display_name": "X", "password": "          "}, "password"),
    ({"login": "new1", "display_name": "X", "role": "root"}, "role"),
    ({"login": "new1", "display_name": "X", "manager_id": "99999"}, "manager_id"),
    ({"login": "new1", "display_name": "X", "department_ids": ["abc"]}, "department_ids"),
    ({"login": "new1", "display_name": "line\nbreak"}, "display_name"),
])
def test_person_form_errors_save_nothing(client, org, data, field):
    login(client, "alice")
    before = Person.select().count()
    response = _admin_post(client, "/admin/people/new", data)
    assert response.status_code == 400
    assert f'id="{field}-error"' in response.get_data(as_text=True) or "flash-error" in response.get_data(as_text=True)
    assert Person.select().count() == before


def test_manager_loop_is_refused(org, tenant):
    from app.org.service import save_person
    with pytest.raises(ValidationError) as info:
        save_person(tenant, org["alice"], {"display_name": "Alice", "role": "admin", "manager_id": str(org["bob"].id)})
    assert info.value.field == "manager_id"


def test_last_admin_cannot_be_demoted_or_deactivated(client, org):
    login(client, "alice")
    response = _admin_post(client, f"/admin/people/{org['alice'].id}", {"display_name": "Alice", "role": "member"})
    assert response.status_code == 400
    response = _admin_post(client, f"/admin/people/{org['alice'].id}/deactivate", {})
    assert response.status_code == 302
    assert Person.get_by_id(org["alice"].id).is_active and Person.get_by_id(org["alice"].id).is_admin


def test_admin_reset_password_shows_it_once(client, org):
    login(client, "alice")
    response = _admin_post(client, f"/admin/people/{org['bob'].id}/reset-password", {})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "One-time password" in body
    assert Person.get_by_id(org["bob"].id).must_change_password


def test_department_admin(client, org):
    login(client, "alice")
    assert _admin_post(client, "/admin/departments/new", {"name": "Legal", "parent_id": str(org["hq"].id)}).status_code == 302
    legal = Department.get(Department.name == "Legal")
    # moving a department into its own subtree is refused and changes nothing
    response = _admin_post(client, f"/admin/departments/{org['eng'].id}", {"name": "Engineering", "parent_id": str(org["platform"].id)})
    assert response.status_code == 400
    assert Department.get_by_id(org["eng"].id).parent_id == org["hq"].id
    # a department with members or children cannot be deleted
    assert _admin_post(client, f"/admin/departments/{org['platform'].id}/delete", {}).status_code == 302
    assert Department.get_or_none(Department.id == org["platform"].id) is not None
    assert _admin_post(client, f"/admin/departments/{org['eng'].id}/delete", {}).status_code == 302
    assert Department.get_or_none(Department.id == org["eng"].id) is not None
    assert _admin_post(client, f"/admin/departments/{legal.id}/delete", {}).status_code == 302
    assert Department.get_or_none(Department.id == legal.id) is None
    for data in ({"name": ""}, {"name": "x" * 300}, {"name": "X", "sort_order": "first"}, {"name": "X", "head_id": "424242"}):
        assert _admin_post(client, "/admin/departments/new", data).status_code == 400


def test_tenant_settings_and_tenant_list(client, org, tenant, other_tenant):
    login(client, "alice")
    response = _admin_post(client, "/admin/tenant", {"name": "Acme Group", "hosts": "acme.example\nwww.acme.example",
                                                      "default_locale": "en", "timezone": "Europe/Berlin"})
    assert response.status_code == 302
    assert _admin_post(client, "/admin/tenant", {"name": "Acme", "hosts": "globex.example"}).status_code == 400
    assert _admin_post(client, "/admin/tenant", {"name": "Acme", "timezone": "Nowhere/Land"}).status_code == 400
    listing = client.get("/admin/tenants").get_data(as_text=True)
    assert "globex" in listing and "www.acme.example" in listing
    assert _admin_post(client, "/admin/tenants", {"slug": "initech", "name": "Initech"}).status_code == 302
    assert _admin_post(client, "/admin/tenants", {"slug": "initech", "name": "Again"}).status_code == 400


def test_tenant_list_is_hidden_from_non_default_tenants(app, other_tenant):
    make_person(other_tenant, "gina", role="admin")
    client = app.test_client()
    login(client, "gina", host="globex.example")
    assert client.get("/admin/tenants", base_url="http://globex.example").status_code == 404
    assert client.get("/admin/tenant", base_url="http://globex.example").status_code == 200
