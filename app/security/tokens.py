"""API tokens: scoped, revocable, expiring, stored hashed and shown once."""
from __future__ import annotations

import datetime
import hashlib
import secrets

import peewee
from flask_babel import lazy_gettext as _l

from app.audit import record
from app.db import db, utcnow
from app.org.models import Person
from app.tenancy.models import Tenant, TenantModel
from app.tenancy.scope import TenantScope
from app.validation import ValidationError, clean_text

SCOPES = {
    "directory:read": _l("Read the directory"),
    "messages:read": _l("Read my conversations and messages"),
    "messages:write": _l("Post messages, mark them read"),
    "dings:write": _l("Send and confirm DINGs"),
    "announcements:read": _l("Read and confirm announcements"),
    "announcements:write": _l("Publish announcements (as far as the owner may)"),
    "contacts:read": _l("Read the external contacts I may see"),
    "contacts:write": _l("Add and change external contacts and their history"),
    "switchboard:route": _l("Route incoming calls and record call attempts (admins only)"),
    "tasks:read": _l("Read the tasks I have and gave"),
    "tasks:write": _l("Give tasks, report progress, comment and remind"),
    "circle:read": _l("Read the work circle"),
    "circle:write": _l("Post, like and comment in the work circle"),
    "approvals:read": _l("See my requests, my to-do list and the requests I am copied on"),
    "approvals:write": _l("Make, approve, reject, return and withdraw requests"),
    "attendance:read": _l("See my attendance, and the reports I may see"),
    "attendance:write": _l("Check in and out"),
    "notifications:read": _l("Read my notifications and mark them read"),
}
TOKEN_PREFIX = "atr_"
MAX_DAYS = 366


class ApiToken(TenantModel):
    person = peewee.ForeignKeyField(Person, on_delete="CASCADE")
    name = peewee.CharField(max_length=100)
    prefix = peewee.CharField(max_length=16)          # shown in lists to tell tokens apart
    token_hash = peewee.CharField(max_length=64, unique=True)
    scopes = peewee.CharField(max_length=400)
    created_at = peewee.DateTimeField(default=utcnow)
    expires_at = peewee.DateTimeField(null=True)
    revoked_at = peewee.DateTimeField(null=True)
    last_used_at = peewee.DateTimeField(null=True)

    @property
    def scope_list(self) -> list[str]:
        return [s for s in self.scopes.split() if s]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(person: Person, name, scopes: list[str], days) -> tuple[ApiToken, str]:
    """A new token for the person; the secret is returned once and only its hash is kept."""
    name = clean_text(name, "name", required=True, max_length=100)
    chosen = [s for s in scopes if s in SCOPES]
    if not chosen or len(chosen) != len(scopes):
        raise ValidationError("scopes", _l("Choose at least one permission from the list."))
    try:
        days = int(days)
    except (TypeError, ValueError):
        raise ValidationError("days", _l("Enter a whole number of days.")) from None
    if not 1 <= days <= MAX_DAYS:
        raise ValidationError("days", _l("Between 1 and %(n)d days.", n=MAX_DAYS))
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.atomic():
        token = ApiToken.create(tenant=person.tenant_id, person=person, name=name, prefix=secret[:10],
                                token_hash=_hash(secret), scopes=" ".join(chosen),
                                expires_at=utcnow() + datetime.timedelta(days=days))
        record("integration.token_create" if person.is_integration else "token.create", target=token,
               tenant=person.tenant, changes={"after": {"name": name, "owner": person.login, "scopes": chosen,
                                                        "expires_at": token.expires_at}})
    return token, secret


def authenticate_token(tenant: Tenant, secret: str) -> ApiToken | None:
    """The live token for this secret in this tenant, with an active owner; else None."""
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = TenantScope(tenant).select(ApiToken).where(ApiToken.token_hash == _hash(secret)).first()
    if token is None or token.revoked_at is not None or (token.expires_at and token.expires_at <= utcnow()):
        return None
    person = TenantScope(tenant).get_or_none(Person, token.person_id)
    if person is None or not person.is_active:
        return None
    now = utcnow()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.update(last_used_at=now).where(ApiToken.id == token.id).execute()
    token.person = person
    return token


def revoke_token(token: ApiToken) -> None:
    """Stop a token from working, now and for good (revoking it again changes nothing)."""
    if token.revoked_at is None:
        owner = Person.get_by_id(token.person_id)
        with db.atomic():
            token.revoked_at = utcnow()
            token.save()
            record("integration.token_revoke" if owner.is_integration else "token.revoke", target=token,
                   tenant=owner.tenant, changes={"before": {"revoked_at": None},
                                                 "after": {"revoked_at": token.revoked_at}})


def tokens_of(person: Person):
    return (TenantScope(person.tenant).select(ApiToken).where(ApiToken.person == person)
            .order_by(ApiToken.created_at.desc()))
