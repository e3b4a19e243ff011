"""The record of every file the product keeps."""
from __future__ import annotations

import peewee

from app.db import utcnow
from app.tenancy.models import TenantModel


class Blob(TenantModel):
    """One stored file: its key in a blob store, size and checksum, verified on read."""

    key = peewee.CharField(max_length=80, unique=True)
    store = peewee.CharField(max_length=64, index=True)
    size = peewee.BigIntegerField()
    sha256 = peewee.CharField(max_length=64)
    content_type = peewee.CharField(max_length=100)
    created_at = peewee.DateTimeField(default=utcnow)
    # Set by `atrium storage fsck --repair` on a row it had to keep although its file is 'missing' or 'corrupt'.
    damaged = peewee.CharField(max_length=16, null=True)
