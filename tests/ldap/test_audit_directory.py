"""The audit log of the directory sync against a real slapd: each run with its counts and who started it, connection
tests, and settings changes; the bind password never reaches the log."""
from __future__ import annotations

import getpass
import json

from app.audit.models import AuditEvent
from app.org.ldap.sync import run_sync
from tests.conftest import login, post_form
from tests.ldap.builder import SERVICE_PASSWORD
from tests.ldap.conftest import cli, configure


def _entries(action: str) -> list[AuditEvent]:
    return list(AuditEvent.select().where(AuditEvent.action == action).order_by(AuditEvent.id))


def _no_bind_password_anywhere():
    for row in AuditEvent.select().tuples():
        assert SERVICE_PASSWORD not in json.dumps(row, default=str, ensure_ascii=False)


def test_admin_test_preview_and_sync_are_audited_with_counts(client, tenant, directory, local_admin):
    d = directory
    d.person("wei", "Zhang Wei")
    d.person("li", "Li Na")
    d.load()
    configure(tenant, d)
    assert login(client, "root").status_code == 302
    post_form(client, "/admin/directory/test", page="/admin/directory/")
    post_form(client, "/admin/directory/preview", {"kind": "full"}, page="/admin/directory/")
    post_form(client, "/admin/directory/sync", {"kind": "full"}, page="/admin/directory/")

    (tested,) = _entries("directory.test")
    assert tested.actor_label == "root" and tested.outcome == "ok" and tested.via == "web"
    assert json.loads(tested.changes)["people"] == 2
    preview, synced = _entries("directory.sync")
    for entry in (preview, synced):
        assert (entry.actor_label, entry.actor_id, entry.address, entry.tenant_id) == (
            "root", local_admin.id, "127.0.0.1", tenant.id)
    assert json.loads(preview.changes)["dry_run"] is True
    changes = json.loads(synced.changes)
    assert changes["dry_run"] is False and changes["status"] == "ok" and changes["counts"]["created"] == 2
    _no_bind_password_anywhere()


def test_the_scheduled_sync_is_audited_as_the_directory_sync(app, database_url, tenant, directory, local_admin):
    d = directory
    d.person("wei", "Zhang Wei")
    d.load()
    configure(tenant, d, schedule_enabled=True)
    result = cli(app, database_url, "ldap-sync", "--all")
    assert result.exit_code == 0, result.output
    (entry,) = _entries("directory.sync")
    assert (entry.actor_label, entry.actor_id, entry.via, entry.outcome) == ("directory sync", None, "worker", "ok")
    assert json.loads(entry.changes)["counts"]["created"] == 1

    manual = cli(app, database_url, "ldap-sync", "acme", "--dry-run")
    assert manual.exit_code == 0, manual.output
    assert (_entries("directory.sync")[-1].actor_label, _entries("directory.sync")[-1].via) == (
        f"cli ({getpass.getuser()})", "cli")
    tested = cli(app, database_url, "ldap-test", "acme")
    assert tested.exit_code == 0 and _entries("directory.test")[-1].outcome == "ok"
    _no_bind_password_anywhere()


def test_a_sync_stopped_by_the_guard_is_recorded_as_refused(tenant, directory, local_admin):
    d = directory
    gone = [d.person(f"p{n}", f"Person {n}") for n in range(3)]
    d.load()
    configure(tenant, d)
    assert run_sync(tenant).run.status == "ok"
    for dn in gone:
        d.delete(dn)
    assert run_sync(tenant).run.status == "aborted"
    stopped = _entries("directory.sync")[-1]
    assert stopped.outcome == "refused" and json.loads(stopped.changes)["reason"] == "guard"


def test_failed_connection_tests_are_audited_without_the_servers_words(app, database_url, tenant, directory,
                                                                        local_admin):
    configure(tenant, directory, bind_dn="cn=nobody,dc=example,dc=com")
    result = cli(app, database_url, "ldap-test", "acme")
    assert result.exit_code == 1
    entry = _entries("directory.test")[-1]
    assert entry.outcome == "failed" and json.loads(entry.changes)["error"] == "credentials"
