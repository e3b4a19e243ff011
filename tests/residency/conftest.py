"""Fixtures for data residency: a real OpenSSH server for the sftp store, installs with their own settings,
a tenant filled with every kind of row, and helpers to compare two installs row by row and file by file."""
from __future__ import annotations

import hashlib
import itertools
import json
import os
from pathlib import Path

import peewee
import pytest

from tests.conftest import make_person, make_settings
from tests.residency.sshd import SshdServer

ROOT = Path(__file__).resolve().parents[2]
_databases = itertools.count()


@pytest.fixture
def pg_url(pg_server, pg_template):
    """A fresh PostgreSQL database at the newest schema (not parametrized: for tests that need PostgreSQL)."""
    name = f"r{os.getpid()}_{next(_databases)}"
    pg_server.execute(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    yield pg_server.url(name)
    pg_server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def toml_text(values: dict, prefix: str = "") -> str:
    """TOML for plain settings: texts, numbers, lists of texts and nested tables (JSON strings are TOML strings)."""
    plain = [f"{key} = {json.dumps(value)}" for key, value in values.items() if not isinstance(value, dict)]
    text = (f"[{prefix}]\n" if prefix and plain else "") + "".join(line + "\n" for line in plain)
    for key, value in values.items():
        if isinstance(value, dict):
            text += toml_text(value, f"{prefix}.{json.dumps(key)}" if prefix else json.dumps(key))
    return text


@pytest.fixture(scope="session")
def sshd():
    server = SshdServer().start()
    yield server
    server.remove()


def sftp_settings(server: SshdServer, root: Path, **extra) -> dict:
    """A [blob_stores.NAME] table for a directory on the test sshd, with its host key pinned."""
    return {"kind": "sftp", "site": "hq", "host": "127.0.0.1", "port": server.port, "user": server.user,
            "path": str(root), "private_key_file": str(server.client_key_file), "host_key": server.host_key,
            "connect_timeout": 2, "operation_timeout": 2, **extra}


@pytest.fixture
def sftp_store(sshd):
    """An sftp blob store on a fresh directory of the test sshd; sshd is running again after the test."""
    from app.config import BlobStoreSettings
    from app.residency.sftp import SftpBlobStore

    root = sshd.new_root()
    store = SftpBlobStore.from_settings("hq", BlobStoreSettings(**sftp_settings(sshd, root)))
    yield store
    store.close()
    sshd.resume()
    if sshd.proc.poll() is not None:
        sshd.restart()


def install(data_dir: Path, database_url: str, **extra):
    """Build (or switch this process to) an install: its settings, database and blob stores."""
    from app import create_app

    app = create_app(make_settings(data_dir, database_url, **extra))
    app.config["TESTING"] = True
    return app


def fill_tenant(tenant, marker: str = "x") -> None:
    """Rows of every kind the product has today: an org chart with a manager cycle, brand versions with icons,
    directory settings and a sync run, failed logins."""
    from app.brand.pack import build_pack, read_folder
    from app.brand.service import apply_pack
    from app.org.ldap.models import DirectoryConfig, DirectoryEntry, SyncRun
    from app.org.models import Person
    from app.org.service import save_department, set_departments
    from app.security.models import LoginFailure

    top = save_department(tenant, None, {"name": f"Head office {marker}"})
    sales = save_department(tenant, None, {"name": "Sales", "parent_id": str(top.id)})
    boss = make_person(tenant, "boss", role="admin", display_name="Big Boss", email="boss@example.com")
    ann = make_person(tenant, "ann", display_name="Ann 安", manager_id=str(boss.id), title="Seller")
    bob = make_person(tenant, "bob", display_name="Bob", manager_id=str(ann.id))
    # A manager cycle the forms would refuse, as a directory can deliver: written in a second pass on import.
    Person.update(manager=bob).where(Person.id == boss.id).execute()
    sales.head = ann
    sales.save()
    set_departments(ann, [sales, top])
    set_departments(bob, [sales])
    apply_pack(tenant, build_pack(read_folder(ROOT / "branding" / "sakura")), by=boss, note="first")
    apply_pack(tenant, build_pack(read_folder(ROOT / "branding" / "ocean")), note="second")
    DirectoryConfig.create(tenant=tenant, server_uris='["ldap://ldap.example:389"]', bind_dn="cn=svc",
                           bind_password_encrypted="opaque-token", user_base_dns='["ou=people"]', mapping="{}")
    DirectoryEntry.create(tenant=tenant, person=bob, dn="uid=bob,ou=people", photo_sha256="ab" * 32, photo_size=10)
    SyncRun.create(tenant=tenant, origin="cli", started_by=ann, kind="full", counts="{}", problems="[]", plan="{}",
                   status="ok", duration_ms=1234)
    LoginFailure.create(tenant=tenant, login="bob", address="10.0.0.1")


def tenant_rows(tenant_id: int) -> dict[str, list[dict]]:
    """Every row of the tenant, per table, in id order, keyed by column."""
    from app.residency.tables import tenant_models

    rows = {}
    for model in tenant_models():
        columns = [f.column_name for f in model._meta.sorted_fields]
        query = model.select(*model._meta.sorted_fields).where(model.tenant == tenant_id).order_by(model.id).tuples()
        rows[model._meta.table_name] = [dict(zip(columns, row, strict=True)) for row in query]
    return rows


def tenant_files(tenant_id: int) -> dict[int, bytes]:
    """Blob id -> the bytes its store holds, checked against the row."""
    from app.residency.blobs import read_blob
    from app.residency.models import Blob

    return {blob.id: read_blob(blob) for blob in Blob.select().where(Blob.tenant == tenant_id).order_by(Blob.id)}


def assert_same_tenant(before: dict, after: dict, old_tenant: int, new_tenant: int, *, store: str,
                       files_before: dict[int, bytes], files_after: dict[int, bytes]) -> None:
    """Every row and column equal after mapping ids (row i of a table maps to row i), every file byte for byte."""
    from app.residency.tables import tenant_models
    from app.tenancy.models import Tenant

    models = {m._meta.table_name: m for m in tenant_models()}
    assert {t: len(r) for t, r in before.items()} == {t: len(r) for t, r in after.items()}
    id_maps = {table: {a["id"]: b["id"] for a, b in zip(before[table], after[table], strict=True)} for table in before}
    for table, rows in before.items():
        fields = {f.column_name: f for f in models[table]._meta.sorted_fields}
        for old, new in zip(rows, after[table], strict=True):
            for column, value in old.items():
                field = fields[column]
                if column == "id":
                    continue
                if isinstance(field, peewee.ForeignKeyField) and field.rel_model is Tenant:
                    assert (value, new[column]) == (old_tenant, new_tenant)
                elif isinstance(field, peewee.ForeignKeyField):
                    expected = None if value is None else id_maps[field.rel_model._meta.table_name][value]
                    assert new[column] == expected, (table, column)
                elif table == "blob" and column == "key":
                    assert new[column] != value  # a fresh key on the new install
                elif table == "blob" and column == "store":
                    assert new[column] == store
                else:
                    assert new[column] == value, (table, column)
    assert len(files_before) == len(files_after)
    for old_id, data in files_before.items():
        assert files_after[id_maps["blob"][old_id]] == data
        assert hashlib.sha256(data).hexdigest() == next(r["sha256"] for r in before["blob"] if r["id"] == old_id)


def files_under(*roots: Path) -> list[Path]:
    found = []
    for root in roots:
        for base, _dirs, names in os.walk(root):
            found.extend(Path(base) / name for name in names)
    return found
