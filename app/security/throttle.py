"""Repeated failed logins: throttling per account and per client address, then lock-out per the tenant's policy.

Throttling (the install's settings) makes guessing slow for every login name,
known or not; lock-out (the tenant's policy) stops an existing account after
so many consecutive failures until an admin unlocks it.
"""
from __future__ import annotations

import datetime

from app.audit import record
from app.config import LoginSettings
from app.db import db, utcnow
from app.org.models import Person
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


def note_failed_login(person: Person, lockout_after: int) -> bool:
    """Count a failed password check of an existing account; lock it at the policy's limit. True when now locked."""
    with db.atomic():
        Person.update(failed_logins=Person.failed_logins + 1).where(Person.id == person.id).execute()
        if not lockout_after:
            return False
        locked = (Person.update(locked_at=utcnow())
                  .where((Person.id == person.id) & (Person.failed_logins >= lockout_after)
                         & Person.locked_at.is_null()).execute())
    return bool(locked)


def note_successful_login(person: Person) -> None:
    if person.failed_logins:
        Person.update(failed_logins=0).where(Person.id == person.id).execute()
        person.failed_logins = 0


def unlock(person: Person) -> None:
    """Let a locked-out person try again: no lock, no failures counted, no throttling left for their login."""
    with db.atomic():
        Person.update(locked_at=None, failed_logins=0).where(Person.id == person.id).execute()
        clear_failures(person.tenant, person.login)
        record("person.unlock", target=person, tenant=person.tenant,
               changes={"before": {"locked": person.locked_at is not None, "failed_logins": person.failed_logins},
                        "after": {"locked": False, "failed_logins": 0}})
    person.locked_at, person.failed_logins = None, 0
