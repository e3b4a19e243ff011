"""The audit log's one table: who did what, when, from where, to what, and how it went.

Append-only: the model refuses to change or remove a row once written, and the database refuses UPDATE and
DELETE on the table by trigger (migration 0010). It is not a tenant-owned table: tenant_id and tenant_slug are
plain values, so the log of a tenant survives the tenant's deletion, and a tenant export does not carry it.
"""
from __future__ import annotations

import peewee

from app.db import BaseModel, utcnow


class AppendOnly(Exception):
    """Something tried to change or remove an audit entry."""


class AuditEvent(BaseModel):
    tenant_id = peewee.IntegerField(null=True)          # None: an event of the install as a whole
    tenant_slug = peewee.CharField(max_length=40, null=True)
    at = peewee.DateTimeField(default=utcnow)           # naive UTC
    actor_id = peewee.IntegerField(null=True)           # the person's id, when a person acted
    actor_label = peewee.CharField(max_length=200)      # login, "cli (user)", "directory sync", "integration NAME"
    via = peewee.CharField(max_length=8)                # web, api, cli, worker
    address = peewee.CharField(max_length=64, null=True)
    action = peewee.CharField(max_length=64)            # dotted code: person.deactivate, login.failed, ...
    target_type = peewee.CharField(max_length=32, null=True)
    target_id = peewee.CharField(max_length=64, null=True)
    target_label = peewee.CharField(max_length=200, null=True)
    changes = peewee.TextField(null=True)               # JSON, secrets redacted
    outcome = peewee.CharField(max_length=16, default="ok")

    class Meta:
        table_name = "audit_event"
        indexes = ((("tenant_id", "at"), False), (("at",), False), (("action",), False))

    def save(self, force_insert=False, only=None):
        """Write a new entry; an entry already written cannot be saved again."""
        if not force_insert and self.get_id() is not None:
            raise AppendOnly("an audit entry cannot be changed")
        return super().save(force_insert=force_insert, only=only)

    def delete_instance(self, *args, **kwargs):
        raise AppendOnly("an audit entry cannot be removed")

    @classmethod
    def update(cls, *args, **kwargs):
        raise AppendOnly("audit entries cannot be changed")

    @classmethod
    def delete(cls, *args, **kwargs):
        raise AppendOnly("audit entries cannot be removed")

    @classmethod
    def replace(cls, *args, **kwargs):
        raise AppendOnly("audit entries cannot be replaced")

    @classmethod
    def replace_many(cls, *args, **kwargs):
        raise AppendOnly("audit entries cannot be replaced")

    @classmethod
    def truncate_table(cls, *args, **kwargs):
        raise AppendOnly("the audit log cannot be emptied")

    @classmethod
    def drop_table(cls, *args, **kwargs):
        raise AppendOnly("the audit log cannot be dropped")
