"""Integrations: programs that use the API on the tenant's behalf, with tokens a tenant admin makes.

Each integration is a service account: a Person with source "integration", no password and role member. It
cannot log in, the directory does not list it and pickers do not offer it (Person.in_directory), and it owns
the integration's tokens. So everything the API does for a person works for an integration the same way, within
the token's scopes: it posts messages as itself, and what it posts shows its name. Several tokens may belong to
one integration (to rotate them); each is revoked on its own.
"""
from __future__ import annotations

import secrets

from app.db import db, utcnow
from app.org.models import INTEGRATION, Person
from app.security.tokens import ApiToken, create_token, revoke_token
from app.tenancy.models import Tenant
from app.tenancy.scope import TenantScope
from app.validation import clean_text


def integration_named(tenant: Tenant, name: str) -> Person | None:
    """The tenant's active integration of this name, if there is one."""
    return (TenantScope(tenant).select(Person)
            .where((Person.source == INTEGRATION) & (Person.display_name == name)
                   & (Person.is_active == True))  # noqa: E712
            .order_by(Person.id).first())


def create_integration_token(tenant: Tenant, name, scopes: list[str], days) -> tuple[ApiToken, str]:
    """A new token for the integration called `name` (made on first use); the secret is returned once."""
    name = clean_text(name, "name", required=True, max_length=100)
    with db.atomic():
        account = integration_named(tenant, name)
        if account is None:
            now = utcnow()
            account = Person.create(tenant=tenant, login=f"integration:{secrets.token_hex(6)}", display_name=name,
                                    role="member", source=INTEGRATION, password_hash=None, created_at=now,
                                    updated_at=now)
        # A refused token (scopes, days) rolls back a service account made for it.
        return create_token(account, name, scopes, days)


def integration_tokens(tenant: Tenant):
    """Every token of the tenant's integrations with its integration, newest first."""
    return (TenantScope(tenant).select(ApiToken).join(Person, on=(ApiToken.person == Person.id)).select_extend(Person)
            .where(Person.source == INTEGRATION).order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))


def revoke_integration_token(tenant: Tenant, token_id) -> ApiToken:
    """Revoke one integration token of the tenant; LookupError for anything else (a person's own token too)."""
    token = integration_tokens(tenant).where(ApiToken.id == _id(token_id)).first()
    if token is None:
        raise LookupError(token_id)
    revoke_token(token)
    return token


def _id(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise LookupError(value) from None

