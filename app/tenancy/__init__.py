"""Tenants: which tenant a request belongs to, and the one door to tenant-owned rows."""
from __future__ import annotations

from flask import abort, g, request

from app.tenancy.resolve import tenant_for_host
from app.tenancy.scope import TenantScope

# Endpoints that answer for the install as a whole, whatever the Host header says.
HOSTLESS_ENDPOINTS = {"health.healthz", "health.readyz", "static"}
# Endpoints that serve the default brand to unknown hosts (their error page needs it) and a tenant's to its own.
TENANT_OPTIONAL_ENDPOINTS = {"brand.stylesheet", "brand.asset"}


def init_app(app) -> None:
    """Resolve every request's tenant from its Host header; unknown hosts get a plain 404."""

    @app.before_request
    def _resolve_tenant():
        g.tenant = None
        g.scope = None
        if request.endpoint in HOSTLESS_ENDPOINTS:
            return None
        tenant = tenant_for_host(request.host)
        if tenant is None:
            if request.endpoint in TENANT_OPTIONAL_ENDPOINTS:
                return None
            abort(404)
        g.tenant = tenant
        g.scope = TenantScope(tenant)
        return None
