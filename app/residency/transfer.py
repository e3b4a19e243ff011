"""Moving a tenant between installs: export every row and file to one tar, import it as a new tenant, delete one.

The archive holds one JSON-lines member per tenant-owned table (parents before children), every file under
blobs/, and manifest.json last: the schema version, the tenant's own settings and the SHA-256 of every other
member. An import checks all of that before it changes anything, stores the files under new keys in the new
tenant's blob store, and writes the rows with their references rewritten to the new ids.
"""
from __future__ import annotations

import base64
import datetime
import decimal
import hashlib
import io
import json
import os
import re
import secrets
import tarfile
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Iterator

import peewee

from app import __version__
from app import db as dbmod
from app.db import db
from app.residency import blobs
from app.residency.models import Blob
from app.residency.tables import foreign_keys, tenant_models
from app.tenancy.models import Tenant, TenantHost
from app.tenancy.service import create_tenant
from app.validation import ValidationError

FORMAT = "atrium-tenant-export"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_MEMBER_RE = re.compile(r"rows/\d{3}-[a-z0-9_]+\.jsonl|blobs/[0-9a-f]{8,80}")
# Set by the install or by create_tenant, not carried from one install to another.
_TENANT_LOCAL_COLUMNS = {"id", "slug", "is_default", "blob_store"}

Progress = Callable[[str], None]


class TransferError(Exception):
    """An export, import or delete cannot go ahead; the message says why. An import that fails changes nothing."""


@dataclass
class ExportResult:
    """What `export_tenant` wrote: rows per table, files and their bytes."""

    path: Path
    tables: dict[str, int]
    files: int
    bytes: int


@dataclass
class ImportResult:
    """The new tenant, rows per table, files, and host names left out because this install uses them."""

    tenant: Tenant
    tables: dict[str, int]
    files: int
    hosts_skipped: list[str] = field(default_factory=list)


@dataclass
class DeleteResult:
    """Rows removed per table, files removed, and files that could not be (fsck finds them later)."""

    slug: str
    tables: dict[str, int]
    files: int
    files_left: list[str] = field(default_factory=list)


def schema_state(database=db) -> dict:
    """The schema version and the applied migrations: two installs exchange rows only when these agree."""
    applied = sorted(dbmod.applied_versions(database))
    return {"schema_version": max(applied, default=0), "migrations": applied}


def encode_value(column: peewee.Field, value):
    """A column's value as JSON."""
    if value is None:
        return None
    if isinstance(column, (peewee.DateTimeField, peewee.DateField, peewee.TimeField)):
        return value.isoformat() if hasattr(value, "isoformat") else str(value)
    if isinstance(column, peewee.BlobField):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    return value


def decode_value(column: peewee.Field, value):
    """encode_value's inverse."""
    if value is None:
        return None
    if isinstance(column, peewee.DateTimeField):
        return datetime.datetime.fromisoformat(value)
    if isinstance(column, peewee.DateField):
        return datetime.date.fromisoformat(value)
    if isinstance(column, peewee.TimeField):
        return datetime.time.fromisoformat(value)
    if isinstance(column, peewee.BlobField):
        return base64.b64decode(value)
    if isinstance(column, peewee.DecimalField):
        return decimal.Decimal(value)
    return value


def _columns(model) -> list[str]:
    return [f.column_name for f in model._meta.sorted_fields]


def check_references(models) -> None:
    """Every reference between tenant tables can be rewritten on import: written in order, or nullable."""
    position = {model: index for index, model in enumerate(models)}
    for model in models:
        for column in foreign_keys(model):
            where = f"{model._meta.table_name}.{column.column_name}"
            if column.rel_model not in position:
                raise TransferError(f"{where} refers to {column.rel_model._meta.table_name}, which is not tenant-owned")
            if position[column.rel_model] >= position[model] and not column.null:
                raise TransferError(f"{where} must be nullable: it refers to a row that may be written after its own")


@contextmanager
def snapshot():
    """One read transaction, so every table is read as of the same moment while the install keeps running."""
    # Deferred on SQLite: a reader keeps its snapshot without taking the write lock from everyone else.
    with db.atomic("REPEATABLE READ, READ ONLY" if dbmod.is_postgres() else "DEFERRED"):
        yield


# --- export ---------------------------------------------------------------------------------------

def _add(archive: tarfile.TarFile, name: str, fh: IO[bytes], size: int, members: dict) -> None:
    digest = hashlib.sha256()
    fh.seek(0)
    for chunk in iter(lambda: fh.read(1 << 20), b""):
        digest.update(chunk)
    fh.seek(0)
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o640, int(time.time())
    archive.addfile(info, fh)
    members[name] = {"sha256": digest.hexdigest(), "size": size}


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes, members: dict) -> None:
    _add(archive, name, io.BytesIO(data), len(data), members)


def tenant_settings(tenant: Tenant) -> dict:
    """The tenant's own row, less what belongs to the install it lives in, and its host names."""
    values = {f.column_name: encode_value(f, getattr(tenant, f.name)) for f in Tenant._meta.sorted_fields
              if f.column_name not in _TENANT_LOCAL_COLUMNS}
    return {"slug": tenant.slug, "columns": values, "hosts": tenant.host_names()}


def export_tenant(tenant: Tenant, out: str | Path, progress: Progress | None = None) -> ExportResult:
    """Write the tenant's rows and files to a tar at `out` (replaced only when the whole archive is written)."""
    out = Path(out)
    tmp = out.with_name(f".{out.name}.{secrets.token_hex(4)}.tmp")
    members: dict[str, dict] = {}
    counts: dict[str, int] = {}
    tables, files, total = [], 0, 0
    models = tenant_models()
    check_references(models)
    try:
        with snapshot(), tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as archive:
            for index, model in enumerate(models, 1):
                name = model._meta.table_name
                member = f"rows/{index:03d}-{name}.jsonl"
                # Spooled beside the archive: the rows are already bound for that disk.
                with tempfile.TemporaryFile(dir=out.parent) as spool:
                    count = 0
                    query = (model.select(*model._meta.sorted_fields).where(model.tenant == tenant)
                             .order_by(model._meta.primary_key).tuples())
                    for row in query:
                        record = {f.column_name: encode_value(f, v)
                                  for f, v in zip(model._meta.sorted_fields, row, strict=True)}
                        spool.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
                        count += 1
                    _add(archive, member, spool, spool.tell(), members)
                counts[name] = count
                tables.append({"table": name, "member": member, "rows": count, "columns": _columns(model)})
                if progress:
                    progress(f"{name}: {count} rows")
            for blob in Blob.select().where(Blob.tenant == tenant).order_by(Blob.id):
                try:
                    data = blobs.read_blob(blob)
                except blobs.BlobError as exc:
                    raise TransferError(f"file {blob.id} of the tenant cannot be read ({exc}): run `atrium storage"
                                        " fsck` and restore it from a backup before exporting") from None
                _add_bytes(archive, f"blobs/{blob.key}", data, members)
                files, total = files + 1, total + len(data)
                if progress and files % 100 == 0:
                    progress(f"files: {files}")
            manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "atrium_version": __version__,
                        "exported_at": dbmod.utcnow().isoformat(), **schema_state(), "tenant": tenant_settings(tenant),
                        "tables": tables, "files": files, "members": members}
            _add_bytes(archive, MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1).encode(), {})
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return ExportResult(out, counts, files, total)


# --- import ---------------------------------------------------------------------------------------

def _digest(fh: IO[bytes]) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    for chunk in iter(lambda: fh.read(1 << 20), b""):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def read_manifest(archive: tarfile.TarFile) -> dict:
    """The manifest, after checking that the archive holds exactly its members, each with its checksum."""
    members: dict[str, tarfile.TarInfo] = {}
    for info in archive.getmembers():
        if info.name in members:
            raise TransferError(f"the archive holds {info.name} twice")
        if not info.isreg():
            raise TransferError(f"the archive member {info.name} is not a plain file")
        members[info.name] = info
    if MANIFEST not in members:
        raise TransferError("the archive has no manifest.json: it is not a tenant export")
    try:
        manifest = json.load(archive.extractfile(members.pop(MANIFEST)))
    except (ValueError, UnicodeDecodeError):
        raise TransferError("manifest.json is damaged") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise TransferError("the archive is not a tenant export")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise TransferError(f"the archive is in export format {manifest.get('format_version')}, this release reads"
                            f" format {FORMAT_VERSION}")
    listed = manifest.get("members") or {}
    if set(listed) != set(members):
        extra, missing = sorted(set(members) - set(listed)), sorted(set(listed) - set(members))
        raise TransferError(f"the archive does not match its manifest (extra: {', '.join(extra) or '-'};"
                            f" missing: {', '.join(missing) or '-'})")
    for name, info in members.items():
        if not _MEMBER_RE.fullmatch(name):
            raise TransferError(f"the archive member {name} has an unexpected name")
        if _digest(archive.extractfile(info)) != (listed[name]["sha256"], listed[name]["size"]):
            raise TransferError(f"the archive member {name} does not match its checksum: the archive is damaged")
    return manifest


def _rows(archive: tarfile.TarFile, member: str) -> Iterator[dict]:
    for line in archive.extractfile(member):
        yield json.loads(line)


def _check_compatible(manifest: dict, models) -> None:
    here = schema_state()
    if manifest.get("migrations") != here["migrations"]:
        raise TransferError(f"the archive was written at schema version {manifest.get('schema_version')} and this"
                            f" install is at {here['schema_version']} (migrations {manifest.get('migrations')} here"
                            f" {here['migrations']}): bring both installs to the same release first")
    theirs = {t["table"]: t["columns"] for t in manifest.get("tables", [])}
    ours = {m._meta.table_name: _columns(m) for m in models}
    if theirs != ours:
        differ = sorted(set(theirs) ^ set(ours) | {t for t in set(theirs) & set(ours) if theirs[t] != ours[t]})
        raise TransferError(f"the archive's tables differ from this install's ({', '.join(differ)})")


def _insert_rows(archive: tarfile.TarFile, manifest: dict, models, tenant: Tenant, store_name: str,
                 new_keys: dict[str, str], progress: Progress | None) -> dict[str, int]:
    members = {t["table"]: t["member"] for t in manifest["tables"]}
    id_maps: dict[str, dict[int, int]] = {}
    counts = {}
    later = []   # (model, old id, column, old value): references filled in once every table is written
    for model in models:
        name = model._meta.table_name
        primary = model._meta.primary_key
        # By name: peewee fields compare into query expressions, not booleans.
        references = {f.name for f in foreign_keys(model)}
        # References to rows not written yet (the table's own, or round a cycle) are filled in afterwards.
        deferred = {f.name for f in foreign_keys(model)
                    if f.rel_model is model or f.rel_model._meta.table_name not in id_maps}
        mapping = id_maps[name] = {}
        for row in _rows(archive, members[name]):
            old_id = row[primary.column_name]
            values = {}
            for column in model._meta.sorted_fields:
                if column is primary:
                    continue
                value = decode_value(column, row[column.column_name])
                if isinstance(column, peewee.ForeignKeyField) and column.rel_model is Tenant:
                    value = tenant.id
                elif column.name in references and value is not None:
                    if column.name in deferred:
                        later.append((model, old_id, column, value))
                        value = None
                    else:
                        value = _mapped(id_maps, column, value, name, old_id)
                values[column] = value
            if model is Blob:
                values[Blob.key], values[Blob.store], values[Blob.damaged] = new_keys[row["key"]], store_name, None
            mapping[old_id] = model.insert(values).execute()
        counts[name] = len(mapping)
        if progress:
            progress(f"{name}: {len(mapping)} rows")
    for model, old_id, column, value in later:
        name = model._meta.table_name
        model.update({column: _mapped(id_maps, column, value, name, old_id)}).where(
            model._meta.primary_key == id_maps[name][old_id]).execute()
    return counts


def _mapped(id_maps, column, value, table, old_id) -> int:
    try:
        return id_maps[column.rel_model._meta.table_name][value]
    except KeyError:
        raise TransferError(f"row {old_id} of {table} refers to {column.rel_model._meta.table_name} {value},"
                            " which is not in the archive") from None


def import_tenant(path: str | Path, slug: str | None = None, blob_store: str | None = None,
                  progress: Progress | None = None) -> ImportResult:
    """Restore an export as a new tenant (named `slug`, default the exported one); nothing changes on refusal."""
    try:
        archive = tarfile.open(path, "r:")
    except (tarfile.TarError, OSError) as exc:
        raise TransferError(f"cannot read {path} as a tar archive: {type(exc).__name__}") from None
    with archive:
        models = tenant_models()
        check_references(models)
        try:
            manifest = read_manifest(archive)
            _check_compatible(manifest, models)
            exported = manifest["tenant"]
            blob_member = next(t["member"] for t in manifest["tables"] if t["table"] == Blob._meta.table_name)
            blob_rows = list(_rows(archive, blob_member))
            for row in blob_rows:
                listed = manifest["members"].get(f"blobs/{row['key']}")
                if listed is None or listed["sha256"] != row["sha256"]:
                    raise TransferError(f"file {row['id']} of the archive does not match its row's checksum")
            slug = slug or exported["slug"]
            hosts = [h for h in exported["hosts"] if TenantHost.get_or_none(TenantHost.host == h) is None]
        except (KeyError, TypeError, AttributeError, ValueError):
            raise TransferError("manifest.json or the blob rows are damaged") from None
        if Tenant.get_or_none(Tenant.slug == slug):
            raise TransferError(f"a tenant '{slug}' exists already: import into a new one with --slug NEW")
        store_name = blob_store or blobs.default_store_name()
        try:
            store = blobs.store_for(Tenant(blob_store=store_name))
        except blobs.BlobError as exc:
            raise TransferError(str(exc)) from None
        new_keys: dict[str, str] = {}
        try:
            for count, row in enumerate(blob_rows, 1):
                data = archive.extractfile(f"blobs/{row['key']}").read()
                if hashlib.sha256(data).hexdigest() != row["sha256"]:
                    raise TransferError(f"file {row['id']} changed while it was read")
                new_keys[row["key"]] = blobs.new_key()
                store.put(new_keys[row["key"]], data)
                if progress and count % 100 == 0:
                    progress(f"files: {count} of {len(blob_rows)}")
            columns = {Tenant._meta.columns[c]: decode_value(Tenant._meta.columns[c], v)
                       for c, v in exported["columns"].items()}
            with db.atomic():
                tenant = create_tenant(slug, columns.pop(Tenant.name), hosts, blob_store=store_name,
                                       locale=columns.pop(Tenant.default_locale),
                                       timezone=columns.pop(Tenant.timezone))
                Tenant.update(columns).where(Tenant.id == tenant.id).execute()
                counts = _insert_rows(archive, manifest, models, tenant, store.name, new_keys, progress)
        except ValidationError as exc:
            _remove(store, new_keys.values())
            raise TransferError(f"{exc.field}: {exc.message}") from None
        except blobs.BlobError as exc:
            _remove(store, new_keys.values())
            raise TransferError(str(exc)) from None
        except peewee.IntegrityError as exc:
            _remove(store, new_keys.values())
            raise TransferError(f"a row of the archive conflicts with one of this install ({type(exc).__name__})"
                                ) from None
        except BaseException:
            _remove(store, new_keys.values())
            raise
    return ImportResult(Tenant.get_by_id(tenant.id), counts, len(new_keys),
                        sorted(set(exported["hosts"]) - set(hosts)))


def _remove(store: blobs.BlobStore, keys) -> None:
    """Take back files an import stored before it failed (what cannot be removed now, fsck finds as orphans)."""
    for key in keys:
        try:
            store.delete(key)
        except blobs.BlobError:
            pass


# --- delete ----------------------------------------------------------------------------------------

def delete_tenant(tenant: Tenant) -> DeleteResult:
    """Remove every row of the tenant, then its files from every store they are in."""
    models = tenant_models()
    files = list(Blob.select(Blob.store, Blob.key).where(Blob.tenant == tenant).tuples())
    counts = {}
    with db.atomic():
        for model in models:
            # References within the tenant first, so a RESTRICT never meets a row it still protects.
            nullable = {f: None for f in foreign_keys(model) if f.null}
            if nullable:
                model.update(nullable).where(model.tenant == tenant).execute()
        for model in reversed(models):
            counts[model._meta.table_name] = model.delete().where(model.tenant == tenant).execute()
        TenantHost.delete().where(TenantHost.tenant == tenant).execute()
        Tenant.delete().where(Tenant.id == tenant.id).execute()
    left = []
    for store_name, key in files:
        try:
            blobs.get_store(store_name).delete(key)
        except blobs.BlobError as exc:
            left.append(f"{store_name}/{key}: {exc}")
    return DeleteResult(tenant.slug, counts, len(files) - len(left), left)
