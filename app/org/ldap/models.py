"""What the directory sync keeps: each tenant's directory settings, per-person directory facts, and every run."""
from __future__ import annotations

import peewee

from app.db import utcnow
from app.org.models import Person
from app.residency.models import Blob
from app.tenancy.models import TenantModel

RUN_STATUSES = ("running", "ok", "failed", "aborted")
RUN_KINDS = ("full", "incremental")
RUN_ORIGINS = ("admin", "cli", "schedule")


class DirectoryConfig(TenantModel):
    """How one tenant reaches its directory and reads its org chart from it (at most one per tenant)."""

    enabled = peewee.BooleanField(default=True)
    preset = peewee.CharField(max_length=16, default="openldap")
    server_uris = peewee.TextField(default="[]")
    security = peewee.CharField(max_length=16, default="none")
    ca_file = peewee.CharField(max_length=1024, null=True)
    bind_dn = peewee.CharField(max_length=1024, null=True)
    bind_password_encrypted = peewee.TextField(null=True)
    bind_password_file = peewee.CharField(max_length=1024, null=True)
    user_base_dns = peewee.TextField(default="[]")
    user_filter = peewee.CharField(max_length=1024, null=True)
    department_source = peewee.CharField(max_length=16, default="ou")
    department_base_dn = peewee.CharField(max_length=1024, null=True)
    department_filter = peewee.CharField(max_length=1024, null=True)
    mapping = peewee.TextField(default="{}")
    page_size = peewee.IntegerField(default=500)
    connect_timeout = peewee.IntegerField(default=5)
    receive_timeout = peewee.IntegerField(default=30)
    schedule_enabled = peewee.BooleanField(default=False)
    max_deactivation_share = peewee.DoubleField(default=0.10)
    high_water_mark = peewee.CharField(max_length=64, null=True)
    last_full_sync_at = peewee.DateTimeField(null=True)
    updated_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "directory_config"
        indexes = ((("tenant",), True),)


class DirectoryEntry(TenantModel):
    """The directory's view of a synced person: where the entry sits, a fingerprint of its photo, the stored photo."""

    person = peewee.ForeignKeyField(Person, on_delete="CASCADE", unique=True)
    dn = peewee.CharField(max_length=1024)
    photo_sha256 = peewee.CharField(max_length=64, null=True)
    photo_size = peewee.IntegerField(null=True)
    # Set by the photo pass once the photo with photo_sha256 is checked and stored; the sync itself never reads it.
    photo_blob = peewee.ForeignKeyField(Blob, null=True, on_delete="SET NULL")

    class Meta:
        table_name = "directory_entry"


class SyncRun(TenantModel):
    """One directory sync: who started it, what it planned, what it did or why it did not."""

    origin = peewee.CharField(max_length=16)
    started_by = peewee.ForeignKeyField(Person, null=True, on_delete="SET NULL")
    kind = peewee.CharField(max_length=16)
    dry_run = peewee.BooleanField(default=False)
    forced = peewee.BooleanField(default=False)
    status = peewee.CharField(max_length=16, default="running")
    reason = peewee.CharField(max_length=1024, null=True)
    started_at = peewee.DateTimeField(default=utcnow)
    finished_at = peewee.DateTimeField(null=True)
    duration_ms = peewee.IntegerField(null=True)
    counts = peewee.TextField(default="{}")
    problems = peewee.TextField(default="[]")
    plan = peewee.TextField(default="{}")

    class Meta:
        table_name = "sync_run"
        indexes = ((("tenant", "started_at"), False),)
