"""`atrium backup` / `atrium restore`: a consistent copy of a running install, restored byte for byte."""
import hashlib
import json
import shutil

import pytest
from click.testing import CliRunner

from app import db as dbmod
from app.cli import main
from app.residency import blobs
from app.residency.backup import BackupError, backup, pg_environment, restore
from app.residency.models import Blob
from app.residency.transfer import delete_tenant
from app.tenancy.models import Tenant
from app.tenancy.service import create_tenant
from tests.residency.conftest import fill_tenant, files_under, install, toml_text


def everything() -> dict:
    """Every row of every table (the schema's bookkeeping included), and every file of every store."""
    database = dbmod.db
    rows = {}
    for table in sorted(database.get_tables()):
        rows[table] = [tuple(r) for r in database.execute_sql(f'SELECT * FROM "{table}" ORDER BY 1').fetchall()]
    files = {}
    for blob in Blob.select():
        try:
            files[blob.store, blob.key] = blobs.get_store(blob.store).get(blob.key)
        except blobs.BlobMissing:
            files[blob.store, blob.key] = None
    return {"rows": rows, "files": files}


def test_backup_then_restore_after_a_disaster(app, tenant, other_tenant, tmp_path):
    fill_tenant(tenant)
    fill_tenant(other_tenant, "globex")
    before = everything()
    settings = app.config["ATRIUM"]
    lines = []
    result = backup(settings, tmp_path / "backup", progress=lines.append)
    assert result.files == len(before["files"]) and result.problems == []
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["schema_version"] == dbmod.current_version()
    for name, facts in manifest["members"].items():
        assert hashlib.sha256((tmp_path / "backup" / name).read_bytes()).hexdigest() == facts["sha256"]
    assert any(line.startswith("database:") for line in lines)

    delete_tenant(other_tenant)                                   # the disaster
    create_tenant("newcomer", "Came after the backup")
    for path in files_under(tmp_path / "data" / "blobs")[:3]:
        path.unlink()
    assert everything() != before

    restored = restore(settings, tmp_path / "backup")
    assert restored.migrated_to is None and restored.files == len(before["files"])
    assert everything() == before


def test_the_password_reaches_postgresql_tools_only_through_the_environment():
    env = pg_environment("postgresql://atrium:s3cret@db.example:5433/atrium")
    assert (env["PGPASSWORD"], env["PGHOST"], env["PGPORT"], env["PGUSER"], env["PGDATABASE"]) == (
        "s3cret", "db.example", "5433", "atrium", "atrium")


def _config(tmp_path, name: str, url: str | None = None) -> dict:
    config = tmp_path / f"{name}.toml"
    values = {"data_dir": str(tmp_path / name)}
    if url:
        values["database_url"] = url
    config.write_text(toml_text(values))
    return {"ATRIUM_CONFIG": str(config)}


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_commands_on_a_fresh_install(database, tmp_path, request):
    if database == "postgres":
        urls = [request.getfixturevalue("pg_url"), request.getfixturevalue("pg_url")]
    else:
        urls = [None, None]
    source, target = _config(tmp_path, "source", urls[0]), _config(tmp_path, "target", urls[1])
    runner = CliRunner()
    for env in (source, target):
        assert runner.invoke(main, ["init"], env=env).exit_code == 0
    runner.invoke(main, ["tenant", "create", "acme", "--name", "Acme"], env=source)
    made = runner.invoke(main, ["backup", str(tmp_path / "bk"), "--json"], env=source)
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["database"] == ("postgresql" if database == "postgres" else "sqlite")
    assert "database: copying" in made.stderr
    again = runner.invoke(main, ["backup", str(tmp_path / "bk")], env=source)
    assert again.exit_code == 1 and "is not empty" in again.output

    done = runner.invoke(main, ["restore", str(tmp_path / "bk"), "--json"], env=target)
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["migrated_to"] is None
    listing = runner.invoke(main, ["tenant", "list", "--json"], env=target)
    assert [t["slug"] for t in json.loads(listing.output)] == ["acme"]


def _flip_a_file(root):
    path = next(p for p in files_under(root / "blobs"))
    data = path.read_bytes()
    path.write_bytes(bytes([data[0] ^ 1]) + data[1:])


def _newer_schema(root):
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["migrations"].append(9999)
    manifest["schema_version"] = 9999
    (root / "manifest.json").write_text(json.dumps(manifest))


def _other_database_kind(root):
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["database"]["kind"] = "oracle"
    (root / "manifest.json").write_text(json.dumps(manifest))


def _lose_the_database(root):
    next(root.glob("database.*")).unlink()


@pytest.mark.parametrize("damage, message", [
    (_flip_a_file, "does not match its checksum: the backup is damaged"),
    (_newer_schema, "the backup is at schema version 9999, made by a newer release"),
    (_other_database_kind, "the backup is of a oracle database"),
    (_lose_the_database, "is missing from the backup"),
])
def test_a_damaged_or_foreign_backup_is_refused_and_nothing_changes(app, tenant, tmp_path, damage, message):
    fill_tenant(tenant)
    backup(app.config["ATRIUM"], tmp_path / "bk")
    create_tenant("later", "Later")
    before = everything()
    damage(tmp_path / "bk")
    with pytest.raises(BackupError, match=message):
        restore(app.config["ATRIUM"], tmp_path / "bk")
    assert everything() == before


def test_an_older_backup_is_restored_then_migrated(tmp_path, sqlite_template):
    old = dbmod.make_database(f"sqlite:///{tmp_path}/old.db")
    old.connect()
    dbmod.upgrade(old, target=4)
    old.execute_sql("INSERT INTO tenant (slug, name, is_default, created_at) VALUES ('acme', 'Acme', 1, '2025-01-01')")
    old.close()
    source = _config(tmp_path, "old", f"sqlite:///{tmp_path}/old.db")
    (tmp_path / "old").mkdir()
    shutil.copy(sqlite_template, tmp_path / "new.db")
    target = _config(tmp_path, "new", f"sqlite:///{tmp_path}/new.db")
    runner = CliRunner()
    assert runner.invoke(main, ["init"], env=target).exit_code == 0
    made = runner.invoke(main, ["backup", str(tmp_path / "bk")], env=source)
    assert made.exit_code == 0, made.output
    assert "at schema version 4" in made.stdout
    done = runner.invoke(main, ["restore", str(tmp_path / "bk")], env=target)
    assert done.exit_code == 0, done.output
    head = dbmod.head_version()
    assert f"restored the sqlite database at schema version 4, then migrated to schema version {head}" in done.stdout
    install(tmp_path / "new", f"sqlite:///{tmp_path}/new.db")
    assert dbmod.is_current() and Tenant.get().blob_store == "local"
