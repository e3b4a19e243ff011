"""Logging in with the directory password: find the person's entry, then bind as it."""
from __future__ import annotations

import logging

from ldap3.core.exceptions import LDAPException

from app.org.ldap.config import base_dns_of, get_config, preset_of
from app.org.ldap.directory import DirectoryFailure, close, connect, login_filter, paged_entries
from app.org.ldap.read import entry_disabled, stable_id
from app.org.models import Person
from app.tenancy.models import Tenant

log = logging.getLogger("app.org.ldap")


class DirectoryUnavailable(Exception):
    """The directory could not answer; the person should try again later."""


def check_directory_password(tenant: Tenant, person: Person, password: str) -> bool:
    """True when the tenant's directory accepts the password for the person's own, enabled entry."""
    if not password:
        return False  # an empty password would be an unauthenticated bind, which "succeeds"
    config = get_config(tenant)
    if config is None or not config.enabled or not person.external_id:
        return False
    preset = preset_of(config)
    found = []
    try:
        conn = connect(config)
    except DirectoryFailure as failure:
        log.warning("directory login for tenant %s: directory unavailable: %s", tenant.slug, failure.reason())
        raise DirectoryUnavailable() from None
    base = None
    try:
        for base in base_dns_of(config):
            for dn, raw in paged_entries(conn, base, login_filter(config, person.login),
                                         [a for a in (preset.id, preset.disabled) if a], 10):
                found.append((dn, {k.lower(): v for k, v in raw.items()}))
    except (LDAPException, OSError) as exc:
        log.warning("directory login for tenant %s: search failed: %s at %s", tenant.slug, type(exc).__name__, base)
        raise DirectoryUnavailable() from None
    finally:
        close(conn)
    if len(found) != 1:
        return False
    dn, attrs = found[0]
    ids = attrs.get(preset.id.lower()) or [b""]
    if stable_id(ids[0], preset.id_format) != person.external_id:
        return False  # another entry now holds this login name
    disabled = attrs.get(preset.disabled.lower()) if preset.disabled else None
    if entry_disabled(preset, disabled[0] if disabled else None):
        return False
    try:
        close(connect(config, user=dn, password=password))
    except DirectoryFailure as failure:
        if failure.kind == "credentials":
            return False
        log.warning("directory login for tenant %s: bind failed: %s", tenant.slug, failure.reason())
        raise DirectoryUnavailable() from None
    return True
