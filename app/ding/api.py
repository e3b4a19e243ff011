"""/api/v1/dings: the DINGs a token's owner received and sent; sending, confirming, stopping."""
from __future__ import annotations

from flask import current_app, g, jsonify, request
from flask_babel import gettext as _

from app.api.views import api, bp, error
from app.ding.models import Ding, DingRecipient
from app.ding.service import (MIN_REMIND_MINUTES, confirm, ding_for, received, recipients_of, send_ding,
                              sent, stop)
from app.org.models import Person
from app.org.status import person_zone
from app.validation import ValidationError


def _iso(moment) -> str | None:
    return moment.isoformat() + "Z" if moment else None


def received_json(row: DingRecipient, ding: Ding, sender: Person) -> dict:
    """A received DING as the API shows it (DingReceived)."""
    return {"id": ding.id, "sender": {"id": sender.id, "name": sender.display_name}, "text": ding.text,
            "sent_at": _iso(ding.sent_at), "confirmed_at": _iso(row.confirmed_at), "alerts": row.alerts,
            "stopped": ding.stopped_at is not None}


def sent_json(ding: Ding, confirmed: int, total: int) -> dict:
    """A sent DING with its counts (DingSent)."""
    return {"id": ding.id, "text": ding.text, "created_at": _iso(ding.created_at), "send_at": _iso(ding.send_at),
            "sent_at": _iso(ding.sent_at), "stopped_at": _iso(ding.stopped_at), "remind_minutes": ding.remind_minutes,
            "confirmed": confirmed, "total": total}


def sent_detail_json(ding: Ding) -> dict:
    """A sent DING with each recipient's confirmation (DingSentDetail)."""
    done, waiting = recipients_of(ding)
    return {**sent_json(ding, len(done), len(done) + len(waiting)),
            "recipients": [{"id": p.id, "name": p.display_name, "confirmed_at": _iso(r.confirmed_at)}
                           for p, r in done + waiting]}


@bp.route("/dings")
@api("dings:write")
def list_dings():
    """DINGs the owner received (unconfirmed first) and sent (newest first, with counts)."""
    return jsonify(received=[received_json(*row) for row in received(g.tenant, g.person)],
                   sent=[sent_json(item.ding, item.confirmed, item.total) for item in sent(g.tenant, g.person)])


@bp.route("/dings", methods=["POST"])
@api("dings:write")
def create_ding():
    """Send a DING now or at send_at."""
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    try:
        ding = send_ding(g.tenant, g.person, body.get("text"), body.get("recipients"), body.get("send_at"),
                         body.get("remind_minutes", MIN_REMIND_MINUTES),
                         zone=person_zone(g.person, current_app.config["ATRIUM"].default_timezone))
    except ValidationError as exc:
        return error(400, exc.message, field=exc.field)
    return jsonify(sent_detail_json(ding)), 201


@bp.route("/dings/<int:ding_id>/confirm", methods=["POST"])
@api("dings:write")
def confirm_ding(ding_id: int):
    """Confirm a received DING (again is fine)."""
    try:
        row = confirm(g.tenant, g.person, ding_id)
    except LookupError:
        return error(404, _("No such DING."))
    ding, _row = ding_for(g.tenant, g.person, ding_id)
    return jsonify(received_json(row, ding, g.scope.get_or_404(Person, ding.sender_id)))


@bp.route("/dings/<int:ding_id>/stop", methods=["POST"])
@api("dings:write")
def stop_ding(ding_id: int):
    """Stop the reminders of a DING the owner sent."""
    try:
        ding = stop(g.tenant, g.person, ding_id)
    except LookupError:
        return error(404, _("No such DING."))
    except PermissionError:
        return error(403, _("Only the sender can stop a DING."))
    return jsonify(sent_detail_json(ding))
