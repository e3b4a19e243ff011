"""Tenants and the host names that reach them."""
from __future__ import annotations

import peewee

from app.db import BaseModel, utcnow


class Tenant(BaseModel):
    slug = peewee.CharField(max_length=40, unique=True)
    name = peewee.CharField(max_length=200)
    is_default = peewee.BooleanField(default=False)
    default_locale = peewee.CharField(max_length=16, null=True)
    timezone = peewee.CharField(max_length=64, null=True)
    created_at = peewee.DateTimeField(default=utcnow)
    # The blob store the tenant's files go to, fixed when the tenant is created (see app.residency).
    blob_store = peewee.CharField(max_length=64, default="local")

    @classmethod
    def default(cls) -> "Tenant | None":
        return cls.get_or_none(cls.is_default == True)  # noqa: E712 - peewee expression

    def host_names(self) -> list[str]:
        return [h.host for h in TenantHost.select().where(TenantHost.tenant == self).order_by(TenantHost.host)]


class TenantHost(BaseModel):
    tenant = peewee.ForeignKeyField(Tenant, backref="hosts", on_delete="CASCADE")
    host = peewee.CharField(max_length=253, unique=True)


class TenantModel(BaseModel):
    """Base of every tenant-owned table: rows are reached through app.tenancy.scope only."""

    tenant = peewee.ForeignKeyField(Tenant, on_delete="CASCADE", index=True)
