"""DING pages: what I received and sent, sending one, one DING's confirmations, confirming and stopping."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app import navigation
from app.chat.render import render_text
from app.ding.service import (REMIND_CHOICES, confirm, ding_for, pending, received, recipients_of, send_ding, sent,
                              stop)
from app.events import latest_id
from app.org.models import Person
from app.org.status import person_zone
from app.security.auth import login_required, safe_next
from app.validation import ValidationError

bp = Blueprint("ding", __name__, url_prefix="/ding")
navigation.register("ding", "ding.index", _l("DING"))


@bp.app_template_global("latest_event_id")
def latest_event_id() -> int:
    """Where a page's live stream starts: every signed-in page listens, so a DING reaches any page."""
    return latest_id()


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _back(default: str):
    return redirect(safe_next(request.form.get("next")) or default)


@bp.route("/")
@login_required
def index():
    """DINGs I received (unconfirmed first, with Confirm) and DINGs I sent (confirmed / not yet)."""
    since = latest_id()   # taken before the lists, so an event in between is replayed rather than missed
    return render_template("ding/index.html", received=received(g.tenant, g.person), sent=sent(g.tenant, g.person),
                           last_event_id=since)


@bp.route("/pending")
@login_required
def pending_alerts():
    """My unconfirmed DINGs as alerts, for a page that opens after they went out."""
    return jsonify(dings=pending(g.tenant, g.person))


def _people():
    return (g.scope.select(Person).where(Person.in_directory() & (Person.id != g.person.id))
            .order_by(Person.display_name, Person.id))


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """Send a DING to chosen people, now or at a later time."""
    error, form = None, request.form
    if request.method == "POST":
        try:
            ding = send_ding(g.tenant, g.person, form.get("text"), form.getlist("recipients"), form.get("send_at"),
                             form.get("remind_minutes") or REMIND_CHOICES[0],
                             zone=person_zone(g.person, current_app.config["ATRIUM"].default_timezone))
        except ValidationError as exc:
            error = exc
        else:
            if ding.send_at:
                flash(_("The DING will go out at %(time)s.", time=format_datetime(ding.send_at, "short")), "success")
            else:
                flash(_("The DING is sent."), "success")
            return redirect(url_for("ding.show", ding_id=ding.id))
    chosen = {int(v) for v in form.getlist("recipients") if v.isdigit()}
    return render_template("ding/new.html", people=_people(), error=error, form=form, chosen=chosen,
                           choices=REMIND_CHOICES), (400 if error else 200)


def _ding_or_404(ding_id: int):
    found = ding_for(g.tenant, g.person, ding_id)
    if found is None:
        abort(404)   # another person's, another tenant's, not yet sent, or no such DING: all look the same
    return found


@bp.route("/<int:ding_id>")
@login_required
def show(ding_id: int):
    """One DING: its sender sees who confirmed and who not; a recipient sees it and confirms."""
    ding, mine = _ding_or_404(ding_id)
    if ding.sender_id != g.person.id:
        sender = g.scope.get_or_404(Person, ding.sender_id)
        return render_template("ding/received.html", ding=ding, row=mine, sender=sender, text=render_text(ding.text))
    since = latest_id()
    done, waiting = recipients_of(ding)
    return render_template("ding/sent.html", ding=ding, done=done, waiting=waiting, text=render_text(ding.text),
                           last_event_id=since)


@bp.route("/<int:ding_id>/confirm", methods=["POST"])
@login_required
def confirm_view(ding_id: int):
    """Confirm a DING I received (again is fine)."""
    try:
        row = confirm(g.tenant, g.person, ding_id)
    except LookupError:
        abort(404)
    if _wants_json():
        return jsonify(id=ding_id, confirmed_at=row.confirmed_at.isoformat() + "Z")
    flash(_("Confirmed."), "success")
    return _back(url_for("ding.show", ding_id=ding_id))


@bp.route("/<int:ding_id>/stop", methods=["POST"])
@login_required
def stop_view(ding_id: int):
    """Stop the reminders of a DING I sent (a scheduled one is then not sent)."""
    try:
        stop(g.tenant, g.person, ding_id)
    except LookupError:
        abort(404)
    except PermissionError:
        abort(403)
    flash(_("Reminders are stopped."), "success")
    return redirect(url_for("ding.show", ding_id=ding_id))
