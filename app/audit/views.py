"""The audit log page: filter by actor, action, dates, outcome and free text; newest first, a page at a time."""
from __future__ import annotations

from flask import Blueprint, g, render_template, request

from app.audit.service import (OUTCOME_NAMES, VIA_NAMES, BadFilter, action_choices, action_label, change_lines,
                               changes_of, events, filters_from)
from app.pagination import Page, paginate
from app.security.permissions import AUDIT_READ, permission_required

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")

PER_PAGE = 50


@bp.route("/")
@permission_required(AUDIT_READ)
def index():
    """The tenant's audit log (with the install's own entries in the default tenant), for admins and auditors."""
    try:
        filters = filters_from(request.args)
    except BadFilter as exc:
        error, page = exc, Page([], 1, PER_PAGE, 0)
    else:
        error = None
        page = paginate(events(g.tenant, filters, install_wide=g.tenant.is_default), request.args.get("page"),
                        per_page=PER_PAGE)
    shown = {key: (request.args.get(key) or "")[:100] for key in ("actor", "action", "since", "until", "q", "outcome")}
    return render_template("admin/audit.html", page=page, error=error, shown=shown, actions=action_choices(),
                           outcomes=OUTCOME_NAMES, vias=VIA_NAMES, action_label=action_label,
                           changes={event.id: change_lines(changes_of(event)) for event in page.items},
                           filtered={k: v for k, v in shown.items() if v}), (400 if error else 200)
