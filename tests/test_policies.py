"""Per-tenant security policies: the page and the command, validation, and each rule where it applies."""
import datetime
import io
import json
import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from werkzeug.datastructures import FileStorage
from werkzeug.test import stream_encode_multipart

from app.announce.service import publish_announcement
from app.chat import service as chat
from app.db import utcnow
from app.org.ldap.models import DirectoryConfig
from app.org.models import Person
from app.org.service import save_department
from app.security.models import LoginFailure, TenantPolicy
from app.security.policy import PolicyInvalid, PolicyLimits, as_values, load_policy, save_policy
from app.security.tokens import create_token
from tests import inert, openapi
from tests.conftest import csrf_from, login, make_person, post_form

LIMITS = PolicyLimits(max_session_hours=12, max_file_mb=20)
PNG = (Path(__file__).resolve().parents[1] / "branding" / "default" / "icons" / "app-icon.png").read_bytes()


@pytest.fixture
def org(tenant):
    """Sales (Sam, Sue) and Engineering (Eric); Alice is the admin, Dana the department admin of Engineering."""
    sales = save_department(tenant, None, {"name": "Sales"})
    eng = save_department(tenant, None, {"name": "Engineering"})
    east = save_department(tenant, None, {"name": "East", "parent_id": str(sales.id)})
    people = {
        "alice": make_person(tenant, "alice", role="admin", display_name="Alice Admin", mobile="+86 139 0000 1111"),
        "dana": make_person(tenant, "dana", role="dept_admin", admin_department_id=str(eng.id),
                            display_name="Dana Deptadmin", department_ids=[str(eng.id)]),
        "sam": make_person(tenant, "sam", display_name="Sam Seller", email="sam@acme.example",
                           mobile="+86 138 1234 5678", department_ids=[str(sales.id)]),
        "sue": make_person(tenant, "sue", display_name="Sue Seller", department_ids=[str(sales.id)]),
        "eric": make_person(tenant, "eric", display_name="Eric Engineer", email="eric@acme.example",
                            mobile="+86 137 8765 4321", department_ids=[str(eng.id)]),
        "ed": make_person(tenant, "ed", display_name="Ed East", department_ids=[str(east.id)]),
    }
    return {"tenant": tenant, "sales": sales, "eng": eng, "east": east, **people}


def set_policy(tenant, **changes):
    """Save policy keys written with __ for the dot: login__lockout_after=3."""
    return save_policy(tenant, {k.replace("__", "."): v for k, v in changes.items()}, LIMITS, partial=True)


def form_of(policy, **changes):
    """The policy page's form for a policy, with changes (lists as lists, booleans as ticked boxes)."""
    data = {}
    for key, value in {**as_values(policy), **{k.replace("__", "."): v for k, v in changes.items()}}.items():
        if isinstance(value, bool):
            if value:
                data[key] = "1"
        elif isinstance(value, list):
            data[key] = [str(v) for v in value]
        else:
            data[key] = str(value)
    return data


def fresh(person):
    return Person.get_by_id(person.id)


# --- the page and its validation ---------------------------------------------------------------

def test_defaults_keep_todays_behaviour_and_create_no_row(client, org):
    policy = load_policy(org["tenant"])
    assert not policy.login.directory_only and policy.login.ip_scope == "off" and policy.login.lockout_after == 0
    assert policy.privacy.hide_contacts == [] and policy.files.allowed_types == [] and not policy.watermark.enabled
    login(client, "alice")
    page = client.get("/admin/policies/")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and 'name="viewport"' in body
    for section in ("Login", "Privacy", "Files", "Watermark"):
        assert f"<legend>{section}</legend>" in body
    assert "cannot lock itself out" in body and "Your address now: 127.0.0.1" in body
    assert TenantPolicy.select().count() == 0


def test_admin_saves_the_policy_from_the_page(client, org):
    login(client, "alice")
    data = form_of(load_policy(org["tenant"]), login__lockout_after="5", login__idle_minutes="30",
                   login__ip_scope="admins", login__ip_allow="127.0.0.0/8\n2001:db8::/32",
                   privacy__hide_contacts=["mobile"], privacy__hidden_departments=[str(org["east"].id)],
                   files__max_mb="5", files__allowed_types=["png", "pdf"], files__no_download_roles=["auditor"],
                   watermark__enabled=True)
    response = post_form(client, "/admin/policies/", data, page="/admin/policies/")
    assert response.status_code == 302
    policy = load_policy(org["tenant"])
    assert policy.login.lockout_after == 5 and policy.login.idle_minutes == 30
    assert policy.login.ip_allow == ["127.0.0.0/8", "2001:db8::/32"] and policy.login.ip_scope == "admins"
    assert policy.privacy.hide_contacts == ["mobile"] and policy.privacy.hidden_departments == [org["east"].id]
    assert policy.files.max_mb == 5 and policy.files.allowed_types == ["png", "pdf"]
    assert policy.files.no_download_roles == ["auditor"] and policy.watermark.enabled
    row = TenantPolicy.get()
    assert row.updated_by_id == org["alice"].id
    page = client.get("/admin/policies/").get_data(as_text=True)
    assert "Security policies saved." in page and "2001:db8::/32" in page and "Alice Admin" in page


BAD = [
    ({"login.ip_scope": "tenant", "login.ip_allow": "127.0.0.1\n10.0.0.0/33"}, "login.ip_allow", "10.0.0.0/33 is not"),
    ({"login.ip_scope": "admins", "login.ip_allow": "office-network"}, "login.ip_allow", "office-network is not"),
    ({"login.ip_scope": "tenant", "login.ip_allow": ""}, "login.ip_allow", "at least one address"),
    ({"login.ip_scope": "everywhere"}, "login.ip_scope", "Choose one of"),
    ({"login.lockout_after": "-1"}, "login.lockout_after", "negative"),
    ({"login.lockout_after": "101"}, "login.lockout_after", "Between 0 and 100"),
    ({"login.session_hours": "-5"}, "login.session_hours", "negative"),
    ({"login.session_hours": "13"}, "login.session_hours", "Between 0 and 12"),
    ({"login.idle_minutes": "half an hour"}, "login.idle_minutes", "whole number"),
    ({"login.idle_minutes": "721"}, "login.idle_minutes", "Between 0 and 720"),
    ({"login.session_hours": "1", "login.idle_minutes": "61"}, "login.idle_minutes", "cannot be longer"),
    ({"login.directory_only": "1"}, "login.directory_only", "company directory first"),
    ({"files.allowed_types": ["png", "exe"]}, "files.allowed_types", "exe is not one of"),
    ({"files.max_mb": "21"}, "files.max_mb", "Between 0 and 20"),
    ({"files.max_mb": "-2"}, "files.max_mb", "negative"),
    ({"files.no_download_roles": ["root"]}, "files.no_download_roles", "root is not one of"),
    ({"privacy.hide_contacts": ["address"]}, "privacy.hide_contacts", "address is not one of"),
    ({"privacy.contacts_role": "boss"}, "privacy.contacts_role", "Choose one of"),
    ({"privacy.hidden_departments": ["999999"]}, "privacy.hidden_departments", "from the list"),
    ({"privacy.hidden_departments": ["sales"]}, "privacy.hidden_departments", "from the list"),
]


@pytest.mark.parametrize("changes, key, message", BAD)
def test_bad_values_are_refused_per_field_and_nothing_is_saved(client, org, changes, key, message):
    set_policy(org["tenant"], login__lockout_after="7")
    before = TenantPolicy.get().data
    login(client, "alice")
    data = form_of(load_policy(org["tenant"]))
    data.update(changes)
    response = post_form(client, "/admin/policies/", data, page="/admin/policies/")
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and "Nothing was saved" in body and message in body
    assert f'id="{key.replace(".", "-")}-error"' in body
    assert TenantPolicy.get().data == before


def test_every_problem_is_named_at_once(client, org):
    login(client, "alice")
    data = form_of(load_policy(org["tenant"]), login__lockout_after="-3", files__allowed_types=["bat"],
                   login__ip_scope="tenant", login__ip_allow="300.1.1.1")
    body = post_form(client, "/admin/policies/", data, page="/admin/policies/").get_data(as_text=True)
    for key in ("login-lockout_after", "files-allowed_types", "login-ip_allow"):
        assert f'id="{key}-error"' in body
    assert 'value="-3"' in body and "300.1.1.1" in body          # what was typed comes back to be corrected
    assert TenantPolicy.select().count() == 0


def test_the_other_tenants_departments_cannot_be_hidden(org, other_tenant):
    theirs = save_department(other_tenant, None, {"name": "Globex R&D"})
    with pytest.raises(PolicyInvalid) as refused:
        set_policy(org["tenant"], privacy__hidden_departments=str(theirs.id))
    assert refused.value.for_field("privacy.hidden_departments")


def test_an_admin_cannot_save_a_list_that_shuts_them_out(client, org):
    client.environ_base["REMOTE_ADDR"] = "10.9.8.7"
    login(client, "alice")
    for scope in ("tenant", "admins"):
        data = form_of(load_policy(org["tenant"]), login__ip_scope=scope, login__ip_allow="192.168.0.0/16")
        response = post_form(client, "/admin/policies/", data, page="/admin/policies/")
        body = response.get_data(as_text=True)
        assert response.status_code == 400 and "Your own address 10.9.8.7 is not in the list" in body
    assert TenantPolicy.select().count() == 0
    data = form_of(load_policy(org["tenant"]), login__ip_scope="admins", login__ip_allow="10.0.0.0/8")
    assert post_form(client, "/admin/policies/", data, page="/admin/policies/").status_code == 302


def test_only_tenant_admins_reach_the_page(client, org):
    for name in ("dana", "sam"):
        login(client, name)
        assert client.get("/admin/policies/").status_code == 403
        assert post_form(client, "/admin/policies/", {"watermark.enabled": "1"}).status_code == 403
        post_form(client, "/logout")
    assert TenantPolicy.select().count() == 0


# --- the command ------------------------------------------------------------------------------

def cli(app, database_url, *args):
    from app.cli import main
    from app.db import db

    env = {"ATRIUM_DATA_DIR": app.config["ATRIUM"].data_dir, "DATABASE_URL": database_url}
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    if not db.is_closed():
        db.close()
    return result


def test_policy_command_shows_and_sets(app, database_url, org):
    shown = cli(app, database_url, "policy", "show", "acme")
    assert shown.exit_code == 0 and "login.lockout_after = 0" in shown.output and "watermark.enabled = off" in shown.output
    changed = cli(app, database_url, "policy", "set", "acme", "login.lockout_after=4",
                  "login.ip_allow=10.0.0.0/8, 2001:db8::/32", "login.ip_scope=admins", "watermark.enabled=on")
    assert changed.exit_code == 0, changed.output
    as_json = json.loads(cli(app, database_url, "policy", "show", "acme", "--json").output)
    assert as_json["policy"]["login"]["lockout_after"] == 4 and as_json["policy"]["watermark"]["enabled"] is True
    assert as_json["policy"]["login"]["ip_allow"] == ["10.0.0.0/8", "2001:db8::/32"]
    assert "login.lockout_after=5" in cli(app, database_url, "policy", "set", "--help").output


@pytest.mark.parametrize("args, message", [
    (["login.lockout_after=-1"], "login.lockout_after"),
    (["login.lockout_after=3", "files.allowed_types=exe"], "files.allowed_types"),
    (["login.lockot_after=3"], "refused: login.lockot_after:"),   # the reason is in the install's language
    (["lockout"], "expected KEY=VALUE"),
])
def test_policy_command_refuses_bad_settings_and_saves_none(app, database_url, org, args, message):
    result = cli(app, database_url, "policy", "set", "acme", *args)
    assert result.exit_code == 2 and message in result.output
    assert TenantPolicy.select().count() == 0


def test_policy_command_for_an_unknown_tenant_fails_in_one_line(app, database_url, org):
    result = cli(app, database_url, "policy", "show", "nope")
    assert result.exit_code == 1 and result.output.strip().count("\n") == 0 and "no tenant 'nope'" in result.output


# --- login: directory only ---------------------------------------------------------------------

def test_directory_only_refuses_local_passwords_except_for_admins(client, org):
    DirectoryConfig.create(tenant=org["tenant"], enabled=True)
    set_policy(org["tenant"], login__directory_only="on")
    refused = login(client, "sam")
    assert refused.status_code == 403 and "only company directory accounts" in refused.get_data(as_text=True)
    wrong = login(client, "sam", "wrong-password")                 # a wrong password learns nothing more
    assert wrong.status_code == 401 and "not correct" in wrong.get_data(as_text=True)
    assert login(client, "dana").status_code == 403                # a department admin is not a tenant admin
    assert login(client, "alice").status_code == 302


# --- sessions ---------------------------------------------------------------------------------

def test_session_lifetime_counts_from_login(client, org):
    set_policy(org["tenant"], login__session_hours="2")
    login(client, "sam")
    with client.session_transaction() as sess:
        sess["at"] -= 2 * 3600 - 60                                  # logged in 1 hour 59 minutes ago
        sess["seen"] = int(time.time())
    assert client.get("/people").status_code == 200
    with client.session_transaction() as sess:
        sess["at"] -= 120                                            # now 2 hours 1 minute ago
    response = client.get("/people")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your session has ended. Log in again." in page
    assert client.get("/people").status_code == 302


def test_idle_timeout_counts_from_the_last_request_not_background_polls(client, org):
    set_policy(org["tenant"], login__idle_minutes="30")
    login(client, "sam")
    with client.session_transaction() as sess:
        sess["seen"] = int(time.time()) - 29 * 60
        before = sess["seen"]
    assert client.get("/ding/pending", headers={"Accept": "application/json"}).status_code == 200
    with client.session_transaction() as sess:
        assert sess["seen"] == before                               # a page's own poll is not activity
    assert client.get("/people").status_code == 200
    with client.session_transaction() as sess:
        assert sess["seen"] > before                                # a visit is
        sess["seen"] = int(time.time()) - 31 * 60
    response = client.get("/people")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "logged out after 30 minutes without activity" in page


def test_without_limits_an_old_session_still_works(client, org):
    login(client, "sam")
    with client.session_transaction() as sess:
        sess["at"] -= 11 * 3600
        sess["seen"] -= 11 * 3600
    assert client.get("/people").status_code == 200


# --- network allow-list ------------------------------------------------------------------------

def test_tenant_wide_allow_list_refuses_other_addresses_with_a_branded_page(client, org):
    set_policy(org["tenant"], login__ip_scope="tenant", login__ip_allow="10.0.0.0/8,2001:db8::/32")
    for address in ("10.1.2.3", "2001:db8::7", "::ffff:10.1.2.3"):
        client.environ_base["REMOTE_ADDR"] = address
        assert client.get("/login").status_code == 200, address
    client.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    assert login(client, "sam").status_code == 302
    for address in ("203.0.113.9", "2001:db9::1", "unknown"):
        client.environ_base["REMOTE_ADDR"] = address
        for path in ("/login", "/people", "/api/v1/me"):
            assert client.get(path).status_code == 403, (address, path)
    body = client.get("/people").get_data(as_text=True)
    assert "network address is not allowed" in body
    stylesheet = re.search(r'<link rel="stylesheet" href="(/brand/[^"]+)"', body).group(1)
    assert client.get(stylesheet).status_code == 200                # the refusal wears the tenant's brand
    with client.get("/static/atrium.css") as static:
        assert static.status_code == 200


def test_allow_list_for_admins_guards_admin_pages_and_staff_logins(app, org):
    set_policy(org["tenant"], login__ip_scope="admins", login__ip_allow="10.0.0.0/8")
    inside = app.test_client()
    inside.environ_base["REMOTE_ADDR"] = "10.0.0.4"
    for name, expected in (("sam", 302), ("alice", 403), ("dana", 403)):
        outside = app.test_client()
        outside.environ_base["REMOTE_ADDR"] = "198.51.100.4"
        response = login(outside, name)
        assert response.status_code == expected, name                 # members log in from anywhere, staff do not
        if expected == 403:
            assert "Admins cannot log in from your network address" in response.get_data(as_text=True)
        else:
            assert outside.get("/people").status_code == 200
    assert login(inside, "alice").status_code == 302
    assert inside.get("/admin/people").status_code == 200
    inside.environ_base["REMOTE_ADDR"] = "198.51.100.4"              # the same session, now from outside
    response = inside.get("/admin/people")
    assert response.status_code == 403 and "Admin pages cannot be reached" in response.get_data(as_text=True)
    assert inside.get("/people").status_code == 200


# --- lock-out -----------------------------------------------------------------------------------

def test_lockout_after_consecutive_failures_then_admin_unlocks(app, org):
    set_policy(org["tenant"], login__lockout_after="3")
    sam = app.test_client()
    for _ in range(3):
        assert login(sam, "sam", "wrong-password").status_code == 401
    assert fresh(org["sam"]).locked_at is not None
    locked = login(sam, "sam")
    assert locked.status_code == 403 and "locked" in locked.get_data(as_text=True)
    # A wrong password on the locked account reads exactly as one for a login that does not exist.
    again, unknown = login(sam, "sam", "wrong-password"), login(sam, "nobody", "wrong-password")
    assert (again.status_code, again.get_data(as_text=True).replace("sam", "nobody")) == \
        (unknown.status_code, unknown.get_data(as_text=True))
    admin = app.test_client()
    login(admin, "alice")
    people = admin.get("/admin/people").get_data(as_text=True)
    assert "Locked" in people
    card = admin.get(f"/admin/people/{org['sam'].id}").get_data(as_text=True)
    assert "Unlock" in card
    assert post_form(admin, f"/admin/people/{org['sam'].id}/unlock", page=f"/admin/people/{org['sam'].id}").status_code == 302
    sam_now = fresh(org["sam"])
    assert sam_now.locked_at is None and sam_now.failed_logins == 0
    assert login(sam, "sam").status_code == 302


def test_failures_are_throttled_first_then_the_account_locks(app, org):
    limit = app.config["ATRIUM"].login.max_failures
    set_policy(org["tenant"], login__lockout_after=str(limit + 2))
    client = app.test_client()
    for _ in range(limit):
        assert login(client, "sam", "wrong-password").status_code == 401
    assert login(client, "sam", "wrong-password").status_code == 429       # throttled: not even checked
    assert fresh(org["sam"]).failed_logins == limit and fresh(org["sam"]).locked_at is None
    window = app.config["ATRIUM"].login.window_seconds
    LoginFailure.update(at=utcnow() - datetime.timedelta(seconds=window + 1)).execute()   # the window passes
    for _ in range(2):
        assert login(client, "sam", "wrong-password").status_code == 401
    assert fresh(org["sam"]).locked_at is not None
    assert login(client, "sam").status_code == 403
    admin = app.test_client()
    login(admin, "alice")
    post_form(admin, f"/admin/people/{org['sam'].id}/unlock", page=f"/admin/people/{org['sam'].id}")
    assert login(client, "sam").status_code == 302                       # unlocking also ends the throttling


def test_a_success_resets_the_count_and_lockout_off_never_locks(app, org):
    set_policy(org["tenant"], login__lockout_after="3")
    client = app.test_client()
    for _ in range(2):
        login(client, "sam", "wrong-password")
    assert login(client, "sam").status_code == 302
    post_form(client, "/logout")
    for _ in range(2):
        login(client, "sam", "wrong-password")
    assert fresh(org["sam"]).locked_at is None
    set_policy(org["tenant"], login__lockout_after="0")
    LoginFailure.delete().execute()
    for _ in range(4):
        login(client, "sam", "wrong-password")
    assert fresh(org["sam"]).locked_at is None


def test_unlock_command_is_the_operators_way_back_in(app, database_url, org):
    set_policy(org["tenant"], login__lockout_after="1")
    login(app.test_client(), "alice", "wrong-password")
    assert fresh(org["alice"]).locked_at is not None
    result = cli(app, database_url, "user", "unlock", "acme", "alice")
    assert result.exit_code == 0 and "unlocked" in result.output
    assert fresh(org["alice"]).locked_at is None
    assert cli(app, database_url, "user", "unlock", "acme", "ghost").exit_code == 1


# --- privacy ------------------------------------------------------------------------------------

def api_get(client, person, path):
    _token, secret = create_token(person, "test", ["directory:read"], 30)
    return client.get(path, headers={"Authorization": f"Bearer {secret}"})


def test_contacts_are_hidden_outside_the_department_and_below_the_role(app, org):
    set_policy(org["tenant"], privacy__hide_contacts="mobile,email")
    eric, sam = org["eric"], org["sam"]
    viewers = {name: app.test_client() for name in ("eric", "sue", "alice", "dana")}
    for name, client in viewers.items():
        login(client, name)
    card = {name: client.get(f"/people/{sam.id}").get_data(as_text=True) for name, client in viewers.items()}
    assert "138 1234 5678" not in card["eric"] and "sam@acme.example" not in card["eric"]   # another department
    assert "138 1234 5678" in card["sue"] and "sam@acme.example" in card["sue"]             # the same department
    assert "138 1234 5678" in card["alice"]                                                  # an admin
    assert "138 1234 5678" not in card["dana"]                                               # below the chosen role
    assert "137 8765 4321" in viewers["eric"].get("/").get_data(as_text=True)               # one's own card
    # A search cannot probe for a hidden number or address; names still find people.
    assert "Sam Seller" not in viewers["eric"].get("/people?q=1234 5678").get_data(as_text=True)
    assert "Sam Seller" not in viewers["eric"].get("/people?q=sam@acme").get_data(as_text=True)
    assert "Sam Seller" in viewers["eric"].get("/people?q=seller").get_data(as_text=True)
    assert "Sam Seller" in viewers["sue"].get("/people?q=1234 5678").get_data(as_text=True)
    assert "Sam Seller" in viewers["alice"].get("/people?q=sam@acme").get_data(as_text=True)
    # The API says the same.
    api = app.test_client()
    answer = api_get(api, fresh(eric), f"/api/v1/people/{sam.id}")
    openapi.check(answer, "/people/{person_id}")
    hidden = answer.json
    assert hidden["mobile"] is None and hidden["email"] is None and hidden["name"] == "Sam Seller"
    assert api_get(api, fresh(org["sue"]), f"/api/v1/people/{sam.id}").json["mobile"] == "+86 138 1234 5678"
    answer = api_get(api, fresh(eric), "/api/v1/people?q=seller")
    openapi.check(answer, "/people")
    listed = answer.json["people"]
    assert listed and all(p["mobile"] is None and p["email"] is None for p in listed)
    assert api_get(api, fresh(eric), "/api/v1/people?q=5678").json["people"] == []
    assert api_get(api, fresh(eric), "/api/v1/me").json["person"]["mobile"] == "+86 137 8765 4321"


def test_contact_rules_follow_the_chosen_exceptions(app, org):
    sam = org["sam"]
    set_policy(org["tenant"], privacy__hide_contacts="mobile", privacy__contacts_department="off",
               privacy__contacts_role="dept_admin")
    for name, sees in (("sue", False), ("dana", True), ("eric", False)):
        client = app.test_client()
        login(client, name)
        card = client.get(f"/people/{sam.id}").get_data(as_text=True)
        assert ("138 1234 5678" in card) is sees, name
        assert "sam@acme.example" in card                                   # only the mobile is hidden


def test_hidden_departments_leave_the_directory_but_not_the_admin_pages(app, org):
    set_policy(org["tenant"], privacy__hidden_departments=str(org["sales"].id))
    client = app.test_client()
    login(client, "eric")
    home = client.get("/").get_data(as_text=True)
    assert "Sales" not in home and "East" not in home and "Engineering" in home
    assert client.get(f"/departments/{org['sales'].id}").status_code == 404
    assert client.get(f"/departments/{org['east'].id}").status_code == 404    # its sub-departments too
    assert client.get(f"/departments/{org['eng'].id}").status_code == 200
    card = client.get(f"/people/{org['sam'].id}").get_data(as_text=True)
    assert "Sam Seller" in card and "Sales" not in card
    listing = client.get("/people?q=seller").get_data(as_text=True)
    assert "Sam Seller" in listing and "Sales" not in listing
    api = app.test_client()
    answer = api_get(api, fresh(org["eric"]), "/api/v1/departments")
    openapi.check(answer, "/departments")
    departments = answer.json["departments"]
    assert [d["name"] for d in departments] == ["Engineering"]
    assert api_get(api, fresh(org["eric"]), f"/api/v1/people/{org['sam'].id}").json["department_path"] == []
    people = api_get(api, fresh(org["eric"]), "/api/v1/people?q=ed east").json["people"]
    assert people[0]["department_path"] == []
    admin = app.test_client()
    login(admin, "alice")
    assert "Sales" in admin.get("/admin/departments").get_data(as_text=True)
    assert "Sales" not in admin.get("/").get_data(as_text=True)              # the directory hides it from admins too


# --- files --------------------------------------------------------------------------------------

@pytest.fixture
def conversation(org):
    return chat.direct_conversation(org["tenant"], org["sam"], org["sue"].id)


def send(client, conversation, data, name):
    """Post an attachment; the body is built in memory (the test client would spool a large one to a file it
    never closes)."""
    token = csrf_from(client.get(f"/chat/{conversation.id}").get_data(as_text=True))
    stream, _length, boundary = stream_encode_multipart(
        {"text": "", "csrf_token": token, "attachment": FileStorage(io.BytesIO(data), name)}, use_tempfile=False)
    return client.post(f"/chat/{conversation.id}/messages", content_type=f"multipart/form-data; boundary={boundary}",
                       headers={"Accept": "application/json"}, data=stream.read())


def test_file_policy_limits_size_and_kinds(client, org, conversation):
    login(client, "sam")
    assert send(client, conversation, b"x" * (1024 * 1024 + 1), "big.txt").status_code == 201   # the install allows it
    set_policy(org["tenant"], files__max_mb="1", files__allowed_types="png,pdf")
    too_big = send(client, conversation, b"%PDF-" + b"x" * (1024 * 1024), "big.pdf")
    assert too_big.status_code == 400 and "at most 1 MB" in too_big.json["error"]
    refused = send(client, conversation, b"just some notes", "notes.txt")
    assert refused.status_code == 400 and "PNG, PDF" in refused.json["error"]
    assert send(client, conversation, PNG, "picture.txt").status_code == 400      # the name must fit the content
    assert send(client, conversation, b"plain text", "fake.png").status_code == 400
    assert send(client, conversation, PNG, "picture.png").status_code == 201


def test_downloads_can_be_turned_off_for_chosen_roles(app, org, conversation):
    sam, sue = app.test_client(), app.test_client()
    login(sam, "sam")
    login(sue, "sue")
    sent = send(sam, conversation, PNG, "chart.png").json
    path = f"/chat/{conversation.id}/attachments/{sent['id']}"
    assert sue.get(path).status_code == 200
    set_policy(org["tenant"], files__no_download_roles="member")
    refused = sue.get(path)
    assert refused.status_code == 403 and "Downloading files is turned off for your role" in refused.get_data(as_text=True)
    page = sue.get(f"/chat/{conversation.id}").get_data(as_text=True)
    assert "chart.png" in page and path not in page and "downloads are turned off" in page
    alice_conv = chat.direct_conversation(org["tenant"], org["alice"], org["sam"].id)
    alice = app.test_client()
    login(alice, "alice")
    sent = send(alice, alice_conv, PNG, "plan.png").json
    assert alice.get(f"/chat/{alice_conv.id}/attachments/{sent['id']}").status_code == 200   # admins still may


# --- watermark ----------------------------------------------------------------------------------

def test_watermark_over_chat_and_announcement_pages_only(client, org, conversation):
    announcement = publish_announcement(org["tenant"], org["alice"], "Q3", "Numbers", to_all=True)
    login(client, "sam")
    chat_page = f"/chat/{conversation.id}"
    assert 'class="watermark"' not in client.get(chat_page).get_data(as_text=True)
    set_policy(org["tenant"], watermark__enabled="on")
    for path in ("/chat/", chat_page, "/announcements/", f"/announcements/{announcement.id}"):
        body = client.get(path).get_data(as_text=True)
        assert '<div class="watermark" aria-hidden="true"><span>Sam Seller 5678</span>' in body, path
        assert body.count("<span>Sam Seller 5678</span>") > 50
    for path in ("/", "/people", "/me/settings"):
        assert 'class="watermark"' not in client.get(path).get_data(as_text=True), path
    css = (Path(__file__).resolve().parents[1] / "app" / "static" / "atrium.css").read_text()
    rule = css[css.index(".watermark {"):].split("}")[0]
    assert "position: fixed" in rule and "pointer-events: none" in rule and "var(--color-" in rule
    assert "#" not in rule                                                   # colours come from the brand


def test_watermark_without_a_mobile_and_with_hostile_names(app, org, tenant):
    set_policy(org["tenant"], watermark__enabled="on")
    hostile = (Path(__file__).resolve().parent / "data" / "hostile_text.txt").read_text().splitlines()
    names = [line for line in hostile if line.strip() and not line.startswith("#")][:12]
    assert names
    for number, name in enumerate(names):
        person = make_person(tenant, f"h{number}", display_name=name[:200], mobile="+86 135 0000 0042")
        client = app.test_client()
        login(client, person.login)
        conv = chat.direct_conversation(tenant, fresh(person), org["sam"].id)
        body = client.get(f"/chat/{conv.id}").get_data(as_text=True)
        overlay = body[body.index('<div class="watermark" aria-hidden="true">'):]
        overlay = overlay[:overlay.index("</div>")]
        assert overlay.count("0042</span>") > 50 and not inert.problems(overlay.split(">", 1)[1]), name
    sue = app.test_client()
    login(sue, "sue")
    assert "<span>Sue Seller</span>" in sue.get("/chat/").get_data(as_text=True)   # no mobile: the name alone
