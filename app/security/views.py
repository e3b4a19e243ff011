"""Login, logout and changing one's password."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.audit import Actor, record
from app.org.service import set_password
from app.security.auth import (LoginRefused, authenticate, client_address, end_session, login_required,
                               login_rules, safe_next, start_session)
from app.security.passwords import verify_password
from app.security.policy import policy_for
from app.validation import ValidationError

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form and log a person in."""
    if g.person is not None and request.method == "GET":
        return redirect(safe_next(request.args.get("next")) or url_for("org.home"))
    error, status, login_name = None, 200, ""
    if request.method == "POST":
        login_name = (request.form.get("login") or "").strip()[:128]
        try:
            person = authenticate(g.tenant, login_name, request.form.get("password") or "",
                                  client_address(), login_rules(), policy_for(g.tenant))
        except LoginRefused as refused:
            if refused.reason != "empty":
                # The login name tried, never the password; throttled attempts were refused before any check.
                record("login.failed", actor=Actor(None, login_name.lower() or "?"),
                       outcome="refused" if refused.reason == "throttled" else "failed",
                       changes={"reason": refused.reason})
            if refused.reason == "empty":
                error, status = _("Enter your login name and password."), 400
            elif refused.reason == "throttled":
                minutes = max(1, (refused.retry_after + 59) // 60)
                error, status = _("Too many failed attempts. Try again in %(n)d minutes.", n=minutes), 429
            elif refused.reason == "unavailable":
                error, status = _("The company directory is unavailable. Try again in a few minutes."), 503
            elif refused.reason == "locked":
                error, status = _("This account is locked after too many failed logins. Ask an admin to unlock "
                                  "it."), 403
            elif refused.reason == "directory_only":
                error, status = _("This organisation allows only company directory accounts to log in. Ask an "
                                  "admin for a directory account."), 403
            elif refused.reason == "address":
                error, status = _("Admins cannot log in from your network address. Connect from the office "
                                  "network or VPN."), 403
            else:
                error, status = _("The login name or password is not correct."), 401
        else:
            start_session(person)
            record("login.success", actor=person, target=person)
            if person.must_change_password:
                return redirect(url_for("auth.password"))
            return redirect(safe_next(request.args.get("next")) or url_for("org.home"))
    response = render_template("login.html", error=error, login_name=login_name)
    headers = {"Retry-After": "60"} if status == 429 else {}
    return response, status, headers


@bp.route("/logout", methods=["POST"])
def logout():
    """End the session."""
    if g.person is not None:
        record("login.logout", target=g.person)
    end_session()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    """Change one's own password (required after a one-time password)."""
    error_field, error = None, None
    if request.method == "POST":
        person = g.person
        current = request.form.get("current_password") or ""
        new = request.form.get("new_password") or ""
        if not verify_password(person.password_hash, current):
            error_field, error = "current_password", _("The current password is not correct.")
        elif new != (request.form.get("confirm_password") or ""):
            error_field, error = "confirm_password", _("The two new passwords differ.")
        elif new == current:
            error_field, error = "new_password", _("Choose a password different from the current one.")
        else:
            try:
                set_password(person, new)
            except ValidationError as exc:
                error_field, error = "new_password", exc.message
            else:
                start_session(person)
                flash(_("Your password has been changed."), "success")
                return redirect(url_for("org.home"))
    status = 400 if error else 200
    return render_template("password.html", error=error, error_field=error_field), status
