"""/api/v1/contacts: the external contacts a token's owner may see, changing them and adding to their history."""
from __future__ import annotations

from flask import g, jsonify, request
from flask_babel import gettext as _

from app.api.views import api, bp, error
from app.contacts import service
from app.contacts.models import KINDS
from app.db import db
from app.pagination import paginate
from app.validation import ValidationError


def _body() -> dict | None:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else None


def _visible(contact_id: int):
    return service.contact_for(g.tenant, g.person, contact_id)


@bp.route("/contacts")
@api("contacts:read")
def list_contacts():
    """The contacts the owner may see, newest change first; q searches, kind, tag and which filter."""
    which = request.args.get("which") if request.args.get("which") in service.FILTERS else "all"
    kind = request.args.get("kind") if request.args.get("kind") in KINDS else None
    query = service.search_contacts(g.tenant, g.person, (request.args.get("q") or "")[:100], kind=kind,
                                    tag_id=request.args.get("tag"), which=which)
    page = paginate(query, request.args.get("page"), 50)
    owners = service.people_by_id(g.tenant, [c.owner_id for c in page.items])
    return jsonify(contacts=[service.contact_json(g.tenant, c, owners[c.owner_id]) for c in page.items],
                   page=page.number, pages=page.pages, total=page.total)


@bp.route("/contacts", methods=["POST"])
@api("contacts:write")
def create_contact():
    """Add a contact; the owner is the token's owner unless another active colleague is named."""
    body = _body()
    if body is None:
        return error(400, _("Send the contact as a JSON object."))
    try:
        contact = service.create_contact(g.tenant, g.person, body)
    except ValidationError as exc:
        return error(400, exc.message, field=exc.field)
    return jsonify(service.contact_json(g.tenant, contact)), 201


@bp.route("/contacts/<int:contact_id>")
@api("contacts:read")
def get_contact(contact_id: int):
    """One contact."""
    found = _visible(contact_id)
    if found is None:
        return error(404, _("No such contact."))
    return jsonify(service.contact_json(g.tenant, found[0]))


@bp.route("/contacts/<int:contact_id>", methods=["PATCH"])
@api("contacts:write")
def update_contact(contact_id: int):
    """Change some of a contact's fields; a new owner hands it over (owner, managers and admins may)."""
    found = _visible(contact_id)
    if found is None:
        return error(404, _("No such contact."))
    contact, allowed = found
    body = _body()
    if body is None:
        return error(400, _("Send the changes as a JSON object."))
    unknown = sorted(set(body) - set(service.FIELDS))
    if unknown:
        return error(400, _("Unknown field: %(name)s.", name=str(unknown[0])[:40]), field=str(unknown[0])[:40])
    if not allowed.edit or ("owner" in body and not allowed.manage):
        return error(403, _("You may see this contact but not change it."))
    try:
        with db.atomic():   # the fields and the new owner together, or neither
            if set(body) - {"owner"}:
                service.update_contact(g.tenant, g.person, contact, body)
            if "owner" in body and body["owner"] != contact.owner_id:
                service.transfer_contact(g.tenant, g.person, contact, body["owner"])
    except ValidationError as exc:
        return error(400, exc.message, field=exc.field)
    return jsonify(service.contact_json(g.tenant, contact))


@bp.route("/contacts/<int:contact_id>/interactions")
@api("contacts:read")
def list_interactions(contact_id: int):
    """A contact's history, newest first."""
    found = _visible(contact_id)
    if found is None:
        return error(404, _("No such contact."))
    entries = service.history(g.tenant, found[0])
    authors = service.people_by_id(g.tenant, [e.author_id for e in entries])
    return jsonify(interactions=[service.interaction_json(e, authors.get(e.author_id)) for e in entries])


@bp.route("/contacts/<int:contact_id>/interactions", methods=["POST"])
@api("contacts:write")
def create_interaction(contact_id: int):
    """Add a note, a visit or a call attempt (answered or not) to a contact's history."""
    found = _visible(contact_id)
    if found is None:
        return error(404, _("No such contact."))
    body = _body()
    if body is None:
        return error(400, _("Send the entry as a JSON object."))
    try:
        entry = service.add_interaction(g.tenant, g.person, found[0], body.get("kind"), body.get("body"),
                                        happened_at=body.get("happened_at"), answered=body.get("answered"),
                                        direction=body.get("direction"))
    except ValidationError as exc:
        return error(400, exc.message, field=exc.field)
    return jsonify(service.interaction_json(entry, g.person)), 201
