"""Database set-up, migrations and readiness, on SQLite and PostgreSQL."""
import peewee
import pytest

from app import db as dbmod
from app.db import DatabaseUrlError, make_database, redact_url


def test_sqlite_pragmas(tmp_path):
    database = make_database(f"sqlite:///{tmp_path}/x.db")
    database.connect()
    assert database.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert database.execute_sql("PRAGMA synchronous").fetchone()[0] == 2
    assert database.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    database.close()


@pytest.mark.parametrize("url, message", [
    ("sqlite:///", "no path"), ("postgresql://host/", "names no database"), ("mysql://x/y", "unsupported"),
])
def test_bad_database_urls(url, message):
    with pytest.raises(DatabaseUrlError, match=message):
        make_database(url)


def test_redact_url_hides_password():
    assert redact_url("postgresql://atrium:s3cret@db:5432/atrium") == "postgresql://atrium:***@db:5432/atrium"


def _empty_database(request, tmp_path):
    if request.param == "sqlite":
        return make_database(f"sqlite:///{tmp_path}/m.db")
    server = request.getfixturevalue("pg_server")
    name = f"mig_{tmp_path.name[-20:].replace('-', '_').lower()}"
    server.execute(f"CREATE DATABASE {name}")
    request.addfinalizer(lambda: server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    return make_database(server.url(name), pool=False)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database(request, tmp_path):
    database = _empty_database(request, tmp_path)
    database.connect()
    yield database
    database.close()


def test_upgrade_from_first_migration_keeps_data(empty_database):
    database = empty_database
    assert dbmod.current_version(database) == 0
    applied = dbmod.upgrade(database, target=1)
    assert [m.version for m in applied] == [1]
    database.execute_sql("INSERT INTO tenant (slug, name, is_default, created_at) VALUES ('old', 'Old Co', %s, '2025-01-01 00:00:00')"
                         .replace("%s", "TRUE" if dbmod.is_postgres(database) else "1"))
    tenant_id = database.execute_sql("SELECT id FROM tenant WHERE slug = 'old'").fetchone()[0]
    database.execute_sql(
        "INSERT INTO person (tenant_id, login, display_name, role, is_active, source, must_change_password, "
        f"session_epoch, created_at, updated_at) VALUES ({tenant_id}, 'zhang.wei', '张伟', 'admin', "
        f"{'TRUE' if dbmod.is_postgres(database) else '1'}, 'local', {'FALSE' if dbmod.is_postgres(database) else '0'}, "
        "0, '2025-01-01 00:00:00', '2025-01-01 00:00:00')")

    applied = dbmod.upgrade(database)
    assert [m.version for m in applied] == [m.version for m in dbmod.available_migrations()][1:]
    assert dbmod.current_version(database) == dbmod.head_version()
    assert dbmod.upgrade(database) == []  # idempotent

    from app.org.models import Person
    from app.tenancy.models import Tenant
    with database.bind_ctx([Tenant, Person]):
        person = Person.get(Person.login == "zhang.wei")
        assert person.display_name == "张伟" and person.is_admin and person.tenant.slug == "old"


def test_a_migration_merged_later_is_still_applied(empty_database):
    """Work streams land migrations out of order; one below the newest applied is pending, not skipped."""
    dbmod.upgrade(empty_database)
    second = dbmod.available_migrations()[1]
    for table in ("login_failure",):
        empty_database.execute_sql(f"DROP TABLE {table}")
    empty_database.execute_sql(f"DELETE FROM schema_migration WHERE version = {second.version}")
    assert [m.version for m in dbmod.pending_migrations(empty_database)] == [second.version]
    assert dbmod.current_version(empty_database) == dbmod.head_version()
    assert [m.version for m in dbmod.upgrade(empty_database)] == [second.version]
    assert dbmod.is_current(empty_database) and empty_database.table_exists("login_failure")


def test_migrated_schema_matches_the_models(empty_database):
    """Frozen migrations and today's models describe the same columns."""
    from app.announce.models import Announcement, AnnouncementDepartment, AnnouncementRead
    from app.approvals.models import (Approval, ApprovalAction, ApprovalAttachment, ApprovalCopy, ApprovalStep,
                                      ApprovalTemplate)
    from app.attendance.models import AttendanceDay, AttendancePlace, AttendanceRule
    from app.ding.models import Ding, DingRecipient
    from app.notify.models import EmailSettings, Notification, NotificationPreference, OutgoingEmail
    from app.org.ldap.models import DirectoryConfig, DirectoryEntry, SyncRun
    from app.org.models import Department, Membership, Person
    from app.residency.models import Blob
    from app.security.models import LoginFailure, TenantPolicy
    from app.tenancy.models import Tenant, TenantHost

    dbmod.upgrade(empty_database)
    for model in (Tenant, TenantHost, Department, Person, Membership, LoginFailure, DirectoryConfig, DirectoryEntry,
                  SyncRun, Blob, Ding, DingRecipient, Announcement, AnnouncementDepartment, AnnouncementRead,
                  ApprovalTemplate, Approval, ApprovalStep, ApprovalCopy, ApprovalAction, ApprovalAttachment,
                  AttendanceRule, AttendancePlace, AttendanceDay,
                  Notification, NotificationPreference, EmailSettings, OutgoingEmail, TenantPolicy):
        table = model._meta.table_name
        columns = {c.name for c in empty_database.get_columns(table)}
        assert columns == {f.column_name for f in model._meta.sorted_fields}, table


def test_failed_migration_rolls_back(empty_database, monkeypatch):
    migrations = dbmod.available_migrations()

    def broken(database, migrator):
        database.execute_sql("CREATE TABLE half_done (id INTEGER)")
        raise RuntimeError("boom")

    monkeypatch.setattr(migrations[1].module, "upgrade", broken)
    with pytest.raises(RuntimeError):
        dbmod.upgrade(empty_database)
    assert dbmod.current_version(empty_database) == 1
    assert not empty_database.table_exists("half_done")


def test_readyz_ready(client):
    response = client.get("/readyz", headers={"Host": "anything.example"})
    assert response.status_code == 200
    assert response.json["status"] == "ready"
    assert response.json["migrations"]["current"] == dbmod.head_version()


def test_healthz(client):
    assert client.get("/healthz").json == {"status": "ok"}


@pytest.mark.postgres
def test_readyz_503_when_database_unreachable(tmp_path):
    from app import create_app
    from tests.conftest import make_settings
    from tests.servers import free_port

    url = f"postgresql://atrium:secret-pw@127.0.0.1:{free_port()}/atrium"
    app = create_app(make_settings(tmp_path, url))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable"
    assert "secret-pw" not in response.get_data(as_text=True)
    # An ordinary page with the database down is a plain error page, no traceback.
    page = app.test_client().get("/login")
    assert page.status_code == 503
    body = page.get_data(as_text=True)
    assert "Traceback" not in body and "OperationalError" not in body and "secret-pw" not in body


def test_readyz_503_when_schema_behind(client, app):
    dbmod.db.execute_sql(f"DELETE FROM schema_migration WHERE version = {dbmod.head_version()}")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "atrium db upgrade" in response.json["reason"]


def test_integrity_is_enforced_by_the_database(app, tenant):
    from app.org.models import Person
    Person.create(tenant=tenant, login="dup", display_name="A")
    with pytest.raises(peewee.IntegrityError):
        with dbmod.db.atomic():
            Person.create(tenant=tenant, login="dup", display_name="B")
