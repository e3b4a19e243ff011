"""The audit log: append-only (in the code, the model and the database), an entry for every audited action with
who/when/where/what, no secrets, the admin page's filters, and `atrium audit export` as JSON lines."""
from __future__ import annotations

import datetime
import getpass
import json
import pathlib
import re
from dataclasses import dataclass, field
from typing import Callable

import peewee
import pytest
from click.testing import CliRunner

from app.audit import Actor, Target, record
from app.audit.models import AppendOnly, AuditEvent
from app.audit.service import REDACTED, difference, redact
from app.db import db, utcnow
from app.org.models import Department, Person
from app.org.service import deactivate_person, save_department
from app.security.tokens import ApiToken, create_token
from app.tenancy.models import Tenant
from tests.conftest import TEST_PASSWORD, login, make_person, post_form

APP = pathlib.Path(__file__).resolve().parents[1] / "app"

# --- append-only ------------------------------------------------------------------------------------

# A call that would change or remove audit rows through the model, or SQL that would, anywhere in app/.
_MODEL_WRITE = re.compile(r"\bAuditEvent\s*\.\s*(update|delete|replace|replace_many|bulk_update"
                          r"|truncate_table|drop_table|raw|delete_by_id|set_by_id)\s*\(")
_SQL_WRITE = re.compile(r"\b(UPDATE\s+\"?audit_event\b|DELETE\s+FROM\s+\"?audit_event\b|TRUNCATE\s+(TABLE\s+)?"
                        r"\"?audit_event\b|DROP\s+TABLE\s+(IF\s+EXISTS\s+)?\"?audit_event\b"
                        r"|ALTER\s+TABLE\s+\"?audit_event\"?\s+(DISABLE|DROP)\b|DROP\s+TRIGGER\s+(IF\s+EXISTS\s+)?"
                        r"audit_event)", re.IGNORECASE)
# In a module that uses the audit model: a row loaded and then saved or deleted (`event.save()`), or an insert
# that turns into an update on conflict.
_ROW_WRITE = re.compile(r"\b(audit_event|audit_entry|event|entry)\s*\.\s*(save|delete_instance)\s*\("
                        r"|\.\s*on_conflict(_replace)?\s*\(")


def _write_paths(text: str) -> list[str]:
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if _MODEL_WRITE.search(line) or _SQL_WRITE.search(line):
            found.append(f"{number}: {line.strip()}")
    return found


def test_no_code_in_the_application_changes_or_removes_audit_entries():
    """Static proof: nothing under app/ updates, deletes, truncates or drops the audit log."""
    offenders = []
    for path in sorted(APP.rglob("*.py")):
        text = path.read_text()
        for line in _write_paths(text):
            offenders.append(f"{path.relative_to(APP)}:{line}")
        if "AuditEvent" in text or "audit_event" in text:
            offenders += [f"{path.relative_to(APP)}:{n}: {line.strip()}"
                          for n, line in enumerate(text.splitlines(), 1) if _ROW_WRITE.search(line)]
    assert not offenders, "the audit log is append-only:\n" + "\n".join(offenders)
    # Only the audit package itself names the model.
    users = {str(p.relative_to(APP)) for p in APP.rglob("*.py") if re.search(r"\bAuditEvent\b", p.read_text())}
    assert users <= {"audit/models.py", "audit/service.py", "audit/views.py", "audit/cli.py"}, users


@pytest.mark.parametrize("line", [
    "AuditEvent.update(action='x').execute()", "AuditEvent.delete().where(AuditEvent.id == 1)",
    "AuditEvent . truncate_table()", 'db.execute_sql("DELETE FROM audit_event")',
    "db.execute_sql('UPDATE audit_event SET outcome = 1')", "TRUNCATE TABLE audit_event",
    'DROP TABLE IF EXISTS "audit_event"', "ALTER TABLE audit_event DISABLE TRIGGER ALL",
    "DROP TRIGGER audit_event_no_update", "AuditEvent.raw('...')",
])
def test_the_static_check_catches_a_write_path(line):
    assert _write_paths(line)


def test_the_static_check_catches_row_writes_and_upserts():
    for line in ("event.save()", "entry.delete_instance()", "AuditEvent.insert(**row).on_conflict(update={})",
                 "query.on_conflict_replace()"):
        assert _ROW_WRITE.search(line), line


def test_the_static_check_lets_the_triggers_and_inserts_through():
    for line in ("CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event",
                 "BEFORE UPDATE OR DELETE ON audit_event", "BEFORE TRUNCATE ON audit_event",
                 "AuditEvent.create(action='x')", "AuditEvent.select().where(AuditEvent.at > since)"):
        assert not _write_paths(line), line


def test_the_migrated_table_matches_the_model(app):
    columns = {c.name for c in db.get_columns("audit_event")}
    assert columns == {f.column_name for f in AuditEvent._meta.sorted_fields}
    assert not [f for f in AuditEvent._meta.sorted_fields if isinstance(f, peewee.ForeignKeyField)]


def test_the_model_refuses_to_change_or_remove_an_entry(app, tenant):
    entry = record("person.update", target=tenant, changes={"after": {"name": "x"}})
    entry.outcome = "failed"
    with pytest.raises(AppendOnly):
        entry.save()
    with pytest.raises(AppendOnly):
        entry.save(only=[AuditEvent.outcome])
    with pytest.raises(AppendOnly):
        entry.delete_instance()
    for attempt in (lambda: AuditEvent.update(outcome="failed"), lambda: AuditEvent.delete(),
                    lambda: AuditEvent.replace(action="x.y"), lambda: AuditEvent.replace_many([]),
                    lambda: AuditEvent.bulk_update([entry], fields=[AuditEvent.outcome]),
                    lambda: AuditEvent.delete_by_id(entry.id), lambda: AuditEvent.set_by_id(entry.id, {"via": "cli"}),
                    lambda: AuditEvent.truncate_table(), lambda: AuditEvent.drop_table()):
        with pytest.raises(AppendOnly):
            attempt()
    stored = AuditEvent.get_by_id(entry.id)
    assert stored.outcome == "ok" and AuditEvent.select().count() >= 1


@pytest.mark.parametrize("statement", [
    "UPDATE audit_event SET outcome = 'failed'",
    "UPDATE audit_event SET changes = NULL WHERE id = {id}",
    "DELETE FROM audit_event WHERE id = {id}",
    "DELETE FROM audit_event",
])
def test_the_database_refuses_update_and_delete(app, tenant, statement):
    entry = record("person.update", target=tenant, changes={"after": {"name": "x"}})
    count = AuditEvent.select().count()
    with pytest.raises(peewee.DatabaseError, match="append-only"):
        with db.atomic():
            db.execute_sql(statement.format(id=entry.id))
    assert AuditEvent.select().count() == count
    assert AuditEvent.get_by_id(entry.id).outcome == "ok" and AuditEvent.get_by_id(entry.id).changes


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_postgresql_refuses_truncate_too(app, tenant, database_url):
    record("person.update", target=tenant)
    with pytest.raises(peewee.DatabaseError, match="append-only"):
        with db.atomic():
            db.execute_sql("TRUNCATE audit_event")
    assert AuditEvent.select().count() >= 1


def test_inserting_still_works_and_entries_survive_their_tenant(app, tenant, other_tenant):
    from app.residency.transfer import delete_tenant

    make_person(other_tenant, "zed", role="admin")
    mine = AuditEvent.select().where(AuditEvent.tenant_id == other_tenant.id).count()
    assert mine >= 2                                # the tenant's creation and its admin's
    delete_tenant(other_tenant)
    assert Tenant.get_or_none(Tenant.id == other_tenant.id) is None
    kept = list(AuditEvent.select().where(AuditEvent.tenant_id == other_tenant.id))
    assert len(kept) == mine and {e.tenant_slug for e in kept} == {"globex"}


# --- an entry for every audited action ------------------------------------------------------------------

@dataclass
class Ctx:
    app: object
    client: object
    tenant: Tenant
    admin: Person
    member: Person
    tmp_path: pathlib.Path
    database_url: str

    def cli(self, *args, input=None, ssh=True):
        """`atrium ARGS` against the test's database, as if run over SSH from 203.0.113.9."""
        env = {"ATRIUM_DATA_DIR": str(self.tmp_path / "data"), "DATABASE_URL": self.database_url,
               "SSH_CONNECTION": "203.0.113.9 50022 192.0.2.1 22" if ssh else None, "SSH_CLIENT": None,
               "SUDO_USER": None}
        result = CliRunner().invoke(_main(), list(args), env=env, input=input, catch_exceptions=False)
        if not db.is_closed():
            db.close()
        return result


def _main():
    from app.cli import main
    return main


@dataclass
class Expect:
    actor: str
    via: str
    target: tuple | None = None            # (type, id or None)
    tenant: Tenant | None | str = "tenant"  # "tenant": the test's tenant; None: the install's own
    outcome: str = "ok"
    changes: Callable[[dict], bool] | None = None
    secrets: list[str] = field(default_factory=list)



def cli_actor() -> str:
    return f"cli ({getpass.getuser()})"


CASES: dict[str, Callable[[Ctx], Expect]] = {}


def case(action):
    def register(fn):
        CASES[action] = fn
        return fn
    return register


def _as_admin(ctx):
    assert login(ctx.client, "alice").status_code == 302


@case("login.success")
def _login(ctx):
    _as_admin(ctx)
    return Expect("alice", "web", ("person", ctx.admin.id))


@case("login.failed")
def _login_failed(ctx):
    assert login(ctx.client, "alice", password="wrong-password-123").status_code == 401
    return Expect("alice", "web", outcome="failed", changes=lambda c: c == {"reason": "invalid"},
                  secrets=["wrong-password-123"])


@case("login.logout")
def _logout(ctx):
    _as_admin(ctx)
    assert post_form(ctx.client, "/logout").status_code == 302
    return Expect("alice", "web", ("person", ctx.admin.id))


@case("password.change")
def _password_change(ctx):
    login(ctx.client, "bob")
    response = post_form(ctx.client, "/password", {"current_password": TEST_PASSWORD,
                                                   "new_password": "brand-new-secret-42",
                                                   "confirm_password": "brand-new-secret-42"}, page="/password")
    assert response.status_code == 302
    return Expect("bob", "web", ("person", ctx.member.id), changes=lambda c: c["password"] == REDACTED,
                  secrets=["brand-new-secret-42", TEST_PASSWORD])


@case("person.create")
def _person_create(ctx):
    _as_admin(ctx)
    response = post_form(ctx.client, "/admin/people/new", {"login": "carol", "display_name": "Carol New",
                                                           "role": "member", "password": "carols-own-pass-1"},
                         page="/admin/people/new")
    assert response.status_code == 302
    carol = Person.get(Person.login == "carol")
    return Expect("alice", "web", ("person", carol.id),
                  changes=lambda c: c["after"]["display_name"] == "Carol New" and c["after"]["password"] == REDACTED,
                  secrets=["carols-own-pass-1"])


@case("person.update")
def _person_update(ctx):
    _as_admin(ctx)
    response = post_form(ctx.client, f"/admin/people/{ctx.member.id}",
                         {"display_name": "Bob Promoted", "role": "admin", "email": "bob@acme.example"},
                         page=f"/admin/people/{ctx.member.id}")
    assert response.status_code == 302
    return Expect("alice", "web", ("person", ctx.member.id),
                  changes=lambda c: c == {"before": {"display_name": "Bob Member", "role": "member"},
                                          "after": {"display_name": "Bob Promoted", "role": "admin"}})


@case("person.deactivate")
def _person_deactivate(ctx):
    _as_admin(ctx)
    assert post_form(ctx.client, f"/admin/people/{ctx.member.id}/deactivate",
                     page=f"/admin/people/{ctx.member.id}").status_code == 302
    return Expect("alice", "web", ("person", ctx.member.id),
                  changes=lambda c: c["before"]["is_active"] is True and c["after"]["is_active"] is False)


@case("person.reactivate")
def _person_reactivate(ctx):
    deactivate_person(ctx.member)
    _as_admin(ctx)
    assert post_form(ctx.client, f"/admin/people/{ctx.member.id}/reactivate",
                     page=f"/admin/people/{ctx.member.id}").status_code == 302
    return Expect("alice", "web", ("person", ctx.member.id), changes=lambda c: c["after"]["is_active"] is True)


@case("person.password_reset")
def _password_reset(ctx):
    _as_admin(ctx)
    page = post_form(ctx.client, f"/admin/people/{ctx.member.id}/reset-password",
                     page=f"/admin/people/{ctx.member.id}").get_data(as_text=True)
    one_time = re.search(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", page).group(0)
    return Expect("alice", "web", ("person", ctx.member.id),
                  changes=lambda c: c == {"password": REDACTED, "change_at_next_login": True}, secrets=[one_time])


@case("department.create")
def _department_create(ctx):
    _as_admin(ctx)
    assert post_form(ctx.client, "/admin/departments/new", {"name": "研发 R&D"},
                     page="/admin/departments/new").status_code == 302
    dept = Department.get(Department.name == "研发 R&D")
    return Expect("alice", "web", ("department", dept.id), changes=lambda c: c["after"]["name"] == "研发 R&D")


@case("department.update")
def _department_update(ctx):
    dept = save_department(ctx.tenant, None, {"name": "Old name"})
    _as_admin(ctx)
    assert post_form(ctx.client, f"/admin/departments/{dept.id}", {"name": "New name", "sort_order": "3"},
                     page=f"/admin/departments/{dept.id}").status_code == 302
    return Expect("alice", "web", ("department", dept.id),
                  changes=lambda c: c == {"before": {"name": "Old name", "sort_order": 0},
                                          "after": {"name": "New name", "sort_order": 3}})


@case("department.delete")
def _department_delete(ctx):
    dept = save_department(ctx.tenant, None, {"name": "Doomed"})
    _as_admin(ctx)
    assert post_form(ctx.client, f"/admin/departments/{dept.id}/delete",
                     page=f"/admin/departments/{dept.id}").status_code == 302
    return Expect("alice", "web", ("department", dept.id), changes=lambda c: c["before"]["name"] == "Doomed")


@case("tenant.update")
def _tenant_update(ctx):
    _as_admin(ctx)
    assert post_form(ctx.client, "/admin/tenant", {"name": "Acme Group", "hosts": "acme.example\nacme.test",
                                                   "default_locale": "", "timezone": "Asia/Shanghai"},
                     page="/admin/tenant").status_code == 302
    return Expect("alice", "web", ("tenant", ctx.tenant.id),
                  changes=lambda c: c["before"] == {"name": "Acme Corp", "hosts": ["acme.example"], "timezone": None}
                  and c["after"]["hosts"] == ["acme.example", "acme.test"])


@case("tenant.create")
def _tenant_create(ctx):
    _as_admin(ctx)
    assert post_form(ctx.client, "/admin/tenants", {"slug": "initech", "name": "Initech"},
                     page="/admin/tenants").status_code == 302
    created = Tenant.get(Tenant.slug == "initech")
    # Done from the operator's tenant: the entry is there, naming the new tenant as its target.
    return Expect("alice", "web", ("tenant", created.id), changes=lambda c: c["after"]["slug"] == "initech")


DIRECTORY_FORM = {"enabled": "1", "preset": "openldap", "servers": "ldap://127.0.0.1:9", "security": "none",
                  "bind_dn": "cn=atrium,dc=acme,dc=example", "bind_password": "bind-secret-77",
                  "user_base_dns": "ou=people,dc=acme,dc=example", "department_source": "ou",
                  "department_base_dn": "ou=groups,dc=acme,dc=example", "connect_timeout": "1",
                  "receive_timeout": "1", "page_size": "50", "max_deactivation_share": "0.1"}


def _configure_directory(ctx):
    _as_admin(ctx)
    assert post_form(ctx.client, "/admin/directory/", DIRECTORY_FORM, page="/admin/directory/").status_code == 302


@case("directory.config")
def _directory_config(ctx):
    _configure_directory(ctx)
    return Expect("alice", "web", ("directory_config", None),
                  changes=lambda c: c["after"]["servers"] == ["ldap://127.0.0.1:9"]
                  and c["after"]["bind_password"] == REDACTED and c["before"]["bind_password"] is None,
                  secrets=["bind-secret-77"])


@case("directory.test")
def _directory_test(ctx):
    _configure_directory(ctx)
    assert post_form(ctx.client, "/admin/directory/test", page="/admin/directory/").status_code == 302
    return Expect("alice", "web", ("directory_config", None), outcome="failed",
                  changes=lambda c: c["error"] == "unreachable", secrets=["bind-secret-77"])


@case("directory.sync")
def _directory_sync(ctx):
    _configure_directory(ctx)
    assert post_form(ctx.client, "/admin/directory/sync", {"kind": "full"},
                     page="/admin/directory/").status_code == 302
    return Expect("alice", "web", ("sync_run", None), outcome="failed",
                  changes=lambda c: c["kind"] == "full" and c["status"] == "failed" and c["dry_run"] is False,
                  secrets=["bind-secret-77"])


@case("brand.apply")
def _brand_apply(ctx):
    _as_admin(ctx)
    assert post_form(ctx.client, "/admin/brand/import", {"shipped": "ocean"},
                     page="/admin/brand/").status_code == 302
    return Expect("alice", "web", ("brand_version", None),
                  changes=lambda c: c["after"]["version"] == 1 and c["before"]["version"] is None
                  and any(k.startswith("colors.") for k in c["after"]))


@case("brand.rollback")
def _brand_rollback(ctx):
    _as_admin(ctx)
    for pack in ("ocean", "sakura"):
        post_form(ctx.client, "/admin/brand/import", {"shipped": pack}, page="/admin/brand/")
    assert post_form(ctx.client, "/admin/brand/rollback/1", page="/admin/brand/").status_code == 302
    return Expect("alice", "web", ("brand_version", None),
                  changes=lambda c: c["before"]["version"] == 2 and c["after"]["version"] == 3
                  and c["after"]["note"] == "rollback to 1")


@case("token.create")
def _token_create(ctx):
    login(ctx.client, "bob")
    page = post_form(ctx.client, "/me/tokens", {"name": "my script", "scopes": ["directory:read"], "days": "30"},
                     page="/me/tokens").get_data(as_text=True)
    secret = re.search(r'id="new-token">([^<]+)<', page).group(1)
    token = ApiToken.get(ApiToken.name == "my script")
    return Expect("bob", "web", ("api_token", token.id),
                  changes=lambda c: c["after"]["scopes"] == ["directory:read"] and c["after"]["owner"] == "bob",
                  secrets=[secret])


@case("token.revoke")
def _token_revoke(ctx):
    token, secret = create_token(ctx.member, "old script", ["directory:read"], 5)
    login(ctx.client, "bob")
    assert post_form(ctx.client, f"/me/tokens/{token.id}/revoke", page="/me/tokens").status_code == 302
    return Expect("bob", "web", ("api_token", token.id), changes=lambda c: c["before"] == {"revoked_at": None},
                  secrets=[secret])


@case("integration.token_create")
def _integration_create(ctx):
    _as_admin(ctx)
    page = post_form(ctx.client, "/admin/integrations/", {"name": "CRM", "scopes": ["directory:read"],
                                                          "days": "30"},
                     page="/admin/integrations/").get_data(as_text=True)
    secret = re.search(r'id="new-token">([^<]+)<', page).group(1)
    token = ApiToken.get(ApiToken.name == "CRM")
    return Expect("alice", "web", ("api_token", token.id),
                  changes=lambda c: c["after"]["name"] == "CRM" and c["after"]["owner"].startswith("integration:"),
                  secrets=[secret])


@case("integration.token_revoke")
def _integration_revoke(ctx):
    from app.security.integrations import create_integration_token

    token, secret = create_integration_token(ctx.tenant, "Billing", ["directory:read"], 5)
    _as_admin(ctx)
    assert post_form(ctx.client, f"/admin/integrations/tokens/{token.id}/revoke",
                     page="/admin/integrations/").status_code == 302
    return Expect("alice", "web", ("api_token", token.id), secrets=[secret])


@case("announcement.publish")
def _announcement(ctx):
    _as_admin(ctx)
    response = post_form(ctx.client, "/announcements/new", {"title": "Holiday", "body": "Closed Monday.",
                                                            "audience": "all"}, page="/announcements/new")
    assert response.status_code == 302
    return Expect("alice", "web", ("announcement", None),
                  changes=lambda c: c["after"] == {"title": "Holiday", "to_all": True, "departments": [],
                                                   "important": False})


# --- from the command line ---

@case("residency.export")
def _export(ctx):
    result = ctx.cli("tenant", "export", "acme", str(ctx.tmp_path / "acme.tar"))
    assert result.exit_code == 0, result.output
    return Expect(cli_actor(), "cli", ("tenant", ctx.tenant.id),
                  changes=lambda c: c["archive"].endswith("acme.tar") and c["rows"] > 0)


@case("residency.import")
def _import(ctx):
    assert ctx.cli("tenant", "export", "acme", str(ctx.tmp_path / "acme.tar")).exit_code == 0
    result = ctx.cli("tenant", "import", str(ctx.tmp_path / "acme.tar"), "--slug", "acme-copy")
    assert result.exit_code == 0, result.output
    copy = Tenant.get(Tenant.slug == "acme-copy")
    return Expect(cli_actor(), "cli", ("tenant", copy.id), tenant=copy,
                  changes=lambda c: c["rows"] > 0 and c["hosts_skipped"] == ["acme.example"])


@case("residency.delete")
def _delete(ctx):
    from app.tenancy.service import create_tenant

    doomed = create_tenant("doomed", "Doomed Inc")
    result = ctx.cli("tenant", "delete", "doomed", "--yes")
    assert result.exit_code == 0, result.output
    return Expect(cli_actor(), "cli", ("tenant", doomed.id), tenant=doomed,
                  changes=lambda c: c["rows"] >= 0 and c["files_left"] == 0)


@case("residency.backup")
def _backup(ctx):
    result = ctx.cli("backup", str(ctx.tmp_path / "backup"))
    assert result.exit_code == 0, result.output
    return Expect(cli_actor(), "cli", ("backup", None), tenant=None,
                  changes=lambda c: c["schema_version"] >= 10 and c["problems"] == [])


@case("residency.restore")
def _restore(ctx):
    assert ctx.cli("backup", str(ctx.tmp_path / "backup")).exit_code == 0
    result = ctx.cli("restore", str(ctx.tmp_path / "backup"))
    assert result.exit_code == 0, result.output
    return Expect(cli_actor(), "cli", ("backup", None), tenant=None, changes=lambda c: c["files"] >= 0)


@case("residency.fsck_repair")
def _fsck(ctx):
    result = ctx.cli("storage", "fsck", "--repair")
    assert result.exit_code == 0, result.output
    return Expect(cli_actor(), "cli", ("blob_stores", None), tenant=None, changes=lambda c: c["clean"] is True)


@case("policy.update")
def _policy_update(ctx):
    from app.security.policy import as_values, load_policy

    _as_admin(ctx)
    form = as_values(load_policy(ctx.tenant))
    form = {k: v for k, v in form.items() if not isinstance(v, bool) or v}
    form = {k: ("1" if v is True else v) for k, v in form.items()}
    form["login.lockout_after"] = "5"
    response = post_form(ctx.client, "/admin/policies/", form, page="/admin/policies/")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return Expect("alice", "web", ("tenant", ctx.tenant.id),
                  changes=lambda c: c == {"before": {"login.lockout_after": 0}, "after": {"login.lockout_after": 5}})


@case("person.unlock")
def _person_unlock(ctx):
    Person.update(locked_at=utcnow(), failed_logins=5).where(Person.id == ctx.member.id).execute()
    _as_admin(ctx)
    assert post_form(ctx.client, f"/admin/people/{ctx.member.id}/unlock",
                     page=f"/admin/people/{ctx.member.id}").status_code == 302
    assert Person.get_by_id(ctx.member.id).locked_at is None
    return Expect("alice", "web", ("person", ctx.member.id),
                  changes=lambda c: c == {"before": {"locked": True, "failed_logins": 5},
                                          "after": {"locked": False, "failed_logins": 0}})


def test_auditors_read_the_audit_log_and_change_nothing(app, client, tenant, admin):
    auditor = make_person(tenant, "audra", role="auditor")
    assert login(client, "audra").status_code == 302
    assert client.get("/admin/").headers["Location"].endswith("/admin/audit/")
    page = client.get("/admin/audit/")
    assert page.status_code == 200 and "audra" in page.get_data(as_text=True)      # their own login is there
    for path in ("/admin/people", "/admin/departments", "/admin/policies/", "/admin/tenant", "/admin/integrations/"):
        assert client.get(path).status_code == 403, path
    assert post_form(client, f"/admin/people/{admin.id}/deactivate", page="/admin/audit/").status_code == 403
    assert Person.get_by_id(admin.id).is_active and auditor.role == "auditor"


@case("audit.export")
def _audit_export(ctx):
    result = ctx.cli("audit", "export", "acme", "--since", "2000-01-01")
    assert result.exit_code == 0, result.output
    return Expect(cli_actor(), "cli", ("audit_log", None), changes=lambda c: c["entries"] >= 1)


def _cli_person_reset(ctx):
    result = ctx.cli("user", "reset-password", "acme", "bob")
    assert result.exit_code == 0, result.output
    one_time = re.search(r"one-time password: (\S+)", result.output).group(1)
    return Expect(cli_actor(), "cli", ("person", ctx.member.id),
                  changes=lambda c: c["change_at_next_login"] is True, secrets=[one_time])


def _cli_tenant_create(ctx):
    result = ctx.cli("tenant", "create", "umbrella", "--name", "Umbrella", "--host", "umbrella.example")
    assert result.exit_code == 0, result.output
    created = Tenant.get(Tenant.slug == "umbrella")
    return Expect(cli_actor(), "cli", ("tenant", created.id), tenant=created,
                  changes=lambda c: c["after"]["hosts"] == ["umbrella.example"])


def _cli_directory_config(ctx):
    settings = ctx.tmp_path / "directory.toml"
    settings.write_text('servers = ["ldap://127.0.0.1:9"]\nuser_base_dns = ["ou=people,dc=acme,dc=example"]\n'
                        'bind_dn = "cn=atrium,dc=acme,dc=example"\ndepartment_source = "ou"\n'
                        'department_base_dn = "ou=groups,dc=acme,dc=example"\n')
    result = ctx.cli("ldap-config", "acme", "--from-file", str(settings), "--bind-password-stdin",
                     input="cli-bind-secret-9\n")
    assert result.exit_code == 0, result.output
    return Expect(cli_actor(), "cli", ("directory_config", None),
                  changes=lambda c: c["after"]["bind_password"] == REDACTED, secrets=["cli-bind-secret-9"])


def _cli_brand_apply(ctx):
    result = ctx.cli("branding", "apply", "acme", str(pathlib.Path(__file__).resolve().parents[1] / "branding" /
                                                      "sunrise"))
    assert result.exit_code == 0, result.output
    return Expect(cli_actor(), "cli", ("brand_version", None), changes=lambda c: c["after"]["version"] == 1)


CLI_CASES = {"person.password_reset": _cli_person_reset, "tenant.create": _cli_tenant_create,
             "directory.config": _cli_directory_config, "brand.apply": _cli_brand_apply}


@pytest.fixture
def ctx(app, client, tenant, admin, member, tmp_path, database_url):
    return Ctx(app, client, tenant, admin, member, tmp_path, database_url)


def _check(ctx: Ctx, action: str, run: Callable[[Ctx], Expect]):
    last = AuditEvent.select(peewee.fn.MAX(AuditEvent.id)).scalar() or 0
    started = utcnow() - datetime.timedelta(seconds=1)
    expect = run(ctx)
    found = list(AuditEvent.select().where((AuditEvent.id > last) & (AuditEvent.action == action))
                 .order_by(AuditEvent.id))
    assert found, f"no {action} entry"
    entry = found[-1]
    assert entry.actor_label == expect.actor and entry.via == expect.via and entry.outcome == expect.outcome
    assert started <= entry.at <= utcnow()
    assert entry.address == ("203.0.113.9" if expect.via == "cli" else "127.0.0.1")
    tenant = ctx.tenant if expect.tenant == "tenant" else expect.tenant
    assert (entry.tenant_id, entry.tenant_slug) == ((tenant.id, tenant.slug) if tenant else (None, None))
    if expect.actor in ("alice", "bob") and action != "login.failed":
        assert entry.actor_id == Person.get((Person.login == expect.actor) & (Person.tenant == ctx.tenant)).id
    else:
        assert entry.actor_id is None
    if expect.target is not None:
        assert entry.target_type == expect.target[0]
        if expect.target[1] is not None:
            assert entry.target_id == str(expect.target[1]) and entry.target_label
    changes = json.loads(entry.changes) if entry.changes else None
    if expect.changes is not None:
        assert changes is not None and expect.changes(changes), changes
    for secret in expect.secrets:
        for row in AuditEvent.select().tuples():
            assert secret not in json.dumps(row, default=str, ensure_ascii=False), (secret, row)


@pytest.mark.parametrize("action", sorted(CASES))
def test_each_audited_action_leaves_an_entry(ctx, action):
    _check(ctx, action, CASES[action])


@pytest.mark.parametrize("action", sorted(CLI_CASES))
def test_the_same_actions_from_the_command_line(ctx, action):
    _check(ctx, action, CLI_CASES[action])


def test_every_action_code_is_exercised():
    from app.audit.service import ACTIONS

    assert set(ACTIONS) == set(CASES), set(ACTIONS) ^ set(CASES)


def test_a_person_changes_nothing_and_no_entry_is_made(app, tenant, admin):
    from app.org.service import save_person

    last = AuditEvent.select(peewee.fn.MAX(AuditEvent.id)).scalar()
    save_person(tenant, admin, {"display_name": admin.display_name, "role": "admin", "email": admin.email})
    assert AuditEvent.select(peewee.fn.MAX(AuditEvent.id)).scalar() == last


def test_a_refused_change_leaves_no_entry(app, tenant, admin):
    from app.validation import ValidationError

    last = AuditEvent.select(peewee.fn.MAX(AuditEvent.id)).scalar()
    with pytest.raises(ValidationError):
        deactivate_person(admin)                       # the last admin stays
    assert AuditEvent.select(peewee.fn.MAX(AuditEvent.id)).scalar() == last


# --- secrets --------------------------------------------------------------------------------------

def test_redaction_of_keys_tokens_and_url_passwords():
    data = {"password": "hunter2hunter2", "bind_password": None, "nested": {"api_key": "k-123", "ok": "fine"},
            "token_hash": "abc", "note": "used atr_abcdefghijklmnopqrstuvwxyz0123 by mistake",
            "server": "ldap://svc:pa55word@dir.example:389", "list": ["atr_ZZZZZZZZZZZZZZZZZZ", 1, None],
            "key": "blob-secret", "private_key": "-----BEGIN", "must_change": True, "prefix": "atr_abc123"}
    clean = redact(data)
    text = json.dumps(clean)
    for secret in ("hunter2", "k-123", "abcdefghijklmnop", "pa55word", "ZZZZZZZZZZ", "blob-secret", "BEGIN"):
        assert secret not in text
    assert clean["bind_password"] is None and clean["nested"]["ok"] == "fine" and clean["must_change"] is True
    assert clean["server"] == f"ldap://svc:{REDACTED}@dir.example:389" and clean["prefix"] == "atr_abc123"
    assert redact({"text": "x" * 5000})["text"].endswith("…") and len(redact({"text": "x" * 5000})["text"]) < 600


def test_difference_keeps_only_what_changed():
    assert difference({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4}) == {"before": {"b": 2, "c": None},
                                                                        "after": {"b": 3, "c": 4}}


def test_record_refuses_nonsense(app, tenant):
    for bad in ("", "nodot", "Person.Create", "a..b", "x" * 70 + ".y"):
        with pytest.raises(ValueError):
            record(bad)
    with pytest.raises(ValueError):
        record("person.update", outcome="maybe")
    with pytest.raises(ValueError):
        record("person.update", via="telepathy")


def test_record_outside_a_request_names_the_command_line_user_and_ssh_client(app, tenant, monkeypatch):
    monkeypatch.setenv("SSH_CONNECTION", "198.51.100.4 40000 192.0.2.1 22")
    monkeypatch.setenv("SUDO_USER", "opsperson")
    entry = record("tenant.update", target=tenant)
    user = getpass.getuser()
    expected = f"cli (opsperson as {user})" if user != "opsperson" else f"cli ({user})"
    assert (entry.actor_label, entry.via, entry.address, entry.tenant_id) == (expected, "cli", "198.51.100.4",
                                                                             tenant.id)
    monkeypatch.setenv("SSH_CONNECTION", "not-an-address")
    monkeypatch.delenv("SUDO_USER")
    assert record("tenant.update", target=tenant).address == "local"
    worker = record("directory.sync", actor=Actor.system("directory sync"), tenant=tenant,
                    target=Target("sync_run", 7, "run 7"))
    assert (worker.actor_label, worker.via, worker.target_id, worker.target_label) == (
        "directory sync", "worker", "7", "run 7")


# --- the admin page -----------------------------------------------------------------------------------

def _event(tenant, action, at, actor="alice", **fields):
    return AuditEvent.create(tenant_id=tenant.id if tenant else None, tenant_slug=tenant.slug if tenant else None,
                             at=at, actor_label=actor, via=fields.pop("via", "web"),
                             address=fields.pop("address", "10.0.0.1"), action=action, **fields)


@pytest.fixture
def logged(app, tenant, other_tenant):
    """A fixed set of entries over three days, one of another tenant and one of the install."""
    day = datetime.datetime(2001, 11, 2, 9, 0, 0)      # long before the entries the fixtures make today
    _event(tenant, "person.update", day, target_type="person", target_id="5", target_label="Wang Fang (fang)",
           changes=json.dumps({"before": {"title": "Clerk"}, "after": {"title": "Manager"}}))
    _event(tenant, "login.failed", day + datetime.timedelta(days=1), actor="mallory", outcome="failed",
           address="203.0.113.66")
    _event(tenant, "person.deactivate", day + datetime.timedelta(days=2), actor="bob", target_type="person",
           target_id="6", target_label="Li Lei (lei)")
    _event(other_tenant, "person.update", day, actor="zed", target_label="Their Secret Person")
    _event(None, "residency.backup", day, actor="cli (root)", via="cli", target_label="/srv/backup-night")
    return day


def _texts(html: str) -> list[str]:
    return re.findall(r'data-action="([^"]+)"', html)


def test_page_lists_the_tenants_entries_with_who_when_where_what(client, admin, logged):
    login(client, "alice")
    html = client.get("/admin/audit/", query_string={"actor": "", "q": "Wang"}).get_data(as_text=True)
    assert _texts(html) == ["person.update"]
    assert "2001-11-02 09:00:00" in html and "10.0.0.1" in html and "Wang Fang (fang)" in html
    assert "Clerk" in html and "Manager" in html and "alice" in html
    page = client.get("/admin/audit/").get_data(as_text=True)
    assert "Their Secret Person" not in page and "zed" not in page.split("audit-list")[1]
    assert "/srv/backup-night" in page                     # the install's own entries, for the default tenant


@pytest.mark.parametrize("args, expected", [
    ({"actor": "mall"}, ["login.failed"]),
    ({"action": "person"}, ["person.create", "person.deactivate", "person.update"]),   # alice's creation too
    ({"action": "person.update"}, ["person.update"]),
    ({"since": "2001-11-03", "until": "2001-12-31"}, ["person.deactivate", "login.failed"]),
    ({"until": "2001-11-02"}, ["person.update", "residency.backup"]),
    ({"since": "2001-11-03", "until": "2001-11-03"}, ["login.failed"]),
    ({"q": "203.0.113.66"}, ["login.failed"]),
    ({"q": "li lei"}, ["person.deactivate"]),
    ({"outcome": "failed"}, ["login.failed"]),
    ({"action": "login", "actor": "bob"}, []),
])
def test_page_filters(client, admin, logged, args, expected):
    login(client, "alice")
    response = client.get("/admin/audit/", query_string=args)
    assert response.status_code == 200
    assert sorted(_texts(response.get_data(as_text=True))) == sorted(expected)


@pytest.mark.parametrize("args, field", [
    ({"since": "yesterday"}, "since"), ({"until": "2001-13-40"}, "until"),
    ({"since": "2001-11-04", "until": "2001-11-02"}, "until"), ({"action": "DROP TABLE"}, "action"),
    ({"outcome": "meh"}, "outcome"),
])
def test_page_bad_filters_say_so_and_keep_what_was_typed(client, admin, logged, args, field):
    login(client, "alice")
    response = client.get("/admin/audit/", query_string={**args, "actor": "mallory"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and 'role="alert"' in html and _texts(html) == []
    assert 'value="mallory"' in html
    if field in ("since", "until"):
        assert f'id="{field}" name="{field}" type="date" value="{args[field]}" aria-invalid="true"' in html


def test_page_is_paginated_and_keeps_the_filters(client, admin, tenant):
    start = datetime.datetime(2026, 1, 1)
    for n in range(60):
        _event(tenant, "person.update", start + datetime.timedelta(minutes=n), actor="bulk", target_label=f"p{n}")
    login(client, "alice")
    first = client.get("/admin/audit/", query_string={"actor": "bulk"}).get_data(as_text=True)
    assert len(_texts(first)) == 50 and "actor=bulk" in first and "page=2" in first
    second = client.get("/admin/audit/", query_string={"actor": "bulk", "page": "2"}).get_data(as_text=True)
    assert len(_texts(second)) == 10 and re.search(r"<dd>p0\s", second) and not re.search(r"<dd>p10\s", second)
    assert client.get("/admin/audit/", query_string={"page": "abc"}).status_code == 200


def test_page_is_for_admins_only(client, tenant, admin, member, logged):
    assert client.get("/admin/audit/").status_code == 302           # to the login page
    login(client, "bob")
    assert client.get("/admin/audit/").status_code == 403


def test_another_tenants_admin_sees_only_their_own(client, tenant, other_tenant, logged):
    make_person(other_tenant, "zed", role="admin")
    login(client, "zed", host="globex.example")
    html = client.get("/admin/audit/", base_url="http://globex.example").get_data(as_text=True)
    assert "Their Secret Person" in html and "Wang Fang" not in html and "/srv/backup-night" not in html


def test_page_works_on_a_phone(client, admin, tenant):
    """Entries are blocks that wrap on a phone. (Hostile names, titles and filters on this page, reaching it
    through the real forms: tests/security/test_hostile.py.)"""
    _event(tenant, "person.update", utcnow(), actor="Wang Fang", target_label="Wang Fang (fang)",
           changes=json.dumps({"before": {"title": "Clerk"}, "after": {"title": "Manager"}}))
    login(client, "alice")
    html = client.get("/admin/audit/").get_data(as_text=True)
    assert "Clerk" in html and 'name="viewport"' in html
    assert "<table" not in html.split('class="audit-list"')[1]


# --- atrium audit export -------------------------------------------------------------------------------

EXPORT_KEYS = ["id", "at", "tenant", "tenant_id", "actor", "actor_id", "via", "address", "action", "target",
               "changes", "outcome"]


def _lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_export_writes_json_lines_with_stable_keys(ctx, logged):
    result = ctx.cli("audit", "export", "acme", "--since", "2001-11-01", "--until", "2001-11-30")
    assert result.exit_code == 0, result.output
    rows = _lines(result.stdout)
    assert [r["action"] for r in rows] == ["person.update", "login.failed", "person.deactivate"]
    assert all(list(r) == EXPORT_KEYS for r in rows)
    assert rows[0]["at"] == "2001-11-02T09:00:00.000000Z" and rows[0]["tenant"] == "acme"
    assert rows[0]["changes"] == {"before": {"title": "Clerk"}, "after": {"title": "Manager"}}
    assert rows[0]["target"] == {"type": "person", "id": "5", "label": "Wang Fang (fang)"}
    for row in rows:
        assert datetime.datetime.fromisoformat(row["at"].replace("Z", "+00:00")).tzinfo is not None
    assert "exported 3 audit entries" in result.stderr
    exported = AuditEvent.select().where(AuditEvent.action == "audit.export").order_by(AuditEvent.id.desc()).get()
    assert json.loads(exported.changes)["entries"] == 3


@pytest.mark.parametrize("args, actions", [
    (["acme", "--since", "2001-11-03"], ["login.failed", "person.deactivate"]),    # and today's, left out below
    (["acme", "--since", "2001-11-02T09:00:01Z", "--until", "2001-11-04T09:00:00+00:00"], ["login.failed"]),
    (["acme", "--since", "2001-11-02T17:00+08:00", "--until", "2001-11-03"], ["person.update", "login.failed"]),
    (["--all", "--since", "2001-11-02", "--until", "2001-11-02"],
     ["person.update", "person.update", "residency.backup"]),
])
def test_export_since_and_until(ctx, logged, args, actions):
    result = ctx.cli("audit", "export", *args)
    assert result.exit_code == 0, result.output
    assert [r["action"] for r in _lines(result.stdout) if r["at"].startswith("2001-")] == actions


@pytest.mark.parametrize("args, message", [
    (["acme", "--since", "last tuesday"], "--since: Not a date"),
    (["acme", "--since", "2001-11-01", "--until", "2001-02-30"], "--until: Not a date"),
    (["acme", "--since", "2001-11-05", "--until", "2001-11-01"], "the end is not after --since"),
    (["--since", "2001-11-01"], "name one TENANT or give --all"),
    (["acme", "--all", "--since", "2001-11-01"], "name one TENANT or give --all"),
    (["nosuch", "--since", "2001-11-01"], "no tenant 'nosuch'"),
])
def test_export_bad_usage_is_one_clear_line(ctx, logged, args, message):
    result = ctx.cli("audit", "export", *args)
    assert result.exit_code != 0 and message in result.stderr and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1


def test_export_needs_since_and_its_help_has_an_example(ctx):
    missing = ctx.cli("audit", "export", "acme")
    assert missing.exit_code == 2 and "--since" in missing.output
    helped = ctx.cli("audit", "export", "--help")
    assert helped.exit_code == 0
    assert "atrium audit export acme --since 2026-11-01 > acme-november.jsonl" in helped.output


def test_export_of_a_deleted_tenants_entries_with_all(ctx, other_tenant, logged):
    from app.residency.transfer import delete_tenant

    delete_tenant(other_tenant)
    rows = _lines(ctx.cli("audit", "export", "--all", "--since", "2001-11-01").stdout)
    assert any(r["tenant"] == "globex" and r["actor"] == "zed" for r in rows)


def test_export_streams_in_batches(app, tenant):
    from app.audit.service import stream

    start = datetime.datetime(2026, 5, 1)
    made = [_event(tenant, "person.update", start + datetime.timedelta(seconds=n)).id for n in range(25)]
    assert [e.id for e in stream(tenant, start, start + datetime.timedelta(hours=1), batch=7)] == made
