"""Backups of a whole install: the database, read consistently while the install runs, and every file it refers to.

A backup directory holds the database (database.sqlite3 from SQLite's online backup, or database.pgdump from
`pg_dump -Fc` taken in the same snapshot that listed the files), blobs/STORE/KEY, and manifest.json with the
schema version and the SHA-256 of every file. A restore checks all of it before it changes anything. The
database's password goes to pg_dump, pg_restore and psql through PGPASSWORD, never on a command line.
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import peewee

from app import __version__
from app import db as dbmod
from app.config import Settings
from app.db import db
from app.residency import blobs

FORMAT = "atrium-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_STORE_RE = re.compile(r"[a-z][a-z0-9_-]{0,63}")
# Empties the database inside the same transaction that loads the backup, so a failed load leaves it as it was.
# Functions go too (the audit log's trigger function), as the dump creates them again; those of extensions stay.
_DROP_TABLES = """DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP
    EXECUTE 'DROP TABLE IF EXISTS public.' || quote_ident(r.tablename) || ' CASCADE';
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS signature FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'public' AND NOT EXISTS (
             SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE 'DROP FUNCTION IF EXISTS ' || r.signature::text || ' CASCADE';
  END LOOP;
END $$;"""

Progress = Callable[[str], None]


class BackupError(Exception):
    """A backup or restore cannot go ahead; the message says why. A refused restore changes nothing."""


@dataclass
class BackupResult:
    """What `backup` wrote."""

    path: Path
    database: str
    schema_version: int
    files: int
    bytes: int
    problems: list[str] = field(default_factory=list)   # files that could not be copied


@dataclass
class RestoreResult:
    """What `restore` put back, and the schema version it migrated to (None when it did not need to)."""

    database: str
    schema_version: int
    migrated_to: int | None
    files: int


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def pg_tool(name: str) -> str:
    """The newest installed PostgreSQL client program of that name (Debian keeps them per version)."""
    def version(path: str) -> int:
        found = re.search(r"/postgresql/(\d+)/", path)
        return int(found.group(1)) if found else 0

    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=version)
    found = candidates[-1] if candidates else shutil.which(name)
    if not found:
        raise BackupError(f"{name} not found: install the PostgreSQL client (apt-get install postgresql-client)")
    return found


def pg_environment(url: str) -> dict[str, str]:
    """libpq's environment for the database URL, the password included; nothing of it appears in argv."""
    database = dbmod.make_database(url)
    params = database.connect_params
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update({"PGDATABASE": database.database, "PGCONNECT_TIMEOUT": str(params.get("connect_timeout", 10)),
                "PGAPPNAME": "atrium-backup"})
    for key, variable in (("host", "PGHOST"), ("port", "PGPORT"), ("user", "PGUSER"), ("password", "PGPASSWORD")):
        if params.get(key) is not None:
            env[variable] = str(params[key])
    return env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        raise BackupError(f"{what} failed: {last}")


def _sqlite_path(settings: Settings) -> Path:
    return Path(settings.database[len("sqlite:///"):])


def _snapshot_sqlite(settings: Settings, target: Path) -> tuple[list[tuple], list[int]]:
    source = sqlite3.connect(_sqlite_path(settings))
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # SQLite's online backup: one consistent copy while others keep writing
        files = copy.execute("SELECT store, key, sha256, size FROM blob ORDER BY id").fetchall()
        migrations = [v for (v,) in copy.execute("SELECT version FROM schema_migration ORDER BY version")]
    finally:
        copy.close()
        source.close()
    return files, migrations


def _snapshot_postgres(settings: Settings, target: Path) -> tuple[list[tuple], list[int]]:
    import psycopg2

    database = dbmod.make_database(settings.database)
    connection = psycopg2.connect(dbname=database.database, **database.connect_params)
    try:
        connection.set_session(isolation_level="REPEATABLE READ", readonly=True)
        with connection.cursor() as cursor:
            # pg_dump reads the snapshot this transaction exported, so the dump and the file list agree.
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            cursor.execute("SELECT store, key, sha256, size FROM blob ORDER BY id")
            files = cursor.fetchall()
            cursor.execute("SELECT version FROM schema_migration ORDER BY version")
            migrations = [v for (v,) in cursor.fetchall()]
            _run([pg_tool("pg_dump"), "--format=custom", f"--snapshot={snapshot}", f"--file={target}"],
                 pg_environment(settings.database), "pg_dump")
        connection.rollback()
    finally:
        connection.close()
    return files, migrations


def backup(settings: Settings, out_dir: str | Path, progress: Progress | None = None) -> BackupResult:
    """Write a consistent backup of the database and every file its rows refer to into an empty directory."""
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise BackupError(f"{out} is not empty: back up into a new directory")
    out.mkdir(mode=0o750, parents=True, exist_ok=True)
    kind = "postgresql" if dbmod.is_postgres() else "sqlite"
    database_file = out / ("database.pgdump" if kind == "postgresql" else "database.sqlite3")
    if progress:
        progress(f"database: copying ({kind})")
    snapshot = _snapshot_postgres if kind == "postgresql" else _snapshot_sqlite
    rows, migrations = snapshot(settings, database_file)
    members = {database_file.name: {"sha256": _sha256(database_file), "size": database_file.stat().st_size}}
    if progress:
        size = members[database_file.name]["size"]
        progress(f"database: {size} bytes at schema version {max(migrations, default=0)}")
    stores = blobs.stores()
    problems, copied, total = [], [], 0
    for index, (store_name, key, sha256, _size) in enumerate(rows, 1):
        if store_name not in stores:
            problems.append(f"{store_name}/{key}: the store is not configured")
            continue
        try:
            data = stores[store_name].get(key)
        except blobs.BlobError as exc:
            problems.append(f"{store_name}/{key}: {exc}")
            continue
        if hashlib.sha256(data).hexdigest() != sha256:
            problems.append(f"{store_name}/{key}: it fails its checksum")
            continue
        path = out / "blobs" / store_name / key[:2] / key
        path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
        path.write_bytes(data)
        relative = path.relative_to(out).as_posix()
        members[relative] = {"sha256": sha256, "size": len(data)}
        copied.append({"store": store_name, "key": key, "member": relative})
        total += len(data)
        if progress and index % 100 == 0:
            progress(f"files: {index} of {len(rows)}")
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "atrium_version": __version__,
                "created_at": dbmod.utcnow().isoformat(), "database": {"kind": kind, "member": database_file.name},
                "schema_version": max(migrations, default=0), "migrations": migrations, "blobs": copied,
                "missing": problems, "members": members}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1))
    if progress:
        progress(f"files: {len(copied)} copied ({total} bytes), {len(problems)} could not be")
    return BackupResult(out, kind, manifest["schema_version"], len(copied), total, problems)


def read_backup(backup_dir: str | Path) -> dict:
    """The manifest, after checking every file of the backup against its size and checksum."""
    root = Path(backup_dir)
    try:
        manifest = json.loads((root / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(f"{root} has no {MANIFEST}: it is not an Atrium backup") from None
    except (ValueError, UnicodeDecodeError):
        raise BackupError(f"{MANIFEST} is damaged") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{root} is not an Atrium backup")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"the backup is in format {manifest.get('format_version')},"
                          f" this release reads {FORMAT_VERSION}")
    try:
        for name, facts in manifest["members"].items():
            path = root / name
            if ".." in Path(name).parts or path.is_symlink() or not path.is_file():
                raise BackupError(f"{name} is missing from the backup")
            if path.stat().st_size != facts["size"] or _sha256(path) != facts["sha256"]:
                raise BackupError(f"{name} does not match its checksum: the backup is damaged")
        for item in manifest["blobs"]:
            if not _STORE_RE.fullmatch(item["store"]) or item["member"] not in manifest["members"]:
                raise BackupError(f"{MANIFEST} is damaged")
            blobs.check_key(item["key"])
        if manifest["database"]["member"] not in manifest["members"]:
            raise BackupError(f"{MANIFEST} is damaged")
    except (KeyError, TypeError, AttributeError, blobs.BlobError):
        raise BackupError(f"{MANIFEST} is damaged") from None
    return manifest


def _restore_sqlite(settings: Settings, source: Path) -> None:
    target = _sqlite_path(settings)
    target.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
    origin = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    destination = sqlite3.connect(target)
    try:
        origin.backup(destination)  # replaces the whole database in one step, through its write-ahead log
    finally:
        destination.close()
        origin.close()


def _restore_postgres(settings: Settings, source: Path) -> None:
    env = pg_environment(settings.database)
    dump = subprocess.Popen([pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--file=-", str(source)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    load = subprocess.run([pg_tool("psql"), "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1", "--single-transaction",
                           f"--command={_DROP_TABLES}", "--file=-"],
                          stdin=dump.stdout, capture_output=True, text=True, env=env)
    dump.stdout.close()
    dump_errors = dump.stderr.read().decode(errors="replace")
    dump.stderr.close()
    if dump.wait() != 0:
        raise BackupError(f"pg_restore failed: {(dump_errors.strip().splitlines() or ['?'])[-1]}; nothing was changed")
    if load.returncode != 0:
        last = (load.stderr.strip().splitlines() or [f"exit code {load.returncode}"])[-1]
        raise BackupError(f"loading the backup failed: {last}; nothing was changed")


def restore(settings: Settings, backup_dir: str | Path, progress: Progress | None = None) -> RestoreResult:
    """Replace the database and put back every file from a checked backup; an older schema is migrated after."""
    root = Path(backup_dir)
    manifest = read_backup(root)
    kind = "postgresql" if dbmod.is_postgres() else "sqlite"
    if manifest["database"]["kind"] != kind:
        raise BackupError(f"the backup is of a {manifest['database']['kind']} database, this install uses {kind}")
    known = {m.version for m in dbmod.available_migrations()}
    newer = sorted(set(manifest["migrations"]) - known)
    if newer:
        raise BackupError(f"the backup is at schema version {manifest['schema_version']}, made by a newer release"
                          f" (migrations {newer} are unknown here): restore it with that release")
    stores = blobs.stores()
    unknown = sorted({item["store"] for item in manifest["blobs"]} - set(stores))
    if unknown:
        raise BackupError(f"the backup has files of blob stores this install does not configure: {', '.join(unknown)}")
    for name in sorted({item["store"] for item in manifest["blobs"]}):
        if blobs.refusal(name):
            raise BackupError(f"blob store {name} may not receive data: {blobs.refusal(name)}")
    if progress:
        progress(f"checked {len(manifest['members'])} files of the backup")
    # Files first: if the database load fails they are harmless copies of what the backup's rows name.
    for index, item in enumerate(manifest["blobs"], 1):
        stores[item["store"]].put(item["key"], (root / item["member"]).read_bytes())
        if progress and index % 100 == 0:
            progress(f"files: {index} of {len(manifest['blobs'])}")
    if progress:
        progress(f"files: {len(manifest['blobs'])} restored; database: loading ({kind})")
    if not db.is_closed():
        db.close()
    source = root / manifest["database"]["member"]
    (_restore_postgres if kind == "postgresql" else _restore_sqlite)(settings, source)
    migrated_to = None
    try:
        if dbmod.pending_migrations():
            if progress:
                progress(f"database: restored at schema version {manifest['schema_version']}, migrating")
            dbmod.upgrade()
            migrated_to = dbmod.current_version()
    except peewee.DatabaseError as exc:
        raise BackupError(f"the backup was restored, but migrating it failed ({type(exc).__name__}):"
                          " run `atrium db upgrade`") from None
    return RestoreResult(kind, manifest["schema_version"], migrated_to, len(manifest["blobs"]))
