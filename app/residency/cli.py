"""Residency commands: the report, storage checks, tenant export/import/delete, backup and restore."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from app.audit import Target, record
from app.audit.service import log_exists
from app.cli_helpers import EXIT_CONFIG, EXIT_FAILED, emit, fail, get_tenant, require_schema, with_app


def _progress(line: str) -> None:
    click.echo(line, err=True)


def _refuse_on_compute(app, what: str) -> None:
    if app.config["ATRIUM"].residency.role == "compute":
        fail(f"this node's role is compute and it keeps no customer data: write {what} on a node in a site that may"
             " hold data", EXIT_CONFIG)


# --- atrium residency report ------------------------------------------------------------------------

@click.group()
def residency():
    """Data residency: where every tenant's rows and files live, checked against the policy."""


@residency.command("report")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@with_app
def report(app, as_json):
    """Rows per table and files per store of every tenant, and the verdict; exit 1 when not compliant."""
    from app.residency.report import build_report

    require_schema(app)
    built = build_report(app.config["ATRIUM"])
    lines = [f"node: site {built.site}, role {built.role}; sites that may hold data: {', '.join(built.allowed_sites)}",
             f"database: {built.database} in site {built.database_site}"]
    for store in built.stores:
        lines.append(f"blob store {store.name} ({store.kind}, site {store.site or '-'}): {store.location}"
                     f"{'' if store.allowed else '  [may not receive data]'}")
    lines += [f"problem: {p}" for p in built.problems]
    for tenant in built.tenants:
        lines.append(f"tenant {tenant.slug} ({tenant.name}): {'compliant' if tenant.compliant else 'NOT compliant'}")
        lines.append(f"  new files go to blob store {tenant.blob_store}")
        rows = [f"{table} {count}" for table, count in tenant.rows.items() if count]
        lines.append(f"  rows ({sum(tenant.rows.values())}): {', '.join(rows) or 'none'}")
        files = [f"{store} {count} files, {size} bytes" for store, (count, size) in sorted(tenant.files.items())]
        lines.append(f"  files: {'; '.join(files) or 'none'}")
        if tenant.damaged:
            lines.append(f"  damaged files: {tenant.damaged} (see `atrium storage fsck`)")
        lines += [f"  problem: {p}" for p in tenant.problems]
    lines.append(f"verdict: {'compliant' if built.compliant else 'NOT compliant'}")
    emit(as_json, built.as_dict(), lines)
    if not built.compliant:
        sys.exit(EXIT_FAILED)


# --- atrium storage fsck ----------------------------------------------------------------------------

@click.group()
def storage():
    """Blob stores: check them against the database."""


@storage.command("fsck")
@click.option("--repair", is_flag=True, help="Remove orphan files, and dangling rows that nothing refers to.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@with_app
def fsck_command(app, repair, as_json):
    """Find orphan files and rows whose file is missing or damaged; exit 1 while any remain."""
    from app.residency import blobs
    from app.residency.fsck import GRACE_SECONDS, fsck

    require_schema(app)
    stores = blobs.stores()
    result = fsck(stores, repair=repair)
    if repair:
        record("residency.fsck_repair", target=Target("blob_stores", label=", ".join(sorted(stores))),
               outcome="ok" if result.clean else "failed",
               changes={"files_removed": [f"{o.store}/{o.name}" for o in result.orphans if o.removed],
                        "rows": [{"blob": d.blob_id, "tenant": d.tenant_id, "action": d.action}
                                 for d in result.dangling if d.action],
                        "recovered": list(result.recovered), "clean": result.clean})
    lines = [f"checked {result.checked} files in {len(stores)} store(s); {result.recent} file(s) younger than"
             f" {GRACE_SECONDS // 60} minutes left alone"]
    lines += [f"unreachable: {name}: {reason}" for name, reason in result.unreachable.items()]
    for orphan in result.orphans:
        lines.append(f"orphan: {orphan.store}/{orphan.name} ({orphan.kind}){' removed' if orphan.removed else ''}")
    for item in result.dangling:
        needed = f"; needed by {', '.join(item.references)}" if item.references else ""
        action = {"removed": " -> row removed",
                  "marked": " -> kept and marked damaged: restore the file from a backup"}.get(item.action, "")
        lines.append(f"dangling: blob {item.blob_id} of tenant {item.tenant_id} in {item.store}: {item.problem}"
                     f"{needed}{action}")
    lines += [f"recovered: blob {blob_id} is whole again" for blob_id in result.recovered]
    lines.append("result: clean" if result.clean else
                 "result: problems remain" + ("" if repair else " (run with --repair to remove what may go)"))
    emit(as_json, result.as_dict(), lines)
    if not result.clean:
        sys.exit(EXIT_FAILED)


# --- atrium tenant export / import / delete ---------------------------------------------------------

@click.command("export")
@click.argument("tenant_slug")
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_app
def tenant_export(app, tenant_slug, out, as_json):
    """Write every row and file of a tenant to a tar archive OUT, with a manifest of checksums."""
    from app.residency.transfer import TransferError, export_tenant

    require_schema(app)
    _refuse_on_compute(app, "exports")
    tenant = get_tenant(tenant_slug)
    if not Path(out).resolve().parent.is_dir():
        fail(f"the folder of {out} does not exist", EXIT_CONFIG)
    try:
        result = export_tenant(tenant, out, progress=None if as_json else _progress)
    except TransferError as exc:
        record("residency.export", target=tenant, outcome="failed", changes={"archive": out, "reason": str(exc)})
        fail(f"{exc}; nothing was written")
    record("residency.export", target=tenant, changes={"archive": str(result.path), "rows": sum(result.tables.values()),
                                                       "files": result.files, "bytes": result.bytes})
    emit(as_json, {"tenant": tenant.slug, "archive": str(result.path), "rows": result.tables, "files": result.files,
                   "bytes": result.bytes},
         [f"exported {tenant.slug}: {sum(result.tables.values())} rows in {len(result.tables)} tables,"
          f" {result.files} files ({result.bytes} bytes) to {result.path}"])


@click.command("import")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@click.option("--slug", default=None, help="Short name of the new tenant (default: the exported one).")
@click.option("--blob-store", default=None, help="Blob store for its files (default: the install's default store).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_app
def tenant_import(app, archive, slug, blob_store, as_json):
    """Restore a tenant export into a new tenant; refuses, changing nothing, on any mismatch."""
    from app.residency.transfer import TransferError, import_tenant

    require_schema(app)
    try:
        result = import_tenant(archive, slug=slug, blob_store=blob_store, progress=None if as_json else _progress)
    except TransferError as exc:
        record("residency.import", target=Target("tenant", label=slug), outcome="failed",
               changes={"archive": archive, "reason": str(exc)})
        fail(f"{exc}; nothing was changed")
    tenant = result.tenant
    record("residency.import", target=tenant, changes={"archive": archive, "rows": sum(result.tables.values()),
                                                       "files": result.files, "blob_store": tenant.blob_store,
                                                       "hosts_skipped": result.hosts_skipped})
    lines = [f"imported {tenant.slug} ({tenant.name}): {sum(result.tables.values())} rows, {result.files} files"
             f" in blob store {tenant.blob_store}"]
    if result.hosts_skipped:
        lines.append(f"host names already used here, not given to {tenant.slug}: {', '.join(result.hosts_skipped)}")
    if result.tables.get("directory_config"):
        lines.append("a directory bind password in the archive was encrypted with the other install's secret key:"
                     f" set it again with `atrium ldap-config {tenant.slug} --from-file FILE --bind-password-stdin`")
    emit(as_json, {"tenant": tenant.slug, "id": tenant.id, "rows": result.tables, "files": result.files,
                   "blob_store": tenant.blob_store, "hosts_skipped": result.hosts_skipped}, lines)


@click.command("delete")
@click.argument("tenant_slug")
@click.option("--yes", is_flag=True, help="Confirm: every row and file of the tenant is removed for good.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_app
def tenant_delete(app, tenant_slug, yes, as_json):
    """Remove a tenant with all its rows and its files in every blob store (needs --yes)."""
    from app.residency.transfer import delete_tenant

    require_schema(app)
    tenant = get_tenant(tenant_slug)
    if not yes:
        fail(f"this removes every row and file of tenant {tenant.slug} for good: add --yes (export it first if in"
             " doubt)", EXIT_CONFIG)
    was_default = tenant.is_default
    result = delete_tenant(tenant)
    # Written after the tenant is gone: the log keeps its id and short name, and the entry outlives it.
    record("residency.delete", target=tenant, tenant=tenant, outcome="failed" if result.files_left else "ok",
           changes={"rows": sum(result.tables.values()), "files": result.files, "files_left": len(result.files_left)})
    lines = [f"deleted {result.slug}: {sum(result.tables.values())} rows, {result.files} files"]
    lines += [f"file left behind (fsck will find it): {line}" for line in result.files_left]
    if was_default:
        lines.append("it was the default tenant: make another one the default (atrium tenant create ... --default)")
    emit(as_json, {"tenant": result.slug, "rows": result.tables, "files": result.files,
                   "files_left": result.files_left}, lines)
    if result.files_left:
        sys.exit(EXIT_FAILED)


tenant_commands = (tenant_export, tenant_import, tenant_delete)


# --- atrium backup / restore ------------------------------------------------------------------------

@click.command()
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_app
def backup(app, out_dir, as_json):
    """Back up the running install (database and every file) into the new directory OUT_DIR."""
    from app.residency.backup import BackupError, backup as run_backup

    _refuse_on_compute(app, "backups")
    try:
        result = run_backup(app.config["ATRIUM"], out_dir, progress=_progress)
    except BackupError as exc:
        _record_whole_install("residency.backup", out_dir, "failed", {"reason": str(exc)})
        fail(str(exc))
    _record_whole_install("residency.backup", str(result.path), "failed" if result.problems else "ok",
                          {"database": result.database, "schema_version": result.schema_version,
                           "files": result.files, "bytes": result.bytes, "problems": result.problems})
    emit(as_json, {"backup": str(result.path), "database": result.database, "schema_version": result.schema_version,
                   "files": result.files, "bytes": result.bytes, "problems": result.problems},
         [f"backup written to {result.path}: {result.database} database at schema version {result.schema_version},"
          f" {result.files} files ({result.bytes} bytes)"] + [f"not in the backup: {p}" for p in result.problems])
    if result.problems:
        sys.exit(EXIT_FAILED)


@click.command()
@click.argument("backup_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_app
def restore(app, backup_dir, as_json):
    """Replace the database and put back the files from BACKUP_DIR, after checking every checksum."""
    from app.residency.backup import BackupError, restore as run_restore

    try:
        result = run_restore(app.config["ATRIUM"], backup_dir, progress=_progress)
    except BackupError as exc:
        # Into the database as it now is: the one kept when the restore refused, or the restored one.
        _record_whole_install("residency.restore", backup_dir, "failed", {"reason": str(exc)})
        fail(str(exc))
    # After the restore, so the entry lands in the restored database, which is the one that stays.
    _record_whole_install("residency.restore", backup_dir, "ok",
                          {"database": result.database, "schema_version": result.schema_version,
                           "migrated_to": result.migrated_to, "files": result.files})
    migrated = (f", then migrated to schema version {result.migrated_to}" if result.migrated_to is not None else "")
    emit(as_json, {"database": result.database, "schema_version": result.schema_version,
                   "migrated_to": result.migrated_to, "files": result.files},
         [f"restored the {result.database} database at schema version {result.schema_version}{migrated}"
          f" and {result.files} files"])


def _record_whole_install(action: str, where: str, outcome: str, changes: dict) -> None:
    """Audit a backup or restore; one of an install not yet upgraded (or a restore whose migration failed)
    finds no audit log to write to, and says so."""
    if log_exists():
        record(action, target=Target("backup", label=where), outcome=outcome, changes=changes)
    else:
        click.echo("note: this database has no audit log yet (run `atrium db upgrade`); the "
                   f"{action.split('.')[1]} is not in it", err=True)
