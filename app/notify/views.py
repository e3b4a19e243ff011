"""The notification centre (list, open, mark read), the unread badge, and the admin's email settings page."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from app.events import latest_id
from app.notify.service import (
    email_settings,
    labels_for,
    mark_all_read,
    mark_read,
    notifications_for,
    outbox_counts,
    queue_email,
    recent_failures,
    relay_configured,
    render,
    save_email_settings,
    sender_address,
    unread_count,
)
from app.pagination import paginate
from app.security.auth import admin_required, login_required, safe_next
from app.validation import ValidationError

bp = Blueprint("notify", __name__, url_prefix="/notifications")
admin_bp = Blueprint("email_admin", __name__, url_prefix="/admin/email")


@bp.app_template_global("unread_notifications")
def unread_notifications() -> int:
    """The signed-in person's unread count, for the badge in the top bar."""
    person = g.get("person")
    return unread_count(person) if person is not None else 0


def _locale() -> str:
    locale = get_locale()
    return "zh_Hans" if locale and locale.language == "zh" else "en"


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.route("/")
@login_required
def index():
    """My notifications, newest first (or only the unread), with marking one or all read."""
    unread_only = request.args.get("unread") == "1"
    since = latest_id()   # taken before the list, so an event in between is replayed rather than missed
    page = paginate(notifications_for(g.tenant, g.person, unread_only), request.args.get("page"), 30)
    labels = labels_for(g.tenant, _locale())
    return render_template("notifications/index.html", page=page, unread_only=unread_only,
                           items=[(n, render(n, labels)) for n in page.items], unread=unread_count(g.person),
                           last_event_id=since)


@bp.route("/<int:notification_id>/open")
@login_required
def open_notification(notification_id: int):
    """Mark a notification read and go to what it is about (emails link here)."""
    try:
        notification = mark_read(g.tenant, g.person, notification_id)
    except LookupError:
        abort(404)
    return redirect(safe_next(notification.link) or url_for("notify.index"))


@bp.route("/<int:notification_id>/read", methods=["POST"])
@login_required
def read(notification_id: int):
    """Mark one of my notifications read (again is fine)."""
    try:
        notification = mark_read(g.tenant, g.person, notification_id)
    except LookupError:
        abort(404)
    if _wants_json():
        return jsonify(id=notification.id, read_at=notification.read_at.isoformat() + "Z",
                       unread=unread_count(g.person))
    return redirect(safe_next(request.form.get("next")) or url_for("notify.index"))


@bp.route("/read-all", methods=["POST"])
@login_required
def read_all():
    """Mark all my notifications read."""
    changed = mark_all_read(g.tenant, g.person)
    if _wants_json():
        return jsonify(changed=changed, unread=0)
    flash(_("All notifications are marked read."), "success")
    return redirect(safe_next(request.form.get("next")) or url_for("notify.index"))


# --- the admin's page ---------------------------------------------------------------------------

@admin_bp.route("/", methods=["GET", "POST"])
@admin_required
def settings():
    """This tenant's email: on or off, the sender, when an unconfirmed DING is emailed, the digest's time."""
    error = None
    if request.method == "POST":
        try:
            save_email_settings(g.tenant, request.form)
        except ValidationError as exc:
            error = exc
        else:
            flash(_("Email settings saved."), "success")
            return redirect(url_for("email_admin.settings"))
    smtp = current_app.config["ATRIUM"].smtp
    return render_template("admin/email.html", row=email_settings(g.tenant), form=request.form if error else None,
                           error=error, relay=smtp if relay_configured() else None, counts=outbox_counts(g.tenant),
                           failures=list(recent_failures(g.tenant)),
                           default_from=smtp.from_address), (400 if error else 200)


@admin_bp.route("/test", methods=["POST"])
@admin_required
def test():
    """Queue a test email to myself, sent by the worker's next pass."""
    row = email_settings(g.tenant)
    if not (relay_configured() and row.enabled and sender_address(row)):
        flash(_("Switch email on and save first."), "error")
    elif not g.person.email:
        flash(_("Your account has no email address."), "error")
    else:
        queue_email(g.tenant, g.person, "test", {}, link="/notifications", urgent=True)
        flash(_("A test email to %(address)s is queued; the worker sends it with its next pass.",
                address=g.person.email), "success")
    return redirect(url_for("email_admin.settings"))
