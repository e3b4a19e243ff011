"""Tenant export -> import onto another install, compared row by row and file by file; refusals; deleting a tenant."""
import io
import json
import os
import shutil
import tarfile

import pytest
from click.testing import CliRunner

from app.cli import main
from app.residency.models import Blob
from app.residency.transfer import TransferError, export_tenant, import_tenant
from app.tenancy.models import Tenant
from app.tenancy.service import create_tenant
from tests.residency.conftest import (assert_same_tenant, fill_tenant, files_under, install, tenant_files, tenant_rows,
                                      toml_text)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def two_databases(request, tmp_path):
    """Databases of two separate installs at the newest schema."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        urls = []
        for name in ("a", "b"):
            shutil.copy(template, tmp_path / f"{name}.db")
            urls.append(f"sqlite:///{tmp_path}/{name}.db")
        yield urls
        return
    server, template = request.getfixturevalue("pg_server"), request.getfixturevalue("pg_template")
    names = [f"x{os.getpid()}_{tmp_path.name[-12:].lower().replace('-', '_')}_{n}" for n in "ab"]
    for name in names:
        server.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    yield [server.url(name) for name in names]
    for name in names:
        server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_export_then_import_on_another_install_is_identical(two_databases, tmp_path):
    source_url, target_url = two_databases
    install(tmp_path / "a", source_url)
    acme = create_tenant("acme", "Acme 中国", ["acme.example"], locale="en", timezone="Europe/Berlin")
    other = create_tenant("other", "Other")
    fill_tenant(acme)
    fill_tenant(other, "other")
    before, files_before = tenant_rows(acme.id), tenant_files(acme.id)
    assert len(files_before) > 10 and all(before[t] for t in ("person", "department", "brand_asset", "sync_run"))
    archive = tmp_path / "acme.tar"
    result = export_tenant(acme, archive)
    assert result.files == len(files_before) and result.tables["person"] == 3

    vault = tmp_path / "vault"
    install(tmp_path / "b", target_url, residency={"default_blob_store": "vault"},
            blob_stores={"vault": {"kind": "local", "path": str(vault)}})
    create_tenant("first", "First on this install")          # so the new ids differ from the old ones
    imported = import_tenant(archive).tenant
    assert imported.id != acme.id and imported.slug == "acme" and imported.blob_store == "vault"
    assert (imported.name, imported.default_locale, imported.timezone, imported.created_at) == (
        acme.name, acme.default_locale, acme.timezone, acme.created_at)
    assert imported.host_names() == ["acme.example"] and not imported.is_default
    assert_same_tenant(before, tenant_rows(imported.id), acme.id, imported.id, store="vault",
                       files_before=files_before, files_after=tenant_files(imported.id))
    assert len(files_under(vault)) == len(files_before)


def test_the_commands_export_import_and_delete(tmp_path):
    config = tmp_path / "atrium.toml"
    config.write_text(toml_text({"data_dir": str(tmp_path / "data")}))
    env = {"ATRIUM_CONFIG": str(config)}

    def run(*args):
        return CliRunner().invoke(main, list(args), env=env)

    run("init")
    run("tenant", "create", "acme", "--name", "Acme", "--host", "acme.example")
    run("tenant", "create", "globex", "--name", "Globex")
    install(tmp_path / "data", f"sqlite:///{tmp_path}/data/atrium.db")
    acme = Tenant.get(Tenant.slug == "acme")
    fill_tenant(acme)
    globex_rows = tenant_rows(Tenant.get(Tenant.slug == "globex").id)
    exported = run("tenant", "export", "acme", str(tmp_path / "acme.tar"), "--json")
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.output)["rows"]["person"] == 3
    copied = run("tenant", "import", str(tmp_path / "acme.tar"), "--slug", "acme-copy", "--json")
    assert copied.exit_code == 0, copied.output
    data = json.loads(copied.output)
    assert data["hosts_skipped"] == ["acme.example"] and data["files"] == Blob.select().where(
        Blob.tenant == acme).count()
    again = run("tenant", "import", str(tmp_path / "acme.tar"), "--slug", "acme-copy")
    assert again.exit_code == 1 and "a tenant 'acme-copy' exists already" in again.output

    refused = run("tenant", "delete", "acme")
    assert refused.exit_code == 2 and "add --yes" in refused.output
    store_files = {p.name for p in files_under(tmp_path / "data" / "blobs")}
    acme_keys = {b.key for b in Blob.select().where(Blob.tenant == acme)}
    deleted = run("tenant", "delete", "acme", "--yes", "--json")
    assert deleted.exit_code == 0, deleted.output
    assert json.loads(deleted.output)["files"] == len(acme_keys)
    assert Tenant.get_or_none(Tenant.slug == "acme") is None
    assert all(not rows for rows in tenant_rows(acme.id).values())
    assert {p.name for p in files_under(tmp_path / "data" / "blobs")} == store_files - acme_keys
    assert tenant_rows(Tenant.get(Tenant.slug == "globex").id) == globex_rows   # nobody else was touched
    copy = Tenant.get(Tenant.slug == "acme-copy")
    assert len(tenant_files(copy.id)) == len(acme_keys)       # the copy's files are its own


# --- refusals: nothing changes ----------------------------------------------------------------------------

def _rewrite(archive, out, change):
    """Copy a tar, letting change(name, data) return new data, None to drop a member, or add members."""
    members = []
    with tarfile.open(archive) as source:
        for info in source.getmembers():
            members.append((info.name, source.extractfile(info).read()))
    with tarfile.open(out, "w") as target:
        for name, data in change(members):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            target.addfile(info, io.BytesIO(data))


def _corrupt_a_file(members):
    for name, data in members:
        if name.startswith("blobs/") and not any(n.startswith("blobs/") and n < name for n, _ in members):
            data = bytes([data[0] ^ 1]) + data[1:]
        yield name, data


def _extra_member(members):
    yield from members
    yield "blobs/" + "ab" * 20, b"smuggled"


def _drop_manifest(members):
    return [(n, d) for n, d in members if n != "manifest.json"]


def _newer_schema(members):
    for name, data in members:
        if name == "manifest.json":
            manifest = json.loads(data)
            manifest["migrations"].append(9999)
            manifest["schema_version"] = 9999
            data = json.dumps(manifest).encode()
        yield name, data


def _row_checksum(members):
    """A row that claims another checksum than its file's, with the manifest made to agree with the member."""
    import hashlib
    changed = {}
    out = []
    for name, data in members:
        if name.endswith("-blob.jsonl"):
            lines = data.splitlines()
            row = json.loads(lines[0])
            row["sha256"] = "0" * 64
            lines[0] = json.dumps(row).encode()
            data = b"\n".join(lines) + b"\n"
            changed[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        out.append((name, data))
    for index, (name, data) in enumerate(out):
        if name == "manifest.json":
            manifest = json.loads(data)
            manifest["members"].update(changed)
            out[index] = (name, json.dumps(manifest).encode())
    return out


@pytest.mark.parametrize("change, message", [
    (_corrupt_a_file, "does not match its checksum: the archive is damaged"),
    (_extra_member, "the archive does not match its manifest (extra: blobs/abab"),
    (_drop_manifest, "the archive has no manifest.json"),
    (_newer_schema, "the archive was written at schema version 9999"),
    (_row_checksum, "does not match its row's checksum"),
])
def test_a_damaged_or_foreign_archive_is_refused_and_nothing_changes(app, tenant, tmp_path, change, message):
    fill_tenant(tenant)
    archive, bad = tmp_path / "good.tar", tmp_path / "bad.tar"
    export_tenant(tenant, archive)
    _rewrite(archive, bad, change)
    tenants, rows = Tenant.select().count(), Blob.select().count()
    files = files_under(tmp_path / "data" / "blobs")
    with pytest.raises(TransferError) as info:
        import_tenant(bad, slug="copy")
    assert message in str(info.value)
    assert (Tenant.select().count(), Blob.select().count()) == (tenants, rows)
    assert files_under(tmp_path / "data" / "blobs") == files
    assert import_tenant(archive, slug="copy").tenant.slug == "copy"   # the untouched archive is fine


def test_not_an_archive(app, tenant, tmp_path):
    (tmp_path / "x.tar").write_bytes(b"not a tar at all" * 100)
    with pytest.raises(TransferError, match="cannot read .* as a tar archive"):
        import_tenant(tmp_path / "x.tar")


def test_a_failed_import_takes_back_the_files_it_stored(app, tenant, tmp_path, monkeypatch):
    fill_tenant(tenant)
    export_tenant(tenant, tmp_path / "a.tar")
    files = files_under(tmp_path / "data" / "blobs")
    from app.residency import transfer

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(transfer, "_insert_rows", broken)
    with pytest.raises(RuntimeError):
        import_tenant(tmp_path / "a.tar", slug="copy")
    assert Tenant.get_or_none(Tenant.slug == "copy") is None
    assert files_under(tmp_path / "data" / "blobs") == files


def test_export_of_a_tenant_with_a_missing_file_is_refused(app, tenant, tmp_path):
    fill_tenant(tenant)
    blob = Blob.select().where(Blob.tenant == tenant).first()
    next(p for p in files_under(tmp_path / "data" / "blobs") if p.name == blob.key).unlink()
    with pytest.raises(TransferError, match=f"file {blob.id} of the tenant cannot be read"):
        export_tenant(tenant, tmp_path / "a.tar")
    assert list(tmp_path.glob("*.tar")) == [] and list(tmp_path.glob(".a.tar*")) == []


def test_a_store_failing_during_import_changes_nothing(app, tenant, tmp_path, monkeypatch):
    from app.residency.blobs import BlobError, LocalBlobStore

    fill_tenant(tenant)
    export_tenant(tenant, tmp_path / "a.tar")
    files = files_under(tmp_path / "data" / "blobs")
    original, calls = LocalBlobStore.put, []

    def fails_third_time(self, key, data):
        calls.append(key)
        if len(calls) == 3:
            raise BlobError("cannot write to blob store local: No space left on device")
        original(self, key, data)

    monkeypatch.setattr(LocalBlobStore, "put", fails_third_time)
    with pytest.raises(TransferError, match="No space left on device"):
        import_tenant(tmp_path / "a.tar", slug="copy")
    assert Tenant.get_or_none(Tenant.slug == "copy") is None
    assert files_under(tmp_path / "data" / "blobs") == files
