"""A directory that fails half-way changes nothing: hung, killed, size-limited, or refusing the bind."""
from __future__ import annotations

import json
import logging

import pytest

from app.org.ldap.models import SyncRun
from app.org.ldap.sync import run_sync
from app.org.models import Person
from app.tenancy.scope import TenantScope
from tests.ldap.builder import SERVICE_PASSWORD, Directory
from tests.ldap.conftest import cli, configure


def snapshot(tenant):
    return sorted((p.login, p.title, p.is_active, p.session_epoch) for p in TenantScope(tenant).select(Person))


def build(server):
    d = Directory(server, "openldap")
    it = d.ou("IT")
    for n in range(30):
        d.person(f"p{n:02d}", f"Person {n}", it, title="Before")
    return d.load()


def change_everything(d):
    for n in range(30):
        d.modify(f"uid=p{n:02d},ou=IT,{d.org}", title="After")


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["hang", "kill"])
def test_a_directory_failing_mid_sync_changes_nothing(tenant, own_slapd, fault, caplog):
    d = build(own_slapd)
    configure(tenant, d, receive_timeout=1, max_deactivation_share=1.0)
    assert run_sync(tenant).run.status == "ok"
    change_everything(d)
    d.close()
    before = snapshot(tenant)

    def break_it(count):
        if count == 10:
            own_slapd.pause() if fault == "hang" else own_slapd.kill()

    with caplog.at_level(logging.WARNING, logger="app.org.ldap"):
        result = run_sync(tenant, progress=break_it, progress_every=1)
    run = result.run
    assert run.status == "failed" and result.plan is None
    assert run.reason.startswith("LDAP") and " at uid=p" in run.reason    # class name and the DN, nothing else
    assert snapshot(tenant) == before
    assert SERVICE_PASSWORD not in caplog.text and run.reason in caplog.text
    if fault == "hang":
        own_slapd.resume()
    else:
        own_slapd.restart()
    assert run_sync(tenant).run.status == "ok"
    assert {title for _l, title, _a, _e in snapshot(tenant)} == {"After"}


def test_a_size_limit_is_a_failure_not_a_short_directory(tenant, slapd):
    d = Directory(slapd, "openldap")
    for n in range(6):
        d.person(f"p{n}", f"Person {n}")
    d.add(f"cn=limited,{d.base}", {"objectClass": ["organizationalRole", "simpleSecurityObject"], "cn": "limited",
                                   "userPassword": SERVICE_PASSWORD})
    d.load()
    d.close()
    configure(tenant, d, bind_dn=f"cn=limited,{d.base}", department_source="attribute")
    result = run_sync(tenant)
    assert result.run.status == "failed" and result.run.reason.startswith("LDAPSizeLimitExceededResult")
    assert TenantScope(tenant).select(Person).count() == 0


def test_cli_exits_1_and_records_the_failure_when_the_directory_is_down(app, database_url, tenant, own_slapd):
    d = build(own_slapd)
    d.close()
    configure(tenant, d)
    own_slapd.kill()
    result = cli(app, database_url, "ldap-sync", "acme", "--json")
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["status"] == "failed" and data["reason"]
    assert TenantScope(tenant).select(SyncRun).get().status == "failed"
    test = cli(app, database_url, "ldap-test", "acme")
    assert test.exit_code == 1 and "cannot reach the directory" in test.output
    assert "Traceback" not in test.output


def test_ldap_test_names_bad_credentials_and_tls_failures(app, database_url, tenant, slapd):
    d = Directory(slapd, "openldap").load()
    d.close()
    configure(tenant, d)
    ok = cli(app, database_url, "ldap-test", "acme", "--json")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["ok"] is True
    from app.org.ldap.config import save_config

    save_config(tenant, d.settings(), new_bind_password="wrong-password")
    bad = cli(app, database_url, "ldap-test", "acme")
    assert bad.exit_code == 1 and "refused the bind DN or password" in bad.output
    assert "wrong-password" not in bad.output
    save_config(tenant, d.settings(security="ldaps", servers=[slapd.uri.replace("ldap://", "ldaps://")]))
    tls = cli(app, database_url, "ldap-test", "acme")
    assert tls.exit_code == 1 and "TLS" in tls.output
