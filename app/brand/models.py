"""Brand versions and their assets (icons live in the blob store)."""
from __future__ import annotations

import peewee

from app.db import utcnow
from app.org.models import Person
from app.residency.models import Blob
from app.tenancy.models import TenantModel


class BrandVersion(TenantModel):
    number = peewee.IntegerField()
    settings = peewee.TextField()
    css = peewee.TextField()
    css_hash = peewee.CharField(max_length=64)
    is_current = peewee.BooleanField(default=False)
    created_by = peewee.ForeignKeyField(Person, null=True, on_delete="SET NULL")
    note = peewee.CharField(max_length=200, null=True)
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("tenant", "number"), True),)


class BrandAsset(TenantModel):
    version = peewee.ForeignKeyField(BrandVersion, backref="assets", on_delete="CASCADE")
    name = peewee.CharField(max_length=64)
    blob = peewee.ForeignKeyField(Blob, on_delete="RESTRICT")
    url_hash = peewee.CharField(max_length=64)

    class Meta:
        indexes = ((("version", "name"), True),)
