"""Throttling of repeated failed logins, per account and per client address."""
from __future__ import annotations

import datetime

from app.config import LoginSettings
from app.db import utcnow
from app.security.models import LoginFailure
from app.tenancy.models import Tenant


def seconds_until_allowed(tenant: Tenant, login: str, address: str, rules: LoginSettings) -> int:
    """0 when a login attempt may proceed, else how long the caller must wait."""
    since = utcnow() - datetime.timedelta(seconds=rules.window_seconds)
    recent = LoginFailure.select().where((LoginFailure.tenant == tenant) & (LoginFailure.at > since))
    by_login = recent.where(LoginFailure.login == login).order_by(LoginFailure.at.desc())
    by_address = recent.where(LoginFailure.address == address).order_by(LoginFailure.at.desc())
    wait = 0
    for rows, limit in ((by_login, rules.max_failures), (by_address, rules.max_failures_per_address)):
        failures = list(rows.limit(limit))
        if len(failures) >= limit:
            oldest = failures[-1].at
            wait = max(wait, int((oldest - since).total_seconds()) + 1)
    return wait


def record_failure(tenant: Tenant, login: str, address: str) -> None:
    LoginFailure.create(tenant=tenant, login=login[:128], address=address[:64])


def clear_failures(tenant: Tenant, login: str) -> None:
    LoginFailure.delete().where((LoginFailure.tenant == tenant) & (LoginFailure.login == login)).execute()


def prune(older_than_seconds: int = 86400) -> int:
    """Forget failures older than a day; returns how many rows went."""
    cutoff = utcnow() - datetime.timedelta(seconds=older_than_seconds)
    return LoginFailure.delete().where(LoginFailure.at < cutoff).execute()
