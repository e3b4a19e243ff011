"""Tenant settings for admins; the list of tenants for admins of the install's default tenant."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import NotFound

from app.config import LOCALES
from app.org.models import Person
from app.security.permissions import TENANT_MANAGE, permission_required
from app.tenancy.models import Tenant
from app.tenancy.scope import TenantScope
from app.tenancy.service import create_tenant, split_hosts, update_tenant
from app.validation import ValidationError

bp = Blueprint("tenants", __name__, url_prefix="/admin")


@bp.route("/tenant", methods=["GET", "POST"])
@permission_required(TENANT_MANAGE)
def settings():
    """This tenant's name, host names, language and time zone."""
    error = None
    if request.method == "POST":
        try:
            update_tenant(g.tenant, request.form.get("name"), split_hosts(request.form.get("hosts")),
                          request.form.get("default_locale"), request.form.get("timezone"))
        except ValidationError as exc:
            error = exc
        else:
            flash(_("Tenant settings saved."), "success")
            return redirect(url_for("tenants.settings"))
    return render_template("admin/tenant.html", tenant=g.tenant, error=error, locales=LOCALES,
                           form=request.form if error else None), (400 if error else 200)


def _operator_only():
    """Only admins of the default tenant manage other tenants; to everyone else the page does not exist."""
    if not g.tenant.is_default:
        raise NotFound()


@bp.route("/tenants", methods=["GET", "POST"])
@permission_required(TENANT_MANAGE)
def tenants():
    """All tenants of this install, and creating one."""
    _operator_only()
    error = None
    if request.method == "POST":
        try:
            tenant = create_tenant(request.form.get("slug"), request.form.get("name"),
                                   split_hosts(request.form.get("hosts")),
                                   locale=request.form.get("default_locale"), timezone=request.form.get("timezone"))
        except ValidationError as exc:
            error = exc
        else:
            flash(_("Tenant %(name)s created. Create its first admin with `atrium user create-admin %(slug)s LOGIN`.",
                    name=tenant.name, slug=tenant.slug), "success")
            return redirect(url_for("tenants.tenants"))
    rows = []
    for tenant in Tenant.select().order_by(Tenant.slug):
        count = TenantScope(tenant).select(Person).where(Person.in_directory()).count()
        rows.append((tenant, tenant.host_names(), count))
    return render_template("admin/tenants.html", rows=rows, error=error, locales=LOCALES,
                           form=request.form if error else None), (400 if error else 200)
