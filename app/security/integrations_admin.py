"""The admin page for integrations: tokens for programs that use the API, shown once, listed, revoked."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.db import utcnow
from app.security.auth import admin_required
from app.security.integrations import create_integration_token, integration_tokens, revoke_integration_token
from app.security.tokens import MAX_DAYS, SCOPES
from app.validation import ValidationError

bp = Blueprint("integrations", __name__, url_prefix="/admin/integrations")


@bp.route("/", methods=["GET", "POST"])
@admin_required
def index():
    """Create a token for an integration (its secret shown once) and list every integration token."""
    error, secret, created = None, None, None
    if request.method == "POST":
        try:
            created, secret = create_integration_token(g.tenant, request.form.get("name"),
                                                       request.form.getlist("scopes"), request.form.get("days"))
        except ValidationError as exc:
            error = exc
    return render_template("admin/integrations.html", tokens=list(integration_tokens(g.tenant)), scopes=SCOPES,
                           error=error, secret=secret, created=created, max_days=MAX_DAYS, now=utcnow(),
                           form=request.form if error else None), (400 if error else 200)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@admin_required
def revoke(token_id: int):
    """Revoke an integration's token; it stops working at once."""
    try:
        token = revoke_integration_token(g.tenant, token_id)
    except LookupError:
        abort(404)
    flash(_("The token %(prefix)s… of %(name)s is revoked.", prefix=token.prefix, name=token.person.display_name),
          "success")
    return redirect(url_for("integrations.index"))
