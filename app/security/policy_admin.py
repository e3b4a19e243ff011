"""The tenant's security policies page: login, privacy, files and watermark (tenant admins only)."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.chat.attachments import FILE_TYPES
from app.org.models import Person
from app.org.service import OrgIndex
from app.security.auth import client_address
from app.security.permissions import ROLE_LABELS, ROLES, TENANT_MANAGE, permission_required
from app.security.policy import (BOOL_KEYS, CONTACT_FIELDS, IP_SCOPES, KEYS, LIST_KEYS, MAX_LOCKOUT,
                                 PolicyInvalid, as_values, limits_from, load_policy, policy_row, save_policy,
                                 split_items)

bp = Blueprint("policies", __name__, url_prefix="/admin/policies")


def _form_values(form) -> dict:
    """Every setting from the form: an unticked box is off, an empty list is empty."""
    values = {}
    for key in KEYS:
        if key in BOOL_KEYS:
            values[key] = "1" if form.get(key) else "0"
        elif key in LIST_KEYS:
            values[key] = form.getlist(key)
        else:
            values[key] = form.get(key, "")
    return values


@bp.route("/", methods=["GET", "POST"])
@permission_required(TENANT_MANAGE)
def edit():
    """Show and change the tenant's security policies; a form with any problem saves nothing."""
    limits = limits_from(current_app.config["ATRIUM"])
    errors: dict[str, list] = {}
    values = as_values(load_policy(g.tenant))
    if request.method == "POST":
        values = _form_values(request.form)
        try:
            save_policy(g.tenant, values, limits, by=g.person, own_address=client_address())
        except PolicyInvalid as exc:
            for key, message in exc.errors:
                errors.setdefault(key, []).append(message)
        else:
            flash(_("Security policies saved."), "success")
            return redirect(url_for("policies.edit"))
    shown = {key: ([str(v) for v in split_items(value)] if key in LIST_KEYS else value) for key, value in values.items()}
    row = policy_row(g.tenant)
    editor = g.scope.get_or_none(Person, row.updated_by_id) if row and row.updated_by_id else None
    return render_template("admin/policies.html", values=shown, errors=errors, limits=limits, row=row, editor=editor,
                           address=client_address(), ip_scopes=IP_SCOPES, contact_fields=CONTACT_FIELDS,
                           max_idle=limits.max_session_hours * 60, max_lockout=MAX_LOCKOUT,
                           roles=ROLES, role_labels=ROLE_LABELS, file_types=FILE_TYPES,
                           index=OrgIndex(g.tenant)), (400 if errors else 200)
