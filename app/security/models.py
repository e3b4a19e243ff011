"""What the security layer keeps: failed logins for throttling."""
from __future__ import annotations

import peewee

from app.db import utcnow
from app.tenancy.models import TenantModel


class LoginFailure(TenantModel):
    login = peewee.CharField(max_length=128, index=True)
    address = peewee.CharField(max_length=64, index=True)
    at = peewee.DateTimeField(default=utcnow, index=True)
