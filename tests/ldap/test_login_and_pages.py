"""Directory login, the admin pages and the commands of the directory sync."""
from __future__ import annotations

import json
import logging

import pytest

from app.org.ldap.models import DirectoryConfig, SyncRun
from app.org.ldap.sync import run_sync
from app.org.models import Person
from app.tenancy.scope import TenantScope
from tests.conftest import TEST_PASSWORD, login, make_person, post_form
from tests.ldap.builder import SERVICE_PASSWORD, USER_PASSWORD
from tests.ldap.conftest import cli, configure


@pytest.fixture
def synced(tenant, directory, local_admin):
    d = directory
    d.person("wei", "Zhang Wei", email="wei@acme.example")
    d.person("ghost", "Not Synced Yet")
    d.person("locked", "Locked Person")
    d.load()
    configure(tenant, d)
    assert run_sync(tenant).run.status == "ok"
    ghost = TenantScope(tenant).select(Person).where(Person.login == "ghost").get()
    ghost.delete_instance()                              # in the directory, not (yet) in Atrium
    return d


def test_directory_login_succeeds_with_the_directory_password(client, synced):
    response = login(client, "wei", USER_PASSWORD)
    assert response.status_code == 302
    assert "Zhang Wei" in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("name, password", [
    ("wei", "wrong-password"), ("ghost", USER_PASSWORD), ("*", USER_PASSWORD), ("*)(uid=*", USER_PASSWORD),
    ("admin)(|(uid=*", USER_PASSWORD), ("wei)(uid=*", USER_PASSWORD), ("w*", USER_PASSWORD),
])
def test_wrong_passwords_unsynced_people_and_filter_injection_never_get_in(client, synced, name, password):
    assert login(client, name, password).status_code == 401
    assert client.get("/").status_code == 302


def test_an_empty_password_is_refused_before_any_bind(client, synced, tenant):
    from app.org.ldap.login import check_directory_password

    wei = TenantScope(tenant).select(Person).where(Person.login == "wei").get()
    assert check_directory_password(tenant, wei, "") is False
    assert login(client, "wei", "").status_code == 400


def test_a_locked_entry_cannot_log_in_even_before_the_next_sync(client, synced):
    synced.disable(f"uid=locked,{synced.people}")
    assert login(client, "locked", USER_PASSWORD).status_code == 401


def test_failed_directory_logins_are_throttled(client, synced, app):
    for _ in range(app.config["ATRIUM"].login.max_failures):
        assert login(client, "wei", "wrong-password").status_code == 401
    assert login(client, "wei", USER_PASSWORD).status_code == 429


def test_an_unreachable_directory_says_so_on_the_login_page(client, synced, tenant):
    from app.org.ldap.config import save_config
    from tests.servers import free_port

    save_config(tenant, synced.settings(servers=[f"ldap://127.0.0.1:{free_port()}"]))
    response = login(client, "wei", USER_PASSWORD)
    body = response.get_data(as_text=True)
    assert response.status_code == 503 and "directory is unavailable" in body
    assert "Traceback" not in body and "LDAP" not in body
    assert login(client, "root", TEST_PASSWORD).status_code == 302   # local accounts still log in


def test_the_bind_password_is_stored_encrypted_and_never_logged(tenant, synced, caplog):
    config = TenantScope(tenant).select(DirectoryConfig).get()
    assert SERVICE_PASSWORD not in (config.bind_password_encrypted or "")
    with caplog.at_level(logging.DEBUG):
        run_sync(tenant, dry_run=True)
        from app.org.ldap.directory import check_connection
        check_connection(config)
    assert caplog.text and SERVICE_PASSWORD not in caplog.text


# --- admin pages ----------------------------------------------------------------------------

def test_admin_pages_configure_test_preview_and_sync(client, tenant, directory, local_admin):
    d = directory
    d.person("wei", "Zhang Wei")
    d.load()
    assert login(client, "root").status_code == 302
    assert client.get("/admin/directory/").status_code == 200
    form = {"enabled": "1", "preset": "openldap", "servers": d.server.uri, "security": "none",
            "bind_dn": d.service_dn, "bind_password": SERVICE_PASSWORD, "user_base_dns": d.base,
            "user_filter": "(objectClass=inetOrgPerson)", "department_source": "ou", "department_base_dn": d.org,
            "mapping": "department_head = managedBy\ndepartment_order = departmentOrder", "page_size": "50",
            "connect_timeout": "2", "receive_timeout": "5", "max_deactivation_share": "0.1"}
    response = post_form(client, "/admin/directory/", form, page="/admin/directory/")
    assert response.status_code == 302
    page = client.get("/admin/directory/").get_data(as_text=True)
    assert SERVICE_PASSWORD not in page and "unchanged" in page and "managedBy" in page

    tested = post_form(client, "/admin/directory/test", page="/admin/directory/")
    assert tested.status_code == 302
    assert "1 people" in client.get("/admin/directory/").get_data(as_text=True)

    preview = post_form(client, "/admin/directory/preview", {"kind": "full"}, page="/admin/directory/")
    run_page = client.get(preview.headers["Location"]).get_data(as_text=True)
    assert "wei" in run_page and "Zhang Wei" in run_page
    assert not TenantScope(tenant).select(Person).where(Person.login == "wei").exists()

    synced = post_form(client, "/admin/directory/sync", {"kind": "full"}, page="/admin/directory/")
    assert synced.status_code == 302
    assert TenantScope(tenant).select(Person).where(Person.login == "wei").exists()
    history = client.get("/admin/directory/runs").get_data(as_text=True)
    assert history.count("/admin/directory/runs/") == 2
    run = TenantScope(tenant).select(SyncRun).order_by(SyncRun.id.desc()).first()
    assert run.origin == "admin" and run.started_by_id == local_admin.id


def test_settings_errors_name_the_field_and_keep_the_password_out(client, tenant, local_admin):
    login(client, "root")
    form = {"preset": "openldap", "servers": "http://wrong", "bind_password": "typed-secret",
            "user_base_dns": "dc=x", "department_source": "ou", "department_base_dn": "dc=x"}
    response = post_form(client, "/admin/directory/", form, page="/admin/directory/")
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and "ldap://" in body and "typed-secret" not in body


def test_the_guard_page_offers_a_forced_sync(client, tenant, directory, local_admin):
    d = directory
    gone = d.person("gone", "Gone Soon")
    d.person("stays", "Stays")
    d.load()
    configure(tenant, d)
    run_sync(tenant)
    d.delete(gone)
    login(client, "root")
    response = post_form(client, "/admin/directory/sync", {"kind": "full"}, page="/admin/directory/")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="force"' in page and "gone" in page
    forced = post_form(client, "/admin/directory/sync", {"kind": "full", "force": "1"}, page="/admin/directory/")
    assert forced.status_code == 302
    assert not TenantScope(tenant).select(Person).where(Person.login == "gone").get().is_active


def test_pages_are_for_admins_of_this_tenant_only(client, tenant, other_tenant, directory, local_admin):
    make_person(tenant, "member")
    other = make_person(other_tenant, "boss", role="admin")
    configure(other_tenant, directory.load())
    their_run = run_sync(other_tenant, dry_run=True).run
    login(client, "member")
    assert client.get("/admin/directory/").status_code == 403
    post_form(client, "/logout")
    login(client, "root")
    assert client.get(f"/admin/directory/runs/{their_run.id}").status_code == 404
    assert other.is_admin


# --- commands --------------------------------------------------------------------------------

def test_ldap_config_from_a_file_show_and_bad_keys(app, database_url, tenant, directory, tmp_path):
    d = directory.load()
    good = tmp_path / "directory.toml"
    good.write_text(f'''preset = "openldap"
servers = ["{d.server.uri}"]
bind_dn = "{d.service_dn}"
user_base_dns = ["{d.base}"]
department_source = "ou"
department_base_dn = "{d.org}"
schedule_enabled = true

[mapping]
department_head = "managedBy"
''')
    result = cli(app, database_url, "ldap-config", "acme", "--from-file", str(good), "--bind-password-stdin",
                 input=SERVICE_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    shown = cli(app, database_url, "ldap-config", "acme", "--show", "--json")
    data = json.loads(shown.output)
    assert data["bind_password"] == "set" and data["mapping"] == {"department_head": "managedBy"}
    assert SERVICE_PASSWORD not in shown.output and SERVICE_PASSWORD not in result.output

    for text, key in [('nonsense = 1\n', "nonsense"), ('bind_password = "x"\n', "bind_password"),
                      (good.read_text().replace("department_head", "head_of_dept"), "mapping.head_of_dept"),
                      (good.read_text().replace('preset = "openldap"', 'preset = "novell"'), "preset")]:
        bad = tmp_path / "bad.toml"
        bad.write_text(text)
        refused = cli(app, database_url, "ldap-config", "acme", "--from-file", str(bad))
        assert refused.exit_code == 2 and key in refused.output, (key, refused.output)


def test_ldap_sync_dry_run_json_and_all(app, database_url, tenant, other_tenant, directory, local_admin):
    d = directory
    d.person("wei", "Zhang Wei")
    d.load()
    configure(tenant, d, schedule_enabled=True)
    dry = cli(app, database_url, "ldap-sync", "acme", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    data = json.loads(dry.output)
    assert data["dry_run"] and data["counts"]["created"] == 1 and data["plan"]["creates"][0]["login"] == "wei"
    assert SERVICE_PASSWORD not in dry.output
    assert not TenantScope(tenant).select(Person).where(Person.login == "wei").exists()

    human = cli(app, database_url, "ldap-sync", "acme", "--incremental")
    assert human.exit_code == 0 and "full sync ok" in human.output   # no mark yet: a full sync
    everyone = cli(app, database_url, "ldap-sync", "--all", "--json")
    assert everyone.exit_code == 0
    assert [r["tenant"] for r in json.loads(everyone.output)] == ["acme"]      # globex has no directory
    assert cli(app, database_url, "ldap-sync", "globex").exit_code == 2
    assert cli(app, database_url, "ldap-sync").exit_code == 2
    runs = list(TenantScope(tenant).select(SyncRun).order_by(SyncRun.id))
    assert [r.origin for r in runs] == ["cli", "cli", "schedule"]


# --- security policies with directory logins ------------------------------------------------

def _policy(tenant, **changes):
    from app.security.policy import PolicyLimits, save_policy

    return save_policy(tenant, {k.replace("__", "."): v for k, v in changes.items()},
                       PolicyLimits(max_session_hours=12, max_file_mb=20), partial=True)


def test_directory_logins_are_throttled_then_locked_until_an_admin_unlocks(app, synced, tenant):
    import datetime

    from app.db import utcnow
    from app.security.models import LoginFailure

    rules = app.config["ATRIUM"].login
    _policy(tenant, login__lockout_after=str(rules.max_failures + 1))
    wei = TenantScope(tenant).select(Person).where(Person.login == "wei").get()
    client = app.test_client()
    for _ in range(rules.max_failures):
        assert login(client, "wei", "wrong-password").status_code == 401
    assert login(client, "wei", USER_PASSWORD).status_code == 429           # throttled first
    LoginFailure.update(at=utcnow() - datetime.timedelta(seconds=rules.window_seconds + 1)).execute()
    assert login(client, "wei", "wrong-password").status_code == 401
    assert Person.get_by_id(wei.id).locked_at is not None                   # then locked out
    locked = login(client, "wei", USER_PASSWORD)
    assert locked.status_code == 403 and "locked" in locked.get_data(as_text=True)
    again, unknown = login(client, "wei", "wrong-password"), login(client, "ghost", "wrong-password")
    assert again.status_code == unknown.status_code == 401                  # nothing tells the two apart
    admin = app.test_client()
    login(admin, "root")
    assert post_form(admin, f"/admin/people/{wei.id}/unlock", page=f"/admin/people/{wei.id}").status_code == 302
    assert login(client, "wei", USER_PASSWORD).status_code == 302


def test_directory_only_lets_directory_people_and_local_admins_in(app, synced, tenant):
    make_person(tenant, "temp", display_name="Local Temp")
    _policy(tenant, login__directory_only="on")
    for name, password, status in (("wei", USER_PASSWORD, 302), ("temp", TEST_PASSWORD, 403),
                                   ("root", TEST_PASSWORD, 302)):
        assert login(app.test_client(), name, password).status_code == status, name


def test_a_sync_never_overwrites_a_role_given_in_atrium(synced, tenant):
    from app.org.service import save_department, save_person

    scope = TenantScope(tenant)
    wei = scope.select(Person).where(Person.login == "wei").get()
    locked = scope.select(Person).where(Person.login == "locked").get()
    dept = save_department(tenant, None, {"name": "Project Office"})
    save_person(tenant, wei, {"display_name": wei.display_name, "role": "dept_admin",
                              "admin_department_id": str(dept.id), "department_ids": [str(dept.id)]})
    save_person(tenant, locked, {"display_name": locked.display_name, "role": "auditor"})
    synced.modify(f"uid=wei,{synced.people}", cn="Zhang Wei Jr", mail="wei.jr@acme.example")
    synced.modify(f"uid=locked,{synced.people}", cn="Locked Renamed")
    assert run_sync(tenant, kind="full").run.status == "ok"
    wei, locked = Person.get_by_id(wei.id), Person.get_by_id(locked.id)
    assert wei.display_name == "Zhang Wei Jr" and wei.email == "wei.jr@acme.example"   # the directory's facts
    assert (wei.role, wei.admin_department_id) == ("dept_admin", dept.id)              # Atrium's roles
    assert locked.display_name == "Locked Renamed" and locked.role == "auditor"
