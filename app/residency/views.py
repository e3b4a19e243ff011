"""The admin page that shows where the tenant's data lives (every tenant's, for admins of the default tenant)."""
from __future__ import annotations

from flask import Blueprint, current_app, g, render_template

from app.residency.report import build_report
from app.security.permissions import TENANT_MANAGE, permission_required

bp = Blueprint("residency", __name__, url_prefix="/admin/residency")


@bp.route("/")
@permission_required(TENANT_MANAGE)
def report():
    """Rows per table, files per store and the verdict against the residency policy."""
    operator = g.tenant.is_default
    built = build_report(current_app.config["ATRIUM"], only=None if operator else g.tenant)
    return render_template("admin/residency.html", report=built, operator=operator,
                           problems=[str(p) for p in built.problems] if operator else [],
                           tenants=[(t, [str(p) for p in t.problems]) for t in built.tenants])
