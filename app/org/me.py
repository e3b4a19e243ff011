"""A person's own settings: language, time zone, working hours, do-not-disturb, email digest, and API tokens."""
from __future__ import annotations

import zoneinfo

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.config import LOCALES
from app.notify.service import preference, sends_email, set_daily_digest
from app.org.status import availability, set_dnd, set_working_hours
from app.security.auth import login_required
from app.security.tokens import SCOPES, ApiToken, create_token, revoke_token, tokens_of
from app.validation import ValidationError

bp = Blueprint("me", __name__, url_prefix="/me")

DND_CHOICES = (0, 30, 60, 120, 480, 1440)
WEEKDAYS = ("1", "2", "3", "4", "5", "6", "7")


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    """Language, time zone, working hours, do-not-disturb and the daily email digest."""
    person, error = g.person, None
    if request.method == "POST":
        try:
            locale = request.form.get("locale") or None
            if locale and locale not in LOCALES:
                raise ValidationError("locale", _("Choose a language from the list."))
            timezone = (request.form.get("timezone") or "").strip() or None
            if timezone:
                try:
                    zoneinfo.ZoneInfo(timezone)
                except (ValueError, zoneinfo.ZoneInfoNotFoundError):
                    raise ValidationError("timezone", _("Not a known time zone.")) from None
            person.locale, person.timezone = locale, timezone
            set_working_hours(person, request.form.get("work_start"), request.form.get("work_end"),
                              request.form.getlist("work_days"))
            if request.form.get("dnd") is not None:
                try:
                    minutes = int(request.form.get("dnd") or 0)
                except ValueError:
                    raise ValidationError("dnd", _("Choose a duration from the list.")) from None
                if minutes not in DND_CHOICES:
                    raise ValidationError("dnd", _("Choose a duration from the list."))
                set_dnd(person, minutes)
            set_daily_digest(person, bool(request.form.get("daily_digest")))
        except ValidationError as exc:
            error = exc
        else:
            flash(_("Your settings are saved."), "success")
            return redirect(url_for("me.settings"))
    return render_template("me/settings.html", error=error, status=availability(person), dnd_choices=DND_CHOICES,
                           digest=preference(person).daily_digest, email_on=sends_email(g.tenant),
                           weekdays=WEEKDAYS, timezones=sorted(zoneinfo.available_timezones())), (400 if error else 200)


@bp.route("/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    """API tokens for one's own integrations; a new token is shown once."""
    error, secret = None, None
    if request.method == "POST":
        try:
            _token, secret = create_token(g.person, request.form.get("name"), request.form.getlist("scopes"),
                                          request.form.get("days"))
        except ValidationError as exc:
            error = exc
    return render_template("me/tokens.html", tokens=list(tokens_of(g.person)), scopes=SCOPES, error=error,
                           secret=secret), (400 if error else 200)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke(token_id: int):
    """Revoke one of one's own tokens."""
    token = g.scope.get_or_404(ApiToken, token_id)
    if token.person_id != g.person.id:
        abort(404)
    revoke_token(token)
    flash(_("The token is revoked."), "success")
    return redirect(url_for("me.tokens"))
