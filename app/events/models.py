"""The append-only event log: the single source of truth for live updates."""
from __future__ import annotations

import peewee

from app.db import utcnow
from app.tenancy.models import TenantModel

AUDIENCES = ("person", "conversation", "tenant")


class Event(TenantModel):
    audience = peewee.CharField(max_length=16)        # who may see it: one person, a conversation's members, everyone
    audience_id = peewee.IntegerField(null=True)
    kind = peewee.CharField(max_length=32)
    payload = peewee.TextField()
    created_at = peewee.DateTimeField(default=utcnow, index=True)
