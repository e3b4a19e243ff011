"""The database: one peewee proxy, a connection per request, and versioned migrations."""
from __future__ import annotations

import datetime
import importlib
import pkgutil
import re
from dataclasses import dataclass
from types import ModuleType
from typing import Callable
from urllib.parse import unquote, urlparse

import peewee
from peewee import DatabaseProxy, Model
from playhouse.migrate import PostgresqlMigrator, SqliteMigrator
from playhouse.pool import PooledPostgresqlDatabase

db = DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": 2,  # FULL: a committed message survives a power cut
    "foreign_keys": 1,
    "busy_timeout": 10000,
}


def utcnow() -> datetime.datetime:
    """Naive UTC now, the one form timestamps take in the database."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


POOL_SIZE = 32


class ImmediateSqliteDatabase(peewee.SqliteDatabase):
    """SQLite whose transactions take the write lock at BEGIN.

    A deferred transaction that reads and then writes cannot wait for the lock
    (SQLite answers "database is locked" at once to avoid a deadlock); taking it
    at the start lets busy_timeout queue concurrent writers instead.
    """

    def begin(self, lock_type="IMMEDIATE"):
        return super().begin(lock_type)


class DatabaseUrlError(ValueError):
    """DATABASE_URL cannot be understood."""


def make_database(url: str, pool: bool = True) -> peewee.Database:
    """A peewee database for sqlite:///PATH or postgresql://USER:PASS@HOST:PORT/NAME; nothing is connected yet.

    pool=False gives a PostgreSQL connection that really closes, for one-off work before a fork or a
    DROP/CREATE DATABASE.
    """
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if not path:
            raise DatabaseUrlError("sqlite URL has no path")
        return ImmediateSqliteDatabase(path, pragmas=SQLITE_PRAGMAS, check_same_thread=False)
    parsed = urlparse(url)
    if parsed.scheme in ("postgresql", "postgres"):
        name = parsed.path.lstrip("/")
        if not name:
            raise DatabaseUrlError("postgresql URL names no database")
        kwargs = {"host": parsed.hostname or None, "port": parsed.port or None,
                  "user": unquote(parsed.username) if parsed.username else None,
                  "password": unquote(parsed.password) if parsed.password else None,
                  "connect_timeout": 5, "application_name": "atrium"}
        params = {k: v for k, v in kwargs.items() if v is not None}
        if not pool:
            return peewee.PostgresqlDatabase(unquote(name), **params)
        # Pooled: a request borrows a connection and gives it back on close, instead of PostgreSQL
        # starting a new backend process for every request.
        return PooledPostgresqlDatabase(unquote(name), max_connections=POOL_SIZE, stale_timeout=300, timeout=30,
                                        **params)
    raise DatabaseUrlError("unsupported database URL scheme (use sqlite:/// or postgresql://)")


def redact_url(url: str) -> str:
    """The URL with any password replaced, safe to print."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def is_postgres(database: peewee.Database | DatabaseProxy = db) -> bool:
    target = database.obj if isinstance(database, DatabaseProxy) else database
    return isinstance(target, peewee.PostgresqlDatabase)


def init_app(app) -> None:
    """A connection per request: opened by the first query (so /healthz needs none), closed on teardown."""

    @app.teardown_appcontext
    def _close(exc):
        if not db.is_closed():
            db.close()


# --- migrations -------------------------------------------------------------

class SchemaMigration(BaseModel):
    version = peewee.IntegerField(primary_key=True)
    name = peewee.CharField()
    applied_at = peewee.DateTimeField(default=utcnow)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    module: ModuleType


def available_migrations() -> list[Migration]:
    """Every migration module app/migrations/vNNNN_name.py, in version order."""
    from app import migrations as package

    found = []
    for info in pkgutil.iter_modules(package.__path__):
        m = re.fullmatch(r"v(\d{4})_(\w+)", info.name)
        if m:
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            found.append(Migration(int(m.group(1)), m.group(2), module))
    found.sort(key=lambda mig: mig.version)
    versions = [mig.version for mig in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a version: {versions}")
    return found


def head_version() -> int:
    return max((m.version for m in available_migrations()), default=0)


def applied_versions(database: peewee.Database | DatabaseProxy = db) -> set[int]:
    if not database.table_exists(SchemaMigration._meta.table_name):
        return set()
    with database.bind_ctx([SchemaMigration]):
        return {v for (v,) in SchemaMigration.select(SchemaMigration.version).tuples()}


def pending_migrations(database: peewee.Database | DatabaseProxy = db) -> list[Migration]:
    """Migrations not yet applied, in order; a gap left by work merged later is pending too."""
    applied = applied_versions(database)
    return [m for m in available_migrations() if m.version not in applied]


def current_version(database: peewee.Database | DatabaseProxy = db) -> int:
    """The newest applied migration, 0 for an empty database."""
    return max(applied_versions(database), default=0)


def is_current(database: peewee.Database | DatabaseProxy = db) -> bool:
    return not pending_migrations(database)


def upgrade(database: peewee.Database | DatabaseProxy = db, target: int | None = None,
            progress: Callable[[Migration], None] | None = None) -> list[Migration]:
    """Apply pending migrations up to target (default: all), each in its own transaction."""
    target_db = database.obj if isinstance(database, DatabaseProxy) else database
    migrator = PostgresqlMigrator(target_db) if is_postgres(target_db) else SqliteMigrator(target_db)
    applied = []
    with target_db.bind_ctx([SchemaMigration]):
        target_db.create_tables([SchemaMigration], safe=True)
        for mig in available_migrations():
            if target is not None and mig.version > target:
                break
            with target_db.atomic():
                if is_postgres(target_db):
                    # Two nodes upgrading at once: the second waits, then sees the work done.
                    target_db.execute_sql("SELECT pg_advisory_xact_lock(4242001)")
                if SchemaMigration.get_or_none(SchemaMigration.version == mig.version):
                    continue
                if progress:
                    progress(mig)
                mig.module.upgrade(target_db, migrator)
                SchemaMigration.create(version=mig.version, name=mig.name)
            applied.append(mig)
    return applied
