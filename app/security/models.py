"""What the security layer keeps: failed logins for throttling, and each tenant's security policy."""
from __future__ import annotations

import peewee

from app.db import utcnow
from app.org.models import Person
from app.tenancy.models import TenantModel


class LoginFailure(TenantModel):
    login = peewee.CharField(max_length=128, index=True)
    address = peewee.CharField(max_length=64, index=True)
    at = peewee.DateTimeField(default=utcnow, index=True)


class TenantPolicy(TenantModel):
    """One row per tenant, written on the first save; no row means the defaults (see app.security.policy)."""

    data = peewee.TextField()          # the policy as JSON, validated before it is written
    updated_at = peewee.DateTimeField(default=utcnow)
    updated_by = peewee.ForeignKeyField(Person, null=True, on_delete="SET NULL")

    class Meta:
        indexes = ((("tenant",), True),)
