"""Host header -> tenant."""
from __future__ import annotations

import ipaddress
import re

from app.tenancy.models import Tenant, TenantHost

_HOST_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")


def normalise_host(raw: str) -> str | None:
    """Lower-case host name without port or trailing dot, or None when it is not a host name."""
    host = (raw or "").strip().lower()
    if host.startswith("["):  # [::1]:8000
        end = host.find("]")
        return host[1:end] if end > 0 else None
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    host = host.rstrip(".")
    if _is_ip(host) or _HOST_RE.match(host):
        return host
    return None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def is_valid_host_name(host: str) -> bool:
    return bool(_HOST_RE.match(host)) and not _is_ip(host)


def tenant_for_host(raw_host: str) -> Tenant | None:
    """The tenant a Host header names; an IP address or localhost reaches the default tenant.

    So a single-tenant install answers on its address with no DNS set-up, while a
    name nobody registered gets nothing.
    """
    host = normalise_host(raw_host)
    if host is None:
        return None
    row = (Tenant.select().join(TenantHost).where(TenantHost.host == host).first())
    if row is not None:
        return row
    if _is_ip(host) or host == "localhost":
        return Tenant.default()
    return None
