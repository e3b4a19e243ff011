"""/api/v1/switchboard: which employee should take a customer's call, and the call attempts that decide it.

The telephone system calls these with a token of an admin (the routing reveals
who looks after which customer, so a member's token is refused).
"""
from __future__ import annotations

from flask import g, jsonify, request
from flask_babel import gettext as _

from app.api.views import api, bp, error
from app.contacts.service import interaction_json
from app.org.models import Person
from app.switchboard import service
from app.tenancy.scope import TenantScope
from app.validation import ValidationError
from app.security.permissions import TENANT_MANAGE, allowed


def _body() -> dict | None:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else None


def _refused():
    return error(403, _("Only an admin's token can use the switchboard."))


@bp.route("/switchboard/route", methods=["POST"])
@api("switchboard:route")
def route():
    """Who should take a call from this number, by which rule and why; the decision is logged."""
    if not allowed(g.person, TENANT_MANAGE):
        return _refused()
    body = _body()
    if body is None:
        return error(400, _("Send {\"number\": ...} as a JSON object."))
    try:
        decision = service.route_call(g.tenant, body.get("number"), requested_by=g.person)
    except ValidationError as exc:
        return error(400, exc.message, field=exc.field)
    return jsonify(service.decision_json(g.tenant, decision.record, decision.person, decision.contact))


@bp.route("/switchboard/calls", methods=["POST"])
@api("switchboard:route")
def log_call():
    """Record a call attempt: an employee called a contact's number (or took their call), answered or not."""
    if not allowed(g.person, TENANT_MANAGE):
        return _refused()
    body = _body()
    if body is None:
        return error(400, _("Send the call as a JSON object."))
    contact_id = body.get("contact")
    if contact_id is not None and (isinstance(contact_id, bool) or not isinstance(contact_id, int)):
        return error(400, _("contact must be a contact's id."), field="contact")
    try:
        entry = service.log_call(g.tenant, body.get("employee"), body.get("number"), body.get("answered"),
                                 direction=body.get("direction") or "outbound", contact_id=contact_id,
                                 happened_at=body.get("happened_at"), note=body.get("note"))
    except ValidationError as exc:
        return error(400, exc.message, field=exc.field)
    except LookupError:
        return error(404, _("No contact has this number."), field="number")
    author = TenantScope(g.tenant).get_or_none(Person, entry.author_id)
    return jsonify(interaction_json(entry, author)), 201
