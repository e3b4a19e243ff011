"""Creating and configuring tenants."""
from __future__ import annotations

import re
import zoneinfo
from typing import Iterable

from flask_babel import lazy_gettext as _l

from app.audit import difference, record
from app.config import LOCALES
from app.db import db
from app.residency import blobs
from app.tenancy.models import Tenant, TenantHost
from app.tenancy.resolve import is_valid_host_name
from app.validation import ValidationError, clean_text

_SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,39}$")


def clean_hosts(values: Iterable[str], tenant: Tenant | None = None) -> list[str]:
    """Validated, lower-cased host names not used by another tenant."""
    hosts = []
    for raw in values:
        host = raw.strip().lower().rstrip(".")
        if not host:
            continue
        if not is_valid_host_name(host):
            raise ValidationError("hosts", _l("%(host)s is not a valid host name.", host=host[:80]))
        owner = TenantHost.get_or_none(TenantHost.host == host)
        if owner is not None and (tenant is None or owner.tenant_id != tenant.id):
            raise ValidationError("hosts", _l("%(host)s already belongs to another tenant.", host=host))
        if host not in hosts:
            hosts.append(host)
    return hosts


def _clean_settings(name, locale, timezone):
    name = clean_text(name, "name", required=True, max_length=200)
    if locale and locale not in LOCALES:
        raise ValidationError("default_locale", _l("Choose a language from the list."))
    if timezone:
        try:
            zoneinfo.ZoneInfo(timezone)
        except (ValueError, zoneinfo.ZoneInfoNotFoundError):
            raise ValidationError("timezone", _l("Not a known time zone.")) from None
    return name, locale or None, timezone or None


def _clean_blob_store(name: str | None) -> str:
    """The configured blob store a new tenant is pinned to: the one named, else the install's default."""
    name = (name or "").strip() or blobs.default_store_name()
    if name not in blobs.stores():
        raise ValidationError("blob_store", _l("There is no blob store named %(name)s.", name=name[:64]))
    return name


def create_tenant(slug: str, name: str, hosts: Iterable[str] = (), *, is_default: bool = False,
                  locale: str | None = None, timezone: str | None = None, blob_store: str | None = None) -> Tenant:
    """A new tenant, pinned to a blob store; the first one becomes the default tenant."""
    slug = (slug or "").strip().lower()
    if not _SLUG_RE.match(slug):
        raise ValidationError("slug", _l("Use 2-40 lower-case letters, digits and hyphens, starting with a letter."))
    if Tenant.get_or_none(Tenant.slug == slug):
        raise ValidationError("slug", _l("A tenant with this short name exists already."))
    name, locale, timezone = _clean_settings(name, locale, timezone)
    store = _clean_blob_store(blob_store)
    host_list = clean_hosts(hosts)
    with db.atomic():
        if is_default or not Tenant.select().exists():
            Tenant.update(is_default=False).execute()
            is_default = True
        tenant = Tenant.create(slug=slug, name=name, is_default=is_default, default_locale=locale, timezone=timezone,
                               blob_store=store)
        for host in host_list:
            TenantHost.create(tenant=tenant, host=host)
        record("tenant.create", target=tenant, changes={"after": _tenant_facts(tenant)})
    return tenant


def _tenant_facts(tenant: Tenant) -> dict:
    return {"slug": tenant.slug, "name": tenant.name, "hosts": tenant.host_names(), "default": tenant.is_default,
            "default_locale": tenant.default_locale, "timezone": tenant.timezone, "blob_store": tenant.blob_store}


def update_tenant(tenant: Tenant, name: str, hosts: Iterable[str], locale: str | None, timezone: str | None) -> Tenant:
    """Change a tenant's name, host names, language and time zone."""
    name, locale, timezone = _clean_settings(name, locale, timezone)
    host_list = clean_hosts(hosts, tenant)
    with db.atomic():
        before = _tenant_facts(tenant)
        tenant.name, tenant.default_locale, tenant.timezone = name, locale, timezone
        tenant.save()
        TenantHost.delete().where((TenantHost.tenant == tenant) & TenantHost.host.not_in(host_list or [""])).execute()
        existing = set(tenant.host_names())
        for host in host_list:
            if host not in existing:
                TenantHost.create(tenant=tenant, host=host)
        after = _tenant_facts(tenant)
        if after != before:
            record("tenant.update", target=tenant, tenant=tenant, changes=difference(before, after))
    return tenant


def split_hosts(text: str | None) -> list[str]:
    return [h for h in re.split(r"[\s,]+", text or "") if h]


def base_url(tenant: Tenant, public_url: str = "") -> str:
    """Where people reach the tenant, for links in emails: the install's public URL for the default tenant,
    else the tenant's first host name (over the public URL's scheme, HTTPS when none); "" when neither is known."""
    public_url = (public_url or "").rstrip("/")
    if tenant.is_default and public_url:
        return public_url
    hosts = tenant.host_names()
    if not hosts:
        return public_url
    scheme = public_url.split("://", 1)[0] if "://" in public_url else "https"
    return f"{scheme}://{hosts[0]}"
