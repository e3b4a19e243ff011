"""Per-tenant security policies: login, privacy, files and watermark.

A policy is a typed object with defaults that keep the product's behaviour
without one. Changes are checked as a whole (every problem named with its
field) and saved as one row per tenant, written on the first save; a policy
with any problem saves nothing.

Settings are named "section.key" (login.idle_minutes), the same on the admin
page, in `atrium policy set` and in the JSON `atrium policy show --json` prints.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Mapping

from flask import g, has_request_context
from flask_babel import lazy_gettext as _l

from app.audit import difference, flatten, record
from app.chat.attachments import FILE_TYPES
from app.db import db, utcnow
from app.security.models import TenantPolicy
from app.security.permissions import ADMIN, ROLES
from app.tenancy.models import Tenant
from app.tenancy.scope import TenantScope

IP_SCOPES = ("off", "tenant", "admins")
CONTACT_FIELDS = ("mobile", "email")
MAX_LOCKOUT = 100
MAX_ALLOW_LIST = 200


@dataclass
class LoginPolicy:
    directory_only: bool = False     # local passwords refused, except for tenant admins
    session_hours: int = 0           # absolute, from login; 0 = as the install sets it
    idle_minutes: int = 0            # since the last request; 0 = no idle limit
    ip_scope: str = "off"            # off, tenant (every request) or admins (admin pages and staff logins)
    ip_allow: list[str] = field(default_factory=list)   # CIDRs, IPv4 and IPv6
    lockout_after: int = 0           # consecutive failed logins that lock the account; 0 = never

    @cached_property
    def networks(self) -> list:
        return [ipaddress.ip_network(n, strict=False) for n in self.ip_allow]


@dataclass
class PrivacyPolicy:
    hide_contacts: list[str] = field(default_factory=list)   # mobile and/or email
    contacts_department: bool = True  # people of the same department still see them
    contacts_role: str = ADMIN        # this role and those above it still see them
    hidden_departments: list[int] = field(default_factory=list)   # with their sub-departments


@dataclass
class FilePolicy:
    max_mb: int = 0                   # 0 = the install's limit
    allowed_types: list[str] = field(default_factory=list)        # keys of FILE_TYPES; empty = all of them
    no_download_roles: list[str] = field(default_factory=list)


@dataclass
class WatermarkPolicy:
    enabled: bool = False


@dataclass
class Policy:
    login: LoginPolicy = field(default_factory=LoginPolicy)
    privacy: PrivacyPolicy = field(default_factory=PrivacyPolicy)
    files: FilePolicy = field(default_factory=FilePolicy)
    watermark: WatermarkPolicy = field(default_factory=WatermarkPolicy)

    def as_dict(self) -> dict[str, dict[str, Any]]:
        return {name: {f.name: getattr(getattr(self, name), f.name) for f in dataclasses.fields(getattr(self, name))}
                for name in SECTIONS}

    @classmethod
    def from_dict(cls, data: Mapping) -> "Policy":
        """A policy from stored JSON; keys this release does not know are dropped, missing ones take defaults."""
        sections = {}
        for name, section in SECTIONS.items():
            stored = data.get(name) if isinstance(data.get(name), dict) else {}
            known = {f.name for f in dataclasses.fields(section)}
            sections[name] = section(**{k: v for k, v in stored.items() if k in known})
        return cls(**sections)


SECTIONS = {"login": LoginPolicy, "privacy": PrivacyPolicy, "files": FilePolicy, "watermark": WatermarkPolicy}
KEYS = tuple(f"{name}.{f.name}" for name, section in SECTIONS.items() for f in dataclasses.fields(section))
LIST_KEYS = frozenset(f"{name}.{f.name}" for name, section in SECTIONS.items() for f in dataclasses.fields(section)
                      if isinstance(getattr(section(), f.name), list))
BOOL_KEYS = frozenset(f"{name}.{f.name}" for name, section in SECTIONS.items() for f in dataclasses.fields(section)
                      if isinstance(getattr(section(), f.name), bool))


@dataclass(frozen=True)
class PolicyLimits:
    """What the install allows a tenant to choose."""

    max_session_hours: int
    max_file_mb: int


def limits_from(settings) -> PolicyLimits:
    return PolicyLimits(settings.session_lifetime_hours, settings.chat.max_attachment_mb)


class PolicyInvalid(Exception):
    """The policy was refused; `errors` lists (key, message), one per problem."""

    def __init__(self, errors: list[tuple[str, Any]]):
        super().__init__("; ".join(f"{k}: {m}" for k, m in errors))
        self.errors = errors

    def for_field(self, key: str):
        return [m for k, m in self.errors if k == key]


# --- loading ----------------------------------------------------------------------------

def load_policy(tenant: Tenant) -> Policy:
    """The tenant's policy from the database, or the defaults when it has never been saved."""
    row = TenantScope(tenant).select(TenantPolicy).first()
    if row is None:
        return Policy()
    return Policy.from_dict(json.loads(row.data))


def policy_for(tenant: Tenant) -> Policy:
    """The tenant's policy, read once per request."""
    if not has_request_context():
        return load_policy(tenant)
    cache = g.setdefault("_policies", {})
    if tenant.id not in cache:
        cache[tenant.id] = load_policy(tenant)
    return cache[tenant.id]


def forget_cached() -> None:
    """Start a request with no policy read yet (and forget the one just saved)."""
    if has_request_context():
        g._policies = {}


# --- reading values people typed -------------------------------------------------------

def as_values(policy: Policy) -> dict[str, Any]:
    """"section.key" -> value, the shape forms and `atrium policy set` use."""
    return {f"{name}.{key}": value for name, section in policy.as_dict().items() for key, value in section.items()}


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


def split_items(value) -> list[str]:
    """A list setting from a list, or from text with commas, spaces or new lines between the items."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    return [part for item in value for part in re.split(r"[\s,]+", str(item)) if part]


def _bool(value, key, errors):
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    errors.append((key, _l("Choose on or off.")))
    return False


def _int(value, key, errors, low: int, high: int, unit=None):
    text = str(value if value is not None else "").strip()
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif re.fullmatch(r"-?[0-9]{1,9}", text):
        number = int(text)
    else:
        errors.append((key, _l("Enter a whole number.")))
        return 0
    if number < 0:
        errors.append((key, _l("Enter 0 or more; negative numbers mean nothing here.")))
    elif number > high or number < low:
        errors.append((key, _l("Between %(low)d and %(high)d.", low=low, high=high)))
    return number


def _choice(value, key, errors, choices):
    text = str(value if value is not None else "").strip()
    if text not in choices:
        errors.append((key, _l("Choose one of: %(choices)s.", choices=", ".join(choices))))
    return text


def _choices(value, key, errors, choices) -> list[str]:
    chosen = []
    for item in split_items(value):
        if item not in choices:
            errors.append((key, _l("%(value)s is not one of: %(choices)s.", value=item[:40],
                                   choices=", ".join(choices))))
        elif item not in chosen:
            chosen.append(item)
    return chosen


def _networks(value, key, errors) -> list[str]:
    found = []
    for item in split_items(value):
        try:
            network = ipaddress.ip_network(item, strict=False)
        except ValueError:
            errors.append((key, _l("%(value)s is not an IP address or a network such as 10.0.0.0/8 or "
                                   "2001:db8::/32.", value=item[:60])))
            continue
        if str(network) not in found:
            found.append(str(network))
    if len(found) > MAX_ALLOW_LIST:
        errors.append((key, _l("At most %(n)d entries.", n=MAX_ALLOW_LIST)))
    return found


def _departments(value, key, errors, tenant) -> list[int]:
    from app.org.models import Department

    ids = []
    for item in split_items(value):
        if not re.fullmatch(r"[0-9]{1,12}", item):
            errors.append((key, _l("Choose departments from the list.")))
            return []
        if int(item) not in ids:
            ids.append(int(item))
    if ids:
        found = {d for (d,) in TenantScope(tenant).select(Department, Department.id)
                 .where(Department.id.in_(ids)).tuples()}
        if found != set(ids):
            errors.append((key, _l("Choose departments from the list.")))
            return []
    return ids


def address_allowed(policy: Policy, address: str | None) -> bool:
    """Whether a client address falls inside the allow-list (an IPv4 address mapped into IPv6 counts as IPv4)."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in policy.login.networks)


def clean_policy(tenant: Tenant, values: Mapping[str, Any], limits: PolicyLimits, *,
                 own_address: str | None = None) -> Policy:
    """A policy from "section.key" values (every key), or PolicyInvalid listing every problem.

    own_address is the address of the admin saving it on the web: a list that would shut them out is refused.
    """
    errors: list[tuple[str, Any]] = []
    unknown = [k for k in values if k not in KEYS]
    for key in unknown:
        errors.append((key, _l("There is no setting named %(key)s.", key=str(key)[:60])))
    v = {key: values.get(key) for key in KEYS}
    login = LoginPolicy(
        directory_only=_bool(v["login.directory_only"], "login.directory_only", errors),
        session_hours=_int(v["login.session_hours"], "login.session_hours", errors, 0, limits.max_session_hours),
        # The session cookie already lapses after the install's lifetime without a visit: no longer idle limit.
        idle_minutes=_int(v["login.idle_minutes"], "login.idle_minutes", errors, 0, limits.max_session_hours * 60),
        ip_scope=_choice(v["login.ip_scope"], "login.ip_scope", errors, IP_SCOPES),
        ip_allow=_networks(v["login.ip_allow"], "login.ip_allow", errors),
        lockout_after=_int(v["login.lockout_after"], "login.lockout_after", errors, 0, MAX_LOCKOUT),
    )
    privacy = PrivacyPolicy(
        hide_contacts=_choices(v["privacy.hide_contacts"], "privacy.hide_contacts", errors, CONTACT_FIELDS),
        contacts_department=_bool(v["privacy.contacts_department"], "privacy.contacts_department", errors),
        contacts_role=_choice(v["privacy.contacts_role"], "privacy.contacts_role", errors, ROLES),
        hidden_departments=_departments(v["privacy.hidden_departments"], "privacy.hidden_departments", errors, tenant),
    )
    files = FilePolicy(
        max_mb=_int(v["files.max_mb"], "files.max_mb", errors, 0, limits.max_file_mb),
        allowed_types=_choices(v["files.allowed_types"], "files.allowed_types", errors, tuple(FILE_TYPES)),
        no_download_roles=_choices(v["files.no_download_roles"], "files.no_download_roles", errors, ROLES),
    )
    watermark = WatermarkPolicy(enabled=_bool(v["watermark.enabled"], "watermark.enabled", errors))
    policy = Policy(login, privacy, files, watermark)
    _check_together(tenant, policy, errors, own_address)
    if errors:
        raise PolicyInvalid(errors)
    return policy


def _check_together(tenant: Tenant, policy: Policy, errors: list, own_address: str | None) -> None:
    login = policy.login
    failed = {k for k, _m in errors}
    if login.session_hours and login.idle_minutes > login.session_hours * 60 and "login.idle_minutes" not in failed:
        errors.append(("login.idle_minutes", _l("The idle limit cannot be longer than the session lifetime.")))
    if login.ip_scope != "off" and "login.ip_allow" not in failed and "login.ip_scope" not in failed:
        if not login.ip_allow:
            errors.append(("login.ip_allow", _l("List at least one address or network, or turn the allow-list off.")))
        elif own_address is not None and not address_allowed(policy, own_address):
            errors.append(("login.ip_allow", _l("Your own address %(address)s is not in the list: saving it would "
                                                "lock you out.", address=own_address[:64])))
    if login.directory_only:
        from app.org.ldap.config import get_config

        config = get_config(tenant)
        if config is None or not config.enabled:
            errors.append(("login.directory_only", _l("Set up and turn on the company directory first.")))


# --- saving -----------------------------------------------------------------------------

def save_policy(tenant: Tenant, values: Mapping[str, Any], limits: PolicyLimits, *, partial: bool = False,
                by=None, own_address: str | None = None) -> Policy:
    """Check and store the tenant's policy; partial=True changes only the keys given. Nothing is saved on error."""
    if partial:
        values = {**as_values(load_policy(tenant)), **values}
    policy = clean_policy(tenant, values, limits, own_address=own_address)
    data = json.dumps(policy.as_dict(), ensure_ascii=False, sort_keys=True)
    before = load_policy(tenant).as_dict()
    with db.atomic():
        row = TenantScope(tenant).select(TenantPolicy).first() or TenantPolicy(tenant=tenant)
        row.data, row.updated_at, row.updated_by = data, utcnow(), by
        row.save()
        changes = difference(flatten(before), flatten(policy.as_dict()))
        if changes["after"]:
            record("policy.update", target=tenant, tenant=tenant, changes=changes)
    forget_cached()
    return policy


def policy_row(tenant: Tenant) -> TenantPolicy | None:
    """When and by whom the policy was last saved (None: never)."""
    return TenantScope(tenant).select(TenantPolicy).first()
